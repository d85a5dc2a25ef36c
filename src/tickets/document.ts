/**
 * A small rich-text model for ticket bodies and comments, rendered per provider: Markdown for
 * GitHub Issues (here) and Atlassian Document Format for Jira (src/adapters/jira/adf.ts). Every
 * document kube-remedy writes ends with a marker (`kube-remedy:<kind>=<id>`) so a rerun can tell
 * that its comment is already there.
 */

export interface Inline {
  text: string;
  href?: string;
  code?: boolean;
  strong?: boolean;
}

export type Block =
  | { type: 'heading'; level: 2 | 3; text: string }
  | { type: 'paragraph'; content: Inline[] }
  | { type: 'list'; items: Inline[][] }
  | { type: 'code'; text: string };

export interface TicketDocument {
  blocks: Block[];
  /** e.g. `job=3f2a…`: written so that it can be found again, shown discreetly. */
  marker: string;
}

export function markerText(marker: string): string {
  return `kube-remedy:${marker}`;
}

function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_[\]<>|#])/g, '\\$1');
}

function inlineMarkdown(inline: Inline): string {
  // Emphasis and code must not start or end with a space: keep the spaces outside.
  const lead = /^\s*/.exec(inline.text)?.[0] ?? '';
  const trail = /\s*$/.exec(inline.text)?.[0] ?? '';
  const core = inline.text.trim();
  if (core === '') return inline.text;
  let text = inline.code === true ? `\`${core.replaceAll('`', "'")}\`` : escapeMarkdown(core);
  if (inline.strong === true) text = `**${text}**`;
  if (inline.href !== undefined)
    text = `[${text}](${inline.href.replace(/[()\s]/g, encodeURIComponent)})`;
  return lead + text + trail;
}

export function toMarkdown(doc: TicketDocument): string {
  const out: string[] = [];
  for (const block of doc.blocks) {
    switch (block.type) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${escapeMarkdown(block.text)}`);
        break;
      case 'paragraph':
        out.push(block.content.map(inlineMarkdown).join(''));
        break;
      case 'list':
        out.push(block.items.map((item) => `- ${item.map(inlineMarkdown).join('')}`).join('\n'));
        break;
      case 'code': {
        const fence = block.text.includes('```') ? '~~~' : '```';
        out.push(`${fence}\n${block.text}\n${fence}`);
        break;
      }
    }
  }
  out.push(`<!-- ${markerText(doc.marker)} -->`);
  return out.join('\n\n') + '\n';
}
