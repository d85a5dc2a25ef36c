/**
 * A chart as SVG, laid out offline by ELK (elkjs, layered) and drawn by a small writer: no browser,
 * no network, and the same bytes for the same chart, so committed diagrams can be checked.
 *
 * Text is measured as monospace (a fixed advance per character), which is what makes the layout
 * reproducible without a font engine; the SVG names a monospace font so it renders as measured.
 */
import ELK, { type ElkExtendedEdge, type ElkLabel, type ElkNode } from 'elkjs';
import type { Chart, ChartState } from './chart.ts';

const FONT = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
const TITLE_SIZE = 13;
const TEXT_SIZE = 11;
const LABEL_SIZE = 10;
/** Advance of one monospace character, as a fraction of the font size. */
const ADVANCE = 0.61;
const WRAP = 44;
const PAD = 10;
const INITIAL = 12;

function width(text: string, size: number): number {
  return text.length * size * ADVANCE;
}

/** Greedy word wrap at `limit` characters. */
export function wrap(text: string, limit = WRAP): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > limit) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function round(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function escape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

interface Box {
  state: ChartState | null;
  x: number;
  y: number;
  width: number;
  height: number;
}

function atomicSize(state: ChartState): { width: number; height: number } {
  const lines = wrap(state.description ?? '');
  const w = Math.max(width(state.key, TITLE_SIZE), ...lines.map((l) => width(l, TEXT_SIZE)));
  return { width: w + 2 * PAD, height: TITLE_SIZE + 2 * PAD + lines.length * (TEXT_SIZE + 3) };
}

function compoundHeaderLines(state: ChartState): string[] {
  return wrap(state.description ?? '', 64);
}

function toElk(state: ChartState, edges: ElkExtendedEdge[]): ElkNode {
  if (state.children.length === 0) return { id: state.id, ...atomicSize(state) };
  const header = TITLE_SIZE + PAD + compoundHeaderLines(state).length * (TEXT_SIZE + 3) + PAD;
  const children = state.children.map((child) => toElk(child, edges));
  if (state.initial) {
    const initial = `${state.id}__initial`;
    children.unshift({ id: initial, width: INITIAL, height: INITIAL });
    edges.push({ id: `${initial}__edge`, sources: [initial], targets: [state.initial] });
  }
  return {
    id: state.id,
    layoutOptions: {
      'elk.padding': `[top=${round(header + 6)},left=${PAD * 2},bottom=${PAD * 2},right=${PAD * 2}]`,
      'elk.direction': state.kind === 'parallel' ? 'RIGHT' : 'DOWN',
    },
    children,
  };
}

function labelled(id: string, text: string): ElkLabel[] {
  return text
    ? [{ id: `${id}__label`, text, width: width(text, LABEL_SIZE) + 6, height: LABEL_SIZE + 6 }]
    : [];
}

/** Absolute positions of every laid-out node, by id. */
function positions(
  node: ElkNode,
  dx: number,
  dy: number,
  out: Map<string, Box>,
  states: Map<string, ChartState>,
): void {
  const x = dx + (node.x ?? 0);
  const y = dy + (node.y ?? 0);
  out.set(node.id, {
    state: states.get(node.id) ?? null,
    x,
    y,
    width: node.width ?? 0,
    height: node.height ?? 0,
  });
  for (const child of node.children ?? []) positions(child, x, y, out, states);
}

function indexStates(state: ChartState, out: Map<string, ChartState>): Map<string, ChartState> {
  out.set(state.id, state);
  state.children.forEach((child) => indexStates(child, out));
  return out;
}

function drawState(box: Box, initial: boolean): string[] {
  if (initial) {
    const r = INITIAL / 2;
    return [
      `<circle class="initial" cx="${round(box.x + r)}" cy="${round(box.y + r)}" r="${round(r)}"/>`,
    ];
  }
  const state = box.state;
  if (!state) return [];
  const compound = state.children.length > 0;
  const out = [
    `<rect class="${compound ? (state.kind === 'parallel' ? 'parallel' : 'compound') : 'state'}" x="${round(box.x)}" y="${round(box.y)}" width="${round(box.width)}" height="${round(box.height)}" rx="8"/>`,
    `<text class="title" x="${round(box.x + PAD)}" y="${round(box.y + PAD + TITLE_SIZE - 2)}">${escape(state.key)}</text>`,
  ];
  const lines = compound ? compoundHeaderLines(state) : wrap(state.description ?? '');
  lines.forEach((line, i) => {
    const y = box.y + PAD + TITLE_SIZE + 4 + (i + 1) * (TEXT_SIZE + 3) - 3;
    out.push(
      `<text class="description" x="${round(box.x + PAD)}" y="${round(y)}">${escape(line)}</text>`,
    );
  });
  return out;
}

function drawEdge(edge: ElkExtendedEdge, boxes: Map<string, Box>): string[] {
  const container = boxes.get(edge.container ?? '') ?? { x: 0, y: 0 };
  const out: string[] = [];
  for (const section of edge.sections ?? []) {
    const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint];
    const d = points
      .map(
        (p, i) => `${i === 0 ? 'M' : 'L'}${round(container.x + p.x)} ${round(container.y + p.y)}`,
      )
      .join(' ');
    out.push(`<path class="edge" d="${d}" marker-end="url(#arrow)"/>`);
  }
  for (const label of edge.labels ?? []) {
    const x = container.x + (label.x ?? 0);
    const y = container.y + (label.y ?? 0);
    out.push(
      `<rect class="label" x="${round(x)}" y="${round(y)}" width="${round(label.width ?? 0)}" height="${round(label.height ?? 0)}"/>`,
      `<text class="label" x="${round(x + 3)}" y="${round(y + LABEL_SIZE + 1)}">${escape(label.text ?? '')}</text>`,
    );
  }
  return out;
}

export async function toSvg(chart: Chart): Promise<string> {
  const edges: ElkExtendedEdge[] = [];
  const top = toElk(chart.root, edges);
  chart.edges.forEach((edge, i) => {
    const id = `e${i}`;
    edges.push({
      id,
      sources: [edge.source],
      targets: [edge.target],
      labels: labelled(id, edge.label),
    });
  });
  // elkjs is CommonJS: its constructor is both module.exports and its `default`.
  const elk = new ELK.default();
  const laidOut = await elk.layout({
    id: 'diagram',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.spacing.nodeNode': '30',
      'elk.spacing.edgeLabel': '4',
      'elk.randomSeed': '1',
      // Follow the definition's order, so the initial state is on top and the flow reads down.
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
    children: top.children ?? [],
    edges,
  });
  const boxes = new Map<string, Box>();
  const states = indexStates(chart.root, new Map());
  for (const child of laidOut.children ?? []) positions(child, 0, 0, boxes, states);
  const size = laidOut as ElkNode;
  const w = (size.width ?? 0) + 2 * PAD;
  const h = (size.height ?? 0) + 2 * PAD;
  const body: string[] = [];
  // Compound states first, so that their children and the edges are drawn over them.
  const ordered = [...boxes.entries()].sort(
    ([, a], [, b]) => Number(b.state?.children.length ?? 0) - Number(a.state?.children.length ?? 0),
  );
  for (const [id, box] of ordered) body.push(...drawState(box, id.endsWith('__initial')));
  for (const edge of laidOut.edges ?? []) body.push(...drawEdge(edge, boxes));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${round(w)}" height="${round(h)}" viewBox="${round(-PAD)} ${round(-PAD)} ${round(w)} ${round(h)}">`,
    `<title>${escape(chart.name)}${chart.description ? `: ${escape(chart.description)}` : ''}</title>`,
    '<style>',
    `text { font-family: ${FONT}; fill: #1f2328; }`,
    `.title { font-size: ${TITLE_SIZE}px; font-weight: bold; }`,
    `.description { font-size: ${TEXT_SIZE}px; fill: #57606a; }`,
    `text.label { font-size: ${LABEL_SIZE}px; fill: #0b4f9c; }`,
    'rect.state { fill: #f6f8fa; stroke: #57606a; }',
    'rect.compound { fill: #ffffff; stroke: #8c959f; }',
    'rect.parallel { fill: #ffffff; stroke: #8c959f; stroke-dasharray: 6 3; }',
    'rect.label { fill: #ffffff; opacity: 0.85; }',
    '.edge { fill: none; stroke: #0b4f9c; stroke-width: 1.2; }',
    '.initial { fill: #1f2328; }',
    '</style>',
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#0b4f9c"/></marker></defs>',
    `<rect x="${round(-PAD)}" y="${round(-PAD)}" width="${round(w)}" height="${round(h)}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
