/**
 * Vitest runs each project's global setup separately, in the one main process. Services kept on
 * `globalThis` are started once per run however many projects ask for them, and stopped when
 * the last of those projects tears down.
 */
interface Shared<T> {
  value: Promise<T>;
  users: number;
  stop: (value: T) => Promise<void>;
}

const registry = ((globalThis as Record<string, unknown>)['__kubeRemedyTestServices'] ??=
  new Map()) as Map<string, Shared<unknown>>;

export async function acquireShared<T>(
  name: string,
  start: () => Promise<T>,
  stop: (value: T) => Promise<void>,
): Promise<{ value: T; release: () => Promise<void> }> {
  let shared = registry.get(name) as Shared<T> | undefined;
  if (shared === undefined) {
    shared = { value: start(), users: 0, stop };
    registry.set(name, shared as Shared<unknown>);
  }
  shared.users += 1;
  const entry = shared;
  let value: T;
  try {
    value = await entry.value;
  } catch (error) {
    registry.delete(name);
    throw error;
  }
  let released = false;
  return {
    value,
    release: async () => {
      if (released) return;
      released = true;
      entry.users -= 1;
      if (entry.users === 0) {
        registry.delete(name);
        await entry.stop(value);
      }
    },
  };
}
