// The canonical text of a JSON value, computed from its bytes: what two calls share when every
// server would read them as the same arguments. A human's "allow identical calls for the rest of
// this session" is keyed on it. Decoding first (JSON.parse) is the bug this replaces: doubles
// merge 1e400 with 1e999, 10000000000000001 with 10000000000000000, and 1e400 turns into null
// on re-serialization, so approving `null` once allowed 1e400 for the rest of the session.
//
// The text: object members sorted by decoded key (code-unit order, as Array.prototype.sort),
// keys and strings written as JSON.stringify writes their decoded value ("\u0061" is "a"),
// numbers exactly as the literal was written (1.0, 1, 1e0, 1E0, -0 and 0 all stay distinct: a
// server may read them differently, e.g. as an integer or a float, and distinct texts only mean
// a human is asked again), true/false/null as is, no whitespace.
//
// Iterative (an explicit stack: hostile nesting thousands deep cannot overflow the call stack),
// and linear apart from sorting each object's keys. Meant for input scan.ts accepted, but any
// malformed input throws an Error rather than giving a text. A string whose bytes are not UTF-8
// throws too: decoding would turn different byte sequences into the same U+FFFD, which a server
// reading bytes may keep apart. A key repeated within one object (refused upstream) is kept,
// every occurrence in document order, so such an object never matches one without the repeat.
import { createHash } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { skipString } from "./scan.ts";

interface Container {
  object: boolean;
  /** Canonical texts of scalar members, or the containers themselves (written out at the end). */
  items: Array<string | Container>;
  /** For objects: each member's decoded key, and its canonical text (quoted). */
  keys: string[];
  keyTexts: string[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const LITERALS: Record<number, string> = { 0x74: "true", 0x66: "false", 0x6e: "null" };

function describe(buf: Buffer, at: number, end: number): string {
  return at >= end ? "the end of the input" : `${JSON.stringify(String.fromCharCode(buf[at]!))} at byte ${at}`;
}

function skipSpace(buf: Buffer, i: number, end: number): number {
  for (let c = buf[i]; i < end && (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09); c = buf[++i]);
  return i;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Index just past the number literal at `i`, or -1 if it is malformed. */
function numberEnd(buf: Buffer, i: number, end: number): number {
  if (buf[i] === 0x2d) i++;
  const digits = i;
  while (i < end && isDigit(buf[i])) i++;
  if (i === digits || (buf[digits] === 0x30 && i - digits > 1)) return -1;
  if (i < end && buf[i] === 0x2e) {
    const fraction = ++i;
    while (i < end && isDigit(buf[i])) i++;
    if (i === fraction) return -1;
  }
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    const exponent = i;
    while (i < end && isDigit(buf[i])) i++;
    if (i === exponent) return -1;
  }
  return i;
}

/** The decoded value and canonical text of the string token buf[start, end); `bytes` is the
 * input decoded as latin1 (one character per byte) from `base`, to slice ASCII tokens cheaply. */
function readString(buf: Buffer, bytes: string, base: number, start: number, end: number): { value: string; text: string } {
  let escaped = false;
  let ascii = true;
  for (let i = start + 1; i < end - 1; i++) {
    const c = buf[i]!;
    if (c < 0x20) throw new Error(`canonicalText: expected no raw control character in a string, got 0x${c.toString(16).padStart(2, "0")} at byte ${i}`);
    if (c === BACKSLASH) escaped = true;
    else if (c >= 0x80) ascii = false;
  }
  if (!ascii && !isUtf8(buf.subarray(start + 1, end - 1))) {
    throw new Error(`canonicalText: expected a UTF-8 string, got other bytes in the string at byte ${start}`);
  }
  if (!escaped) {
    // No escape and no control character: JSON.stringify of the value gives back these bytes.
    const text = ascii ? bytes.slice(start - base, end - base) : buf.toString("utf8", start, end);
    return { value: text.slice(1, -1), text };
  }
  let value: string;
  try {
    value = JSON.parse(ascii ? bytes.slice(start - base, end - base) : buf.toString("utf8", start, end)) as string;
  } catch {
    throw new Error(`canonicalText: expected a string with valid escapes at byte ${start}`);
  }
  return { value, text: JSON.stringify(value) };
}

function sortMembers(object: Container): void {
  const { keys } = object;
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! <= keys[i]!;
  if (sorted) return;
  const { items, keyTexts } = object;
  if (keys.length <= 16) {
    // Insertion sort in place, stable (repeated keys keep their document order), no allocation.
    for (let i = 1; i < keys.length; i++) {
      const key = keys[i]!;
      const item = items[i]!;
      const keyText = keyTexts[i]!;
      let j = i - 1;
      for (; j >= 0 && keys[j]! > key; j--) {
        keys[j + 1] = keys[j]!;
        items[j + 1] = items[j]!;
        keyTexts[j + 1] = keyTexts[j]!;
      }
      keys[j + 1] = key;
      items[j + 1] = item;
      keyTexts[j + 1] = keyText;
    }
    return;
  }
  // Stable: repeated keys keep their document order.
  const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
  object.items = order.map((i) => items[i]!);
  object.keys = order.map((i) => keys[i]!);
  object.keyTexts = order.map((i) => keyTexts[i]!);
}

function write(root: Container): string {
  // Concatenation rather than an array and join: V8 copies the pieces once, when the text is read.
  let out = root.object ? "{" : "[";
  const work: Array<{ node: Container; next: number }> = [{ node: root, next: 0 }];
  while (work.length > 0) {
    const top = work[work.length - 1]!;
    const { node } = top;
    if (top.next === node.items.length) {
      out += node.object ? "}" : "]";
      work.pop();
      continue;
    }
    const n = top.next++;
    if (n > 0) out += ",";
    if (node.object) out += `${node.keyTexts[n]!}:`;
    const item = node.items[n]!;
    if (typeof item === "string") {
      out += item;
    } else {
      out += item.object ? "{" : "[";
      work.push({ node: item, next: 0 });
    }
  }
  return out;
}

const enum State {
  Value,
  AfterValue,
  Key,
}

/** The canonical text of the JSON value in buf[start, end) (see above); throws if it is malformed. */
export function canonicalText(buf: Buffer, start = 0, end = buf.length): string {
  end = Math.min(end, buf.length);
  const stack: Container[] = [];
  let root: string | Container | undefined;
  let state = State.Value;
  let i = start;
  const bytes = buf.toString("latin1", start, end);
  for (;;) {
    i = skipSpace(buf, i, end);
    if (state === State.Key) {
      if (buf[i] !== QUOTE || i >= end) throw new Error(`canonicalText: expected a string key, got ${describe(buf, i, end)}`);
      const keyEnd = skipString(buf, i, end);
      if (keyEnd === -1) throw new Error(`canonicalText: expected the key at byte ${i} to end, got the end of the input`);
      const key = readString(buf, bytes, start, i, keyEnd);
      const object = stack[stack.length - 1]!;
      object.keys.push(key.value);
      object.keyTexts.push(key.text);
      i = skipSpace(buf, keyEnd, end);
      if (buf[i] !== 0x3a || i >= end) throw new Error(`canonicalText: expected ":", got ${describe(buf, i, end)}`);
      i++;
      state = State.Value;
      continue;
    }
    if (state === State.AfterValue) {
      if (stack.length === 0) {
        if (i !== end) throw new Error(`canonicalText: expected the end of the input, got ${describe(buf, i, end)}`);
        return typeof root === "string" ? root : write(root!);
      }
      const top = stack[stack.length - 1]!;
      const c = i < end ? buf[i] : undefined;
      if (c === 0x2c) {
        i++;
        state = top.object ? State.Key : State.Value;
        continue;
      }
      if (c !== (top.object ? 0x7d : 0x5d)) throw new Error(`canonicalText: expected "," or "${top.object ? "}" : "]"}", got ${describe(buf, i, end)}`);
      i++;
      stack.pop();
      if (top.object) sortMembers(top);
      if (stack.length === 0) root = top;
      else stack[stack.length - 1]!.items.push(top);
      continue;
    }
    // State.Value
    if (i >= end) throw new Error("canonicalText: expected a value, got the end of the input");
    const c = buf[i]!;
    if (c === 0x7b || c === 0x5b) {
      const object = c === 0x7b;
      stack.push({ object, items: [], keys: [], keyTexts: [] });
      i = skipSpace(buf, i + 1, end);
      if (i < end && buf[i] === (object ? 0x7d : 0x5d)) {
        state = State.AfterValue; // closed at once by the AfterValue branch
      } else {
        state = object ? State.Key : State.Value;
      }
      continue;
    }
    let text: string;
    if (c === QUOTE) {
      const stringEnd = skipString(buf, i, end);
      if (stringEnd === -1) throw new Error(`canonicalText: expected the string at byte ${i} to end, got the end of the input`);
      text = readString(buf, bytes, start, i, stringEnd).text;
      i = stringEnd;
    } else if (c === 0x2d || isDigit(c)) {
      const numberStop = numberEnd(buf, i, end);
      if (numberStop === -1) throw new Error(`canonicalText: expected a number at byte ${i}`);
      text = bytes.slice(i - start, numberStop - start);
      i = numberStop;
    } else {
      const literal = LITERALS[c];
      if (literal === undefined || i + literal.length > end || !bytes.startsWith(literal, i - start)) {
        throw new Error(`canonicalText: expected a value, got ${describe(buf, i, end)}`);
      }
      text = literal;
      i += literal.length;
    }
    if (stack.length === 0) root = text;
    else stack[stack.length - 1]!.items.push(text);
    state = State.AfterValue;
  }
}

/** SHA-256 (hex) of the canonical text: binds an approval to the arguments a human saw. */
export function canonicalDigest(buf: Buffer, start = 0, end = buf.length): string {
  return createHash("sha256").update(canonicalText(buf, start, end), "utf8").digest("hex");
}
