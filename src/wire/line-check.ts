// What a server's own framing could read differently from mcpgate must never reach it. mcpgate
// splits lines on "\n" only, but the Python SDK's stdin reader (universal newlines) and Node's
// readline also end a line at a bare "\r", so a "\r" inside one judged line would let such a
// server see two messages, the second never judged. JSON allows no raw control character inside
// a string and only " \t\r\n" between tokens, so a line from a well-behaved client holds none
// but "\t" (and "\r" before its final "\n", which framing.ts strips): every other one is refused.
// Bytes that are not UTF-8 are refused too: decoders disagree on what they become (the Python
// SDK, whose stdin is opened with errors="replace", and Node put one U+FFFD for a truncated
// sequence, Go's encoding/json one per byte), so a server could read another text than judged.
import { isUtf8 } from "node:buffer";

const TAB = 0x09;
const SPACE = 0x20;

/** Why the line's content `buf[0, end)` must not be forwarded (and where, if one byte says so); or undefined. */
export function lineProblem(buf: Buffer, end: number): { reason: string; at?: number } | undefined {
  let ascii = true;
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    if (c >= SPACE) {
      if (c >= 0x80) ascii = false;
    } else if (c !== TAB) {
      const what = c === 0x0d ? "a bare carriage return (\\r), which some servers' framing reads as a line end" : `the raw control character 0x${c.toString(16).padStart(2, "0")}, which JSON does not allow`;
      return { reason: `the message holds ${what}`, at: i };
    }
  }
  // (An all-ASCII line is UTF-8: the native check runs only for lines with other bytes.)
  if (!ascii && !isUtf8(end === buf.length ? buf : buf.subarray(0, end))) return { reason: "the message is not valid UTF-8" };
  return undefined;
}
