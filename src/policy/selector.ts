/**
 * A policy's selector compiled for fast matching, and its specificity.
 *
 * Specificity decides which policy governs an object several policies select:
 *   1. more label terms wins (each matchLabels entry and each matchExpressions requirement is one
 *      term): `app=web, tier=frontend` is more specific than `app=web`, which is more specific than
 *      selecting every pod in the namespace;
 *   2. with as many label terms, fewer kinds wins: `kinds: [Pod]` is more specific than the default
 *      `[Pod, Deployment]` (an explicit kind beats "any workload");
 *   3. anything else is a tie, reported as Conflict; neither policy acts on a tied object.
 * Counting terms rather than comparing label sets keeps the rule one a person can apply by reading
 * two policies, and makes the order total, so lookups scan policies from most to least specific.
 */
import type { LabelRequirement, PolicySelector } from './schema.ts';
import type { ObjectKind } from './vocabulary.ts';

export type Labels = Readonly<Record<string, string>>;

export interface Specificity {
  labelTerms: number;
  kinds: number;
}

export interface CompiledSelector {
  readonly kinds: ReadonlySet<ObjectKind>;
  readonly specificity: Specificity;
  /** One number ordering selectors by specificity: higher is more specific. */
  readonly rank: number;
  matches(labels: Labels): boolean;
}

const MAX_KINDS = 3;

export function specificityOf(selector: PolicySelector): Specificity {
  const labelTerms =
    Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions?.length ?? 0);
  return { labelTerms, kinds: selector.kinds.length };
}

/** Label terms first, then fewer kinds: a single number that sorts the same way. */
export function rankOf(specificity: Specificity): number {
  return specificity.labelTerms * (MAX_KINDS + 1) + (MAX_KINDS - specificity.kinds);
}

type Test = (labels: Labels) => boolean;

function requirementTest(requirement: LabelRequirement): Test {
  const { key } = requirement;
  const values = new Set(requirement.values ?? []);
  switch (requirement.operator) {
    case 'In':
      return (labels) => Object.hasOwn(labels, key) && values.has(labels[key] as string);
    // As in Kubernetes: NotIn also matches objects without the label.
    case 'NotIn':
      return (labels) => !Object.hasOwn(labels, key) || !values.has(labels[key] as string);
    case 'Exists':
      return (labels) => Object.hasOwn(labels, key);
    case 'DoesNotExist':
      return (labels) => !Object.hasOwn(labels, key);
  }
}

export function compileSelector(selector: PolicySelector): CompiledSelector {
  const exact = Object.entries(selector.matchLabels ?? {});
  const tests = (selector.matchExpressions ?? []).map(requirementTest);
  const specificity = specificityOf(selector);
  return {
    kinds: new Set(selector.kinds),
    specificity,
    rank: rankOf(specificity),
    matches(labels) {
      for (const [key, value] of exact) {
        if (labels[key] !== value || !Object.hasOwn(labels, key)) return false;
      }
      for (const test of tests) {
        if (!test(labels)) return false;
      }
      return true;
    },
  };
}
