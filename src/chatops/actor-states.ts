/**
 * What the actors know, read from their snapshots in Redis (src/actors/snapshot-store.ts: one hash
 * per owner, `<prefix>:snapshots:<owner>`, field = actor key): for `/kube-remedy status`, and to
 * tell a person whose command names an incident that ended that it ended.
 */
import { z } from 'zod';
import type { Redis } from '../adapters/redis.ts';

const storedSchema = z.object({
  machine: z.string(),
  savedAt: z.number(),
  snapshot: z.looseObject({
    value: z.unknown(),
    context: z
      .looseObject({
        incident: z
          .looseObject({
            id: z.string(),
            decision: z
              .looseObject({ decision: z.string(), reason: z.string() })
              .nullable()
              .optional(),
            approvedBy: z.string().nullable().optional(),
          })
          .nullable()
          .optional(),
        history: z
          .array(
            z.looseObject({
              at: z.number(),
              incidentId: z.string().nullable().optional(),
              decision: z.string(),
              reason: z.string(),
            }),
          )
          .optional(),
        policy: z.looseObject({ name: z.string() }).optional(),
      })
      .optional(),
  }),
});

export interface ActorState {
  owner: string;
  machine: string;
  savedAt: number;
  state: string;
  incidentId: string | null;
  decision: string | null;
  history: { at: number; incidentId?: string | null; decision: string; reason: string }[];
  /** `namespace/name` of the policy that governed the actor when it was saved. */
  policy: string | null;
}

interface Where {
  redis: Redis;
  keyPrefix: string;
}

function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, inner]) => `${key}.${stateText(inner)}`)
      .join(', ');
  }
  return 'unknown';
}

function parseState(owner: string, text: string): ActorState | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = storedSchema.safeParse(raw);
  if (!parsed.success) return null;
  const { machine, savedAt, snapshot } = parsed.data;
  const incident = snapshot.context?.incident ?? null;
  return {
    owner,
    machine,
    savedAt,
    state: stateText(snapshot.value),
    incidentId: incident?.id ?? null,
    decision: incident?.decision?.reason ?? null,
    history: snapshot.context?.history ?? [],
    policy: snapshot.context?.policy?.name ?? null,
  };
}

/** The saved state of an actor, from whichever owner's snapshot hash holds it. */
export async function findActorState(deps: Where, actorKey: string): Promise<ActorState | null> {
  let cursor = '0';
  do {
    const [next, keys] = await deps.redis.scan(
      cursor,
      'MATCH',
      `${deps.keyPrefix}:snapshots:*`,
      'COUNT',
      200,
    );
    for (const key of keys) {
      const text = await deps.redis.hget(key, actorKey);
      if (text === null) continue;
      const state = parseState(key.slice(`${deps.keyPrefix}:snapshots:`.length), text);
      if (state !== null) return state;
    }
    cursor = next;
  } while (cursor !== '0');
  return null;
}

/**
 * The saved state of an actor of a known owner; null when that owner keeps none (the actor was
 * stopped for good: its object was deleted, or no policy selects it any more) or an unreadable one.
 */
export async function actorStateOf(
  deps: Where,
  owner: string,
  actorKey: string,
): Promise<ActorState | null> {
  const text = await deps.redis.hget(`${deps.keyPrefix}:snapshots:${owner}`, actorKey);
  return text === null ? null : parseState(owner, text);
}
