/**
 * The leaf fields of the configuration schema, found by walking it once. Everything that must
 * agree with the schema (environment bindings, secret masking, log redaction, the reference
 * table) is computed from this list instead of being written out by hand.
 */
import { z } from 'zod';
import { configSchema, type FieldMeta } from './schema.ts';

export type FieldKind = 'string' | 'number' | 'boolean' | 'enum' | 'duration';

export interface ConfigField extends FieldMeta {
  /** Dotted path in the configuration object, e.g. `redis.url`. */
  path: string;
  kind: FieldKind;
  /** Allowed values of an enum field. */
  values?: readonly string[];
  /** The default as a person would write it, or undefined when the field has none. */
  defaultText?: string;
}

function innermost(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional) {
      current = current.def.innerType as z.ZodType; // classic wrappers hold classic types
    } else if (current instanceof z.ZodPipe) {
      current = current.def.in as z.ZodType;
    } else {
      return current;
    }
  }
}

function kindOf(schema: z.ZodType, outer: z.ZodType): FieldKind {
  if (
    outer instanceof z.ZodPipe ||
    (outer instanceof z.ZodDefault && outer.def.innerType instanceof z.ZodPipe)
  ) {
    return 'duration';
  }
  if (schema instanceof z.ZodNumber) return 'number';
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodEnum) return 'enum';
  return 'string';
}

function defaultOf(schema: z.ZodType): unknown {
  return schema instanceof z.ZodDefault ? schema.def.defaultValue : undefined;
}

function walk(shape: Record<string, z.ZodType>, prefix: string, out: ConfigField[]): void {
  for (const [key, schema] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const inner = innermost(schema);
    if (inner instanceof z.ZodObject) {
      walk(inner.shape, path, out);
      continue;
    }
    const meta = schema.meta() as FieldMeta | undefined;
    if (meta === undefined) throw new Error(`configuration field ${path} has no documentation`);
    const kind = kindOf(inner, schema);
    const fallback = defaultOf(schema);
    const configField: ConfigField = { ...meta, path, kind };
    if (inner instanceof z.ZodEnum) configField.values = inner.options as string[];
    const defaultText =
      meta.defaultText ??
      (fallback === undefined ? undefined : JSON.stringify(fallback).replace(/^"(.*)"$/, '$1'));
    if (defaultText !== undefined) configField.defaultText = defaultText;
    out.push(configField);
  }
}

function collect(): readonly ConfigField[] {
  const out: ConfigField[] = [];
  walk(configSchema.shape, '', out);
  return out;
}

export const CONFIG_FIELDS: readonly ConfigField[] = collect();

/** Paths of secret fields, e.g. `redis.password`. */
export const SECRET_PATHS: readonly string[] = CONFIG_FIELDS.filter((f) => f.secret).map(
  (f) => f.path,
);
