/**
 * Ticket documents as Atlassian Document Format (Jira REST v3 bodies), and the plain text of an
 * ADF document (to find kube-remedy's markers in comments). The marker is written as a last,
 * emphasised paragraph: ADF has no invisible comments.
 */
import {
  markerText,
  type Block,
  type Inline,
  type TicketDocument,
} from '../../tickets/document.ts';

export type AdfNode = {
  type: string;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
};

export type AdfDocument = {
  type: 'doc';
  version: 1;
  content: AdfNode[];
};

function textNode(inline: Inline): AdfNode | undefined {
  if (inline.text.length === 0) return undefined;
  const marks: NonNullable<AdfNode['marks']> = [];
  // The code mark combines with nothing but a link.
  if (inline.code === true) marks.push({ type: 'code' });
  else if (inline.strong === true) marks.push({ type: 'strong' });
  if (inline.href !== undefined) marks.push({ type: 'link', attrs: { href: inline.href } });
  return marks.length === 0
    ? { type: 'text', text: inline.text }
    : { type: 'text', text: inline.text, marks };
}

function paragraph(content: Inline[]): AdfNode {
  const nodes = content.map(textNode).filter((n): n is AdfNode => n !== undefined);
  return nodes.length === 0 ? { type: 'paragraph' } : { type: 'paragraph', content: nodes };
}

function block(b: Block): AdfNode {
  switch (b.type) {
    case 'heading':
      return {
        type: 'heading',
        attrs: { level: b.level },
        content: [{ type: 'text', text: b.text || ' ' }],
      };
    case 'paragraph':
      return paragraph(b.content);
    case 'list':
      return {
        type: 'bulletList',
        content: b.items.map((item) => ({ type: 'listItem', content: [paragraph(item)] })),
      };
    case 'code':
      return b.text.length === 0
        ? { type: 'codeBlock' }
        : { type: 'codeBlock', content: [{ type: 'text', text: b.text }] };
  }
}

export function toAdf(doc: TicketDocument): AdfDocument {
  return {
    type: 'doc',
    version: 1,
    content: [
      ...doc.blocks.map(block),
      {
        type: 'paragraph',
        content: [{ type: 'text', text: markerText(doc.marker), marks: [{ type: 'em' }] }],
      },
    ],
  };
}

const INLINE_PARENTS = new Set(['paragraph', 'heading', 'codeBlock']);

/** All text of an ADF document (or of anything shaped like one): one line per block. */
export function adfText(node: unknown): string {
  if (typeof node !== 'object' || node === null) return '';
  const n = node as AdfNode;
  if (typeof n.text === 'string') return n.text;
  return (n.content ?? []).map(adfText).join(INLINE_PARENTS.has(n.type) ? '' : '\n');
}
