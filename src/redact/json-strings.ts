// The string values of a JSON text, found over its bytes: every string token that is not a
// key. No tree is built and nothing recurses, so a value nested ten thousand deep costs what a
// flat one does; strings are skipped with Buffer.indexOf (memchr), as in wire/scan.ts.
import { skipString } from "../wire/scan.ts";

const QUOTE = 0x22;
const COLON = 0x3a;

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Calls `visit` with the span of each string value in `buf[from, to)` (quotes included), in
 * order. The text must be well-formed JSON (the relay scanned it before); stops at a string
 * that does not end.
 */
export function forEachStringValue(buf: Buffer, from: number, to: number, visit: (start: number, end: number) => void): void {
  let at = from;
  for (;;) {
    const start = buf.indexOf(QUOTE, at);
    if (start === -1 || start >= to) return;
    const end = skipString(buf, start, to);
    if (end === -1) return;
    let next = end;
    while (next < to && isSpace(buf[next])) next++;
    if (buf[next] !== COLON || next >= to) visit(start, end);
    at = end;
  }
}
