/**
 * The CRD as the real API server sees it: it installs (CEL rules compiled, costs within budget),
 * accepts and defaults every example the way the zod parse does, refuses every invalid policy of
 * the corpus in the words the corpus expects, and answers `kubectl explain`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parsePolicy, type ParseResult } from '../../../src/policy/policy.ts';
import {
  adminClient,
  deleteNamespace,
  freshNamespace,
  KubeApiError,
} from '../../cluster/fixtures.ts';
import {
  INVALID_POLICIES,
  loadExamples,
  VALID_EDGE_CASES,
  type Manifest,
} from '../../unit/policy/corpus.ts';
import { createPolicy, CRD_NAME, installCrd, policiesPath } from './support.ts';

const AGENT_NAMESPACE = 'kube-remedy-system';
const run = promisify(execFile);

/** The parsed spec without identity, to compare what the server stored with what was sent. */
function parsedSpec(result: ParseResult): unknown {
  if (!result.ok) return { problems: result.problems };
  const { ref: _ref, generation: _generation, uid: _uid, ...spec } = result.policy;
  return spec;
}

async function kubectl(...args: string[]): Promise<string> {
  const kube = inject('kube');
  const { stdout } = await run(path.join(kube.binDir, 'kubectl'), [
    `--kubeconfig=${kube.kubeconfig}`,
    ...args,
  ]);
  return stdout;
}

describe('the AutoRemediationPolicy CRD on a real API server', () => {
  const admin = adminClient();
  let namespace: string;

  beforeAll(async () => {
    await installCrd(admin);
    // One namespace for the whole file (beforeAll owns its cleanup): refused policies leave nothing.
    namespace = await freshNamespace(admin, { prefix: 'arp-crd', keep: true });
  });
  afterAll(async () => {
    if (namespace) await deleteNamespace(admin, namespace);
  });

  it('is established: names accepted and every CEL rule compiled within the cost budget', async () => {
    const crd = await admin.get<{ status: { conditions: { type: string; status: string }[] } }>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`,
    );
    expect(crd.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'NamesAccepted', status: 'True' }),
        expect.objectContaining({ type: 'Established', status: 'True' }),
      ]),
    );
  });

  it.each(loadExamples().map((example) => [example.file, example.manifest] as const))(
    'accepts the example %s and defaults it exactly as the zod parse does',
    async (file, manifest: Manifest) => {
      // The node example belongs in the agent's namespace; the others go to a fresh one.
      const target =
        manifest.metadata.namespace === AGENT_NAMESPACE
          ? AGENT_NAMESPACE
          : await freshNamespace(admin, { prefix: 'arp-example' });
      const name = `${manifest.metadata.name}-${Math.random().toString(36).slice(2, 8)}`;
      const stored = await createPolicy(admin, target, name, manifest.spec);
      if (target === AGENT_NAMESPACE) {
        await admin.delete(policiesPath(AGENT_NAMESPACE, name));
      }
      expect(parsedSpec(parsePolicy(stored)), file).toEqual(parsedSpec(parsePolicy(manifest)));
      expect(parsePolicy(stored).ok).toBe(true);
    },
  );

  it.each(VALID_EDGE_CASES.map((c, i) => [c.name, c.spec, i] as const))(
    'accepts %s',
    async (_name, spec, i) => {
      const stored = await createPolicy(admin, namespace, `edge-${i}`, spec);
      expect(parsedSpec(parsePolicy(stored))).toEqual(parsedSpec(parsePolicy({ spec })));
    },
  );

  it('holds a corpus of at least 15 invalid policies', () => {
    expect(INVALID_POLICIES.length).toBeGreaterThanOrEqual(15);
  });

  it.each(INVALID_POLICIES.map((c, i) => [c.name, c, i] as const))(
    'refuses %s, saying why',
    async (_name, invalid, i) => {
      const error = await createPolicy(admin, namespace, `invalid-${i}`, invalid.spec).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(KubeApiError);
      const apiError = error as KubeApiError;
      expect([400, 422]).toContain(apiError.status);
      expect(apiError.message).toContain(invalid.serverMessage);
    },
  );

  it.each([
    ['arp.spec.mode', 'The default is dryRun because a policy applied without a mode'],
    ['arp.spec.selector', 'more label terms (matchLabels entries plus'],
    ['arp.spec.scaling.signals.per', 'divide it by the current replica count first'],
    ['arp.spec.budget.maxUnhealthyPercent', 'a wide outage is not fixed by restarting'],
    ['arp.status.conditions', 'Ready (the policy is in force)'],
  ])('answers kubectl explain %s', async (field, words) => {
    const explained = (await kubectl('explain', field)).replace(/\s+/g, ' ');
    expect(explained).toContain(words);
  });

  it('offers Mode, Ready, Matched, Actions 24h and Age as table columns', async () => {
    await createPolicy(admin, namespace, 'columns', {
      detections: [{ type: 'CrashLoopBackOff', action: 'restartPod' }],
    });
    const kube = inject('kube');
    const res = await fetch(`${kube.server}${policiesPath(namespace)}`, {
      headers: {
        authorization: `Bearer ${kube.token}`,
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      },
    });
    const table = (await res.json()) as {
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[]; object: { metadata: { name: string } } }[];
    };
    expect(table.columnDefinitions.map((column) => column.name)).toEqual([
      'Name',
      'Mode',
      'Ready',
      'Matched',
      'Actions 24h',
      'Age',
    ]);
    const row = table.rows.find((r) => r.cells[0] === 'columns');
    // No controller has written a status yet: the mode shows its safe default.
    expect(row?.cells.slice(0, 2)).toEqual(['columns', 'dryRun']);
  });

  it('is found by its short name and its category', async () => {
    const byShortName = await kubectl('get', 'arp', '-n', namespace, '-o', 'name');
    const byCategory = await kubectl('get', 'kube-remedy', '-n', namespace, '-o', 'name');
    expect(byShortName).toContain('autoremediationpolicy.remedy.kube-remedy.io/columns');
    expect(byCategory).toBe(byShortName);
  });
});
