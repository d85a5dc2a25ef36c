import { describe, expect, it } from 'vitest';
import { boundLog } from '../../../src/evidence/logs.ts';

const lines = (n: number, prefix = 'line') =>
  Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join('\n') + '\n';

describe('bounding a container log', () => {
  it('keeps a log within both bounds whole', () => {
    expect(boundLog('a\nb\n', { maxLines: 10, maxBytes: 100 })).toEqual({
      text: 'a\nb\n',
      truncated: false,
      lines: 2,
      bytes: 4,
      droppedLines: 0,
      droppedBytes: 0,
    });
  });

  it.each([
    ['with a final newline', lines(10), 'line 8\nline 9\nline 10\n'],
    ['without a final newline', lines(10).trimEnd(), 'line 8\nline 9\nline 10'],
  ])('keeps the last lines, %s', (_name, text, kept) => {
    const bounded = boundLog(text, { maxLines: 3, maxBytes: 10_000 });
    expect(bounded).toMatchObject({ text: kept, truncated: true, lines: 3, droppedLines: 7 });
    expect(bounded.droppedBytes).toBe(Buffer.byteLength(text) - Buffer.byteLength(kept));
  });

  it('keeps whole lines when cutting by bytes', () => {
    const bounded = boundLog(lines(100), { maxLines: 1000, maxBytes: 30 });
    expect(bounded.text).toBe('line 98\nline 99\nline 100\n');
    expect(bounded.bytes).toBeLessThanOrEqual(30);
    expect(bounded).toMatchObject({ truncated: true, lines: 3, droppedLines: 97 });
  });

  it('cuts one long line on a character boundary, keeping its end', () => {
    const text = `start ${'é🚀'.repeat(50)} end`;
    const bounded = boundLog(text, { maxLines: 10, maxBytes: 21 });
    expect(bounded.bytes).toBeLessThanOrEqual(21);
    expect(bounded.text.endsWith(' end')).toBe(true);
    expect(bounded.text).not.toContain('\uFFFD');
    expect(text.endsWith(bounded.text)).toBe(true);
  });

  it('applies the line bound first, then the byte bound', () => {
    const text = `${'x'.repeat(50)}\nshort\n${'y'.repeat(50)}\n`;
    const bounded = boundLog(text, { maxLines: 2, maxBytes: 40 });
    expect(bounded.text).toBe(`${'y'.repeat(39)}\n`);
    expect(bounded.droppedLines).toBe(2);
  });

  it('handles an empty log', () => {
    expect(boundLog('', { maxLines: 5, maxBytes: 5 })).toMatchObject({
      text: '',
      truncated: false,
      lines: 0,
    });
  });
});
