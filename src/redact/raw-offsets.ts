// Where a place in a decoded JSON string lies in its raw bytes, so a redaction can be spliced
// into the bytes the server wrote: only the secret changes, and the rest of the string keeps
// its own escapes (\/, \u00e9…). Cheaper than re-encoding a large string whole, and exact.
import { isAscii, isUtf8 } from "node:buffer";

const BACKSLASH = 0x5c;
const U = 0x75;

/** UTF-16 units of the UTF-8 character whose lead byte is `lead`, and its length in bytes. */
function character(lead: number): [units: number, bytes: number] {
  if (lead < 0x80) return [1, 1];
  if (lead < 0xe0) return [1, 2];
  if (lead < 0xf0) return [1, 3];
  return [2, 4];
}

/**
 * The raw byte offsets in `buf` of the ascending UTF-16 `offsets` into the string whose content
 * (between its quotes, well-formed JSON) is `buf[from, to)`. Undefined when that content is not
 * valid UTF-8 (its decoded text then has replacement characters no byte offset stands for).
 */
export function rawOffsets(buf: Buffer, from: number, to: number, offsets: readonly number[]): number[] | undefined {
  const content = buf.subarray(from, to);
  const ascii = isAscii(content);
  if (!ascii && !isUtf8(content)) return undefined;
  const raw: number[] = [];
  let at = from;
  let unit = 0;
  let backslash = buf.indexOf(BACKSLASH, from);
  for (const target of offsets) {
    while (unit < target) {
      if (backslash !== -1 && backslash < at) backslash = buf.indexOf(BACKSLASH, at);
      const plainEnd = backslash === -1 || backslash >= to ? to : backslash;
      if (at < plainEnd) {
        if (ascii) {
          const step = Math.min(plainEnd - at, target - unit);
          at += step;
          unit += step;
        } else {
          const [units, bytes] = character(buf[at]!);
          at += bytes;
          unit += units;
        }
        continue;
      }
      // An escape: one unit, \uXXXX six bytes, every other two.
      at += buf[at + 1] === U ? 6 : 2;
      unit += 1;
    }
    raw.push(at);
  }
  return raw;
}
