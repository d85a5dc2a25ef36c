import type { AnyStateNode } from 'xstate';
import { describe, expect, it } from 'vitest';
import { MACHINES } from '../../../src/machines/index.ts';

const machines = Object.values(MACHINES);

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

function typeOf(item: unknown): string | null {
  if (typeof item === 'string') return item;
  if (typeof item === 'object' && item !== null && 'type' in item) return String(item.type);
  return null;
}

function used(): { actions: Set<string>; guards: Set<string> } {
  const actions = new Set<string>();
  const guards = new Set<string>();
  for (const machine of machines) {
    for (const node of allNodes(machine.root)) {
      const transitions = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
      for (const action of [
        ...node.entry,
        ...node.exit,
        ...transitions.flatMap((t) => t.actions),
      ]) {
        const type = typeOf(action);
        if (type) actions.add(type);
      }
      for (const t of transitions) {
        const type = typeOf(t.guard);
        if (type) guards.add(type);
      }
    }
  }
  return { actions, guards };
}

describe('the machines’ vocabulary', () => {
  const { actions, guards } = used();
  const implementations = machines[0]?.implementations;

  it('uses every named action of the setup (I/O actions are asked for by the others)', () => {
    const declared = Object.keys(implementations?.actions ?? {});
    const io = ['enqueueEffect', 'recordEvent', 'claimWorkload'];
    expect(declared.filter((name) => !io.includes(name) && !actions.has(name))).toEqual([]);
  });

  it('uses every named guard of the setup', () => {
    const declared = Object.keys(implementations?.guards ?? {});
    expect(declared.filter((name) => !guards.has(name))).toEqual([]);
  });

  it('names every action and guard it uses, so each can be provided and drawn', () => {
    const declaredActions = new Set(Object.keys(implementations?.actions ?? {}));
    const declaredGuards = new Set(Object.keys(implementations?.guards ?? {}));
    const builtIn = (name: string) => name.startsWith('xstate.');
    expect([...actions].filter((a) => !declaredActions.has(a) && !builtIn(a))).toEqual([]);
    expect([...guards].filter((g) => !declaredGuards.has(g))).toEqual([]);
  });

  it('re-enters every state that waits on a deadline on RESUME, with no entry or exit work', () => {
    const problems: string[] = [];
    for (const machine of machines) {
      for (const node of allNodes(machine.root)) {
        if (node.after.length === 0) continue;
        const resume = node.transitions.get('RESUME')?.[0];
        if (!resume?.reenter || resume.target?.[0] !== node) {
          problems.push(`${node.id} does not re-enter itself on RESUME`);
        }
        // xstate arms and cancels `after` timers with entry and exit actions of its own.
        const work = [...node.entry, ...node.exit].filter(
          (action) =>
            typeof action !== 'function' ||
            !String((action as { type?: unknown }).type).startsWith('xstate.'),
        );
        if (work.length > 0) {
          problems.push(`${node.id} has entry or exit actions that RESUME would repeat`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
