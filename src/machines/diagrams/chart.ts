/**
 * A machine definition read as a chart: its states (with descriptions) and its transitions (with
 * the event, guard or delay that takes them). Mermaid and SVG are both written from this, so the
 * two always agree with each other and with the machine.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export interface ChartState {
  /** Unique, safe in Mermaid and SVG ids: the state's path joined with `_`. */
  id: string;
  /** The state's key, as it appears in state values. */
  key: string;
  description: string | null;
  kind: 'atomic' | 'compound' | 'parallel';
  /** The id of the initial child of a compound state. */
  initial: string | null;
  children: ChartState[];
}

export interface ChartEdge {
  source: string;
  target: string;
  /** `EVENT [guard]`, `after delay [guard]`, or `[guard]` for an eventless transition. */
  label: string;
}

export interface Chart {
  name: string;
  description: string | null;
  root: ChartState;
  edges: ChartEdge[];
  /** Events handled without changing state (remembered or ignored), listed, not drawn. */
  internal: string[];
}

/** RESUME re-enters every timed state after a restore; drawn, it would loop on each of them. */
const UNDRAWN_EVENTS = new Set(['RESUME']);

function stateId(node: AnyStateNode): string {
  return node.path.join('_');
}

function guardLabel(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return `[${guard}]`;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) {
    const { type, params } = guard as { type: string; params?: Record<string, unknown> };
    if (params && typeof params === 'object') {
      const shown = Object.entries(params).map(([key, value]) => `${key} = ${String(value)}`);
      return `[${shown.join(', ')}]`;
    }
    return `[${type}]`;
  }
  return '[guard]';
}

function eventLabel(eventType: string): string {
  if (eventType === '') return '';
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  return after ? `after ${after[1] ?? ''}` : eventType;
}

function readState(node: AnyStateNode): ChartState {
  const children = Object.values(node.states).map(readState);
  const initialTarget = node.type === 'compound' ? node.initial.target[0] : undefined;
  return {
    id: stateId(node),
    key: node.key,
    description: node.description ?? null,
    kind: node.type === 'parallel' ? 'parallel' : children.length > 0 ? 'compound' : 'atomic',
    initial: initialTarget ? stateId(initialTarget) : null,
    children,
  };
}

export function chartOf(machine: AnyStateMachine): Chart {
  const edges: ChartEdge[] = [];
  const internal = new Set<string>();
  const visit = (node: AnyStateNode) => {
    const transitions = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of transitions) {
      const eventType = String(t.eventType);
      if (UNDRAWN_EVENTS.has(eventType)) continue;
      const targets = (t.target ?? []) as AnyStateNode[];
      if (targets.length === 0) {
        if (node === machine.root) internal.add(eventType);
        continue;
      }
      const label = [eventLabel(eventType), guardLabel(t.guard)].filter(Boolean).join(' ');
      for (const target of targets) {
        edges.push({ source: stateId(node), target: stateId(target), label });
      }
    }
    Object.values(node.states).forEach(visit);
  };
  visit(machine.root);
  const root = readState(machine.root);
  return {
    name: machine.id,
    description: machine.root.description ?? null,
    root: { ...root, id: machine.id },
    edges,
    internal: [...internal],
  };
}
