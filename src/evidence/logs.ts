/**
 * Bounding container logs for an evidence bundle: the newest lines win. A log is cut to its last
 * `maxLines` lines, then to its last `maxBytes` bytes of UTF-8, preferring whole lines (a single
 * line longer than the budget keeps its end, cut on a character boundary). The result says what
 * was dropped, so a reader knows the log is not complete.
 */

export interface LogBounds {
  /** Keep at most this many of the last lines. */
  maxLines: number;
  /** Keep at most this many bytes (UTF-8) of the end. */
  maxBytes: number;
}

export interface BoundedLog {
  text: string;
  truncated: boolean;
  /** Lines and bytes of the text kept. */
  lines: number;
  bytes: number;
  droppedLines: number;
  droppedBytes: number;
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let lines = 0;
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) === 10) lines += 1;
  return text.endsWith('\n') ? lines : lines + 1;
}

/** The last `maxBytes` bytes of `text`, never splitting a character. */
function tailBytes(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  let start = buffer.length - maxBytes;
  // Skip UTF-8 continuation bytes (10xxxxxx) so the cut lands on a character's first byte.
  while (start < buffer.length && ((buffer[start] as number) & 0xc0) === 0x80) start += 1;
  return buffer.subarray(start).toString('utf8');
}

export function boundLog(text: string, bounds: LogBounds): BoundedLog {
  const totalBytes = Buffer.byteLength(text, 'utf8');
  const totalLines = countLines(text);
  let kept = text;

  if (totalLines > bounds.maxLines) {
    // Find the start of the last `maxLines` lines (a trailing newline ends the last line).
    let remaining = bounds.maxLines;
    let index = text.endsWith('\n') ? text.length - 1 : text.length;
    while (remaining > 0 && index > 0) {
      const newline = text.lastIndexOf('\n', index - 1);
      if (newline < 0) {
        index = 0;
        break;
      }
      index = newline;
      remaining -= 1;
    }
    kept = remaining === 0 ? text.slice(index + 1) : text;
    if (bounds.maxLines <= 0) kept = '';
  }

  if (Buffer.byteLength(kept, 'utf8') > bounds.maxBytes) {
    const tail = tailBytes(kept, bounds.maxBytes);
    // Prefer starting at a whole line when the tail holds more than one.
    const firstNewline = tail.indexOf('\n');
    kept =
      firstNewline >= 0 && firstNewline < tail.length - 1 && tail !== kept
        ? tail.slice(firstNewline + 1)
        : tail;
  }

  const bytes = Buffer.byteLength(kept, 'utf8');
  const lines = countLines(kept);
  return {
    text: kept,
    truncated: bytes < totalBytes,
    lines,
    bytes,
    droppedLines: totalLines - lines,
    droppedBytes: totalBytes - bytes,
  };
}
