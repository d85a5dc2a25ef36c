/**
 * An actor's persisted snapshot without xstate's walk of its context. `getPersistedSnapshot`
 * visits every object in the context, asking each whether it is an actor reference to replace;
 * ours are plain data (they are stored as JSON and never hold actors), so the walk finds nothing
 * and was the costliest JavaScript per transition (bench/RESULTS.md). The machines spawn no
 * children either, so the snapshot xstate builds around an empty context, with the real context
 * put back, is the same value: test/unit/machines/model.test.ts checks it in every state the
 * machines reach, and restores from it.
 */
import type { Actor, AnyStateMachine } from 'xstate';

const NO_CONTEXT = Object.freeze({});

export function persistedSnapshot(actor: Actor<AnyStateMachine>): unknown {
  const snapshot = actor.getSnapshot();
  const persisted = actor.logic.getPersistedSnapshot({
    ...snapshot,
    context: NO_CONTEXT,
  } as typeof snapshot) as Record<string, unknown>;
  persisted['context'] = snapshot.context;
  return persisted;
}
