// Where a JSON string ends within one chunk of a streamed line (stream.ts): string contents are
// not checked, only skipped, so all that matters is the closing quote — one not escaped by an odd
// run of backslashes, which may have begun in the chunk before.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The chunk ended inside the string, not inside an escape. */
export const OPEN = -1;
/** The chunk ended inside the string, right after a backslash: the next byte is escaped. */
export const OPEN_ESCAPED = -2;

/**
 * Skips string bytes of `buf` from `i` to `end`, `escaped` if the byte at `i` is escaped.
 * Returns the index just past the closing quote, or OPEN / OPEN_ESCAPED when the chunk ends first.
 */
export function stringEnd(buf: Buffer, i: number, end: number, escaped: boolean): number {
  if (escaped) {
    if (i >= end) return OPEN_ESCAPED;
    i++;
  }
  for (;;) {
    const quote = buf.indexOf(QUOTE, i);
    if (quote === -1 || quote >= end) {
      let slashes = 0;
      for (let k = end - 1; k >= i && buf[k] === BACKSLASH; k--) slashes++;
      return slashes % 2 === 1 ? OPEN_ESCAPED : OPEN;
    }
    let slashes = 0;
    for (let k = quote - 1; k >= i && buf[k] === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}
