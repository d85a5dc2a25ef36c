/**
 * The CRD, read offline: the structural properties the API server and `kubectl explain` rely on,
 * and its agreement with the zod schema in src/policy/schema.ts (same fields, types, bounds,
 * patterns, enums, defaults and CEL messages). The API server's own verdict on the CRD and on
 * the corpus is in test/integration/policy/crd.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { policySpecSchema } from '../../../src/policy/schema.ts';
import {
  ACTIONS,
  ACTIONS_FOR_DETECTION,
  API_GROUP,
  API_VERSION,
  DETECTION_KIND,
  DETECTION_TYPES,
  KIND,
  MODES,
  OBJECT_KINDS,
  PLURAL,
  RULE_MESSAGES,
} from '../../../src/policy/vocabulary.ts';
import { loadCrd } from './corpus.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  maxProperties?: number;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

interface Crd {
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const crd = loadCrd() as Crd;
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;
const specSchema = root.properties!['spec']!;
const statusSchema = root.properties!['status']!;

/** Every schema node with its path, e.g. `spec.detections[].window`. */
function walk(schema: Schema, path: string): { path: string; schema: Schema }[] {
  const nodes = [{ path, schema }];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    nodes.push(...walk(child, `${path}.${name}`));
  }
  if (schema.items) nodes.push(...walk(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === 'object') {
    nodes.push(...walk(schema.additionalProperties, `${path}{}`));
  }
  return nodes;
}

const specAndStatus = [...walk(specSchema, 'spec'), ...walk(statusSchema, 'status')];
const allRules = specAndStatus.flatMap(({ schema }) => schema['x-kubernetes-validations'] ?? []);

describe('the AutoRemediationPolicy CRD', () => {
  it('names the resource as the design says', () => {
    expect(crd.spec.group).toBe(API_GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: KIND, plural: PLURAL, shortNames: ['arp'] });
    expect(crd.spec.names.categories).toContain('kube-remedy');
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: API_VERSION, served: true, storage: true });
    expect(version.subresources).toEqual({ status: {} });
  });

  it('prints Mode, Ready, Matched, Actions 24h and Age', () => {
    expect(version.additionalPrinterColumns.map((column) => column.name)).toEqual([
      'Mode',
      'Ready',
      'Matched',
      'Actions 24h',
      'Age',
    ]);
  });

  it.each(specAndStatus.map(({ path, schema }) => [path, schema] as const))(
    '%s has a description for kubectl explain',
    (_path, schema) => {
      expect(schema.description?.trim().length ?? 0).toBeGreaterThan(10);
    },
  );

  // CEL cost is estimated from the largest possible object: every list, string and map needs a
  // bound, or the API server refuses rules that touch them.
  it.each(
    specAndStatus
      .filter(({ schema }) => schema.type === 'array')
      .map(({ path, schema }) => [path, schema] as const),
  )('list %s is bounded by maxItems', (_path, schema) => {
    expect(schema.maxItems).toBeGreaterThan(0);
  });

  it.each(
    specAndStatus
      .filter(
        ({ schema }) =>
          schema.type === 'string' && (schema as { format?: string }).format !== 'date-time',
      )
      .map(({ path, schema }) => [path, schema] as const),
  )('string %s is bounded by maxLength', (_path, schema) => {
    expect(schema.maxLength).toBeGreaterThan(0);
  });

  it('bounds its one map (matchLabels) by maxProperties', () => {
    const maps = specAndStatus.filter(
      ({ schema }) => typeof schema.additionalProperties === 'object',
    );
    expect(maps.map(({ path }) => path)).toEqual(['spec.selector.matchLabels']);
    expect(maps[0]!.schema.maxProperties).toBe(16);
  });

  it('keys the lists people edit per entry (detections by type, signals by name, conditions by type)', () => {
    const lists = Object.fromEntries(
      specAndStatus
        .filter(({ schema }) => schema['x-kubernetes-list-type'] === 'map')
        .map(({ path, schema }) => [path, schema['x-kubernetes-list-map-keys']]),
    );
    expect(lists).toEqual({
      'spec.detections': ['type'],
      'spec.scaling.signals': ['name'],
      'status.conditions': ['type'],
    });
  });

  it('has the enums of src/policy/vocabulary.ts', () => {
    const props = specSchema.properties!;
    expect(props['mode']!.enum).toEqual([...MODES]);
    expect(props['mode']!.default).toBe('dryRun');
    expect(props['selector']!.properties!['kinds']!.items!.enum).toEqual([...OBJECT_KINDS]);
    const detection = props['detections']!.items!;
    expect(detection.properties!['type']!.enum).toEqual([...DETECTION_TYPES]);
    expect(detection.properties!['action']!.enum).toEqual([...ACTIONS]);
  });

  it('allows in CEL exactly the actions ACTIONS_FOR_DETECTION allows', () => {
    const rule = specSchema.properties!['detections']!.items!['x-kubernetes-validations']![0]!.rule;
    const table: Record<string, string[]> = {};
    for (const [, type, actions] of rule.matchAll(/'(\w+)': \[([^\]]*)\]/g)) {
      table[type!] = [...actions!.matchAll(/'(\w+)'/g)].map((match) => match[1]!);
    }
    expect(table).toEqual(ACTIONS_FOR_DETECTION);
  });

  it('knows in CEL the kind each detection is seen on, as DETECTION_KIND does', () => {
    // The rule and its messageExpression each state the table; every copy must be the same.
    const rule = specSchema['x-kubernetes-validations']!.find((r) =>
      r.rule.includes("'RolloutFailed': 'Deployment'"),
    )!;
    const tables = [rule.rule, rule.messageExpression ?? ''].flatMap((text) =>
      [...text.matchAll(/\{('\w+': '\w+'(, )?)+\}/g)].map((match): Record<string, string> => {
        const table: Record<string, string> = {};
        for (const [, type, kind] of match[0].matchAll(/'(\w+)': '(\w+)'/g)) table[type!] = kind!;
        return table;
      }),
    );
    expect(tables).toHaveLength(2);
    for (const table of tables) expect(table).toEqual(DETECTION_KIND);
  });

  it('gives every CEL rule a message, and uses every message of RULE_MESSAGES word for word', () => {
    expect(allRules.every((rule) => (rule.message?.length ?? 0) > 20)).toBe(true);
    const messages = new Set(allRules.map((rule) => rule.message));
    for (const message of Object.values(RULE_MESSAGES)) {
      expect(messages, message).toContain(message);
    }
  });
});

/** The keywords both schemas state; the zod side of refinements is tested in schema.test.ts. */
const COMPARED = [
  'type',
  'enum',
  'default',
  'pattern',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
] as const;

function comparable(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const keyword of COMPARED) {
    const value = schema[keyword];
    if (value === undefined) continue;
    // The CRD bounds enum strings only for CEL's cost estimate; zod enums need no length.
    if (keyword === 'maxLength' && schema.enum) continue;
    // JavaScript regex source escapes '/' in patterns, the CRD's patterns do not.
    out[keyword] = typeof value === 'string' ? value.replaceAll('\\/', '/') : value;
  }
  out['required'] = [...(schema.required ?? [])].sort();
  out['properties'] = Object.keys(schema.properties ?? {}).sort();
  return out;
}

describe('the CRD schema and the zod schema', () => {
  const zodSpec = z.toJSONSchema(policySpecSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Schema;
  const zodNodes = new Map(walk(zodSpec, 'spec').map(({ path, schema }) => [path, schema]));
  const crdNodes = walk(specSchema, 'spec');

  it('have the same fields', () => {
    expect([...zodNodes.keys()].sort()).toEqual(crdNodes.map(({ path }) => path).sort());
  });

  it.each(crdNodes.map(({ path, schema }) => [path, schema] as const))(
    '%s has the same type, bounds, pattern, enum, default and required fields',
    (path, schema) => {
      expect(comparable(zodNodes.get(path) ?? {})).toEqual(comparable(schema));
    },
  );
});
