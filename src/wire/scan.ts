// A structural JSON scanner over bytes. It checks that a line is one well-formed JSON value
// and reports where the top-level members (of an object) or elements (of an array) lie,
// without building any objects. The relay uses it to classify every message cheaply and to
// forward the original bytes; only messages that must be judged are parsed in full.
//
// It is iterative (no recursion, so hostile nesting cannot overflow the stack), finds the end
// of strings with Buffer.indexOf (memchr), and is linear in the input. It checks structure and
// literals; string contents (escape validity, raw control characters) are left to the peer's
// parser, which is safe because every value the gateway acts on is decoded with JSON.parse.

export interface Span {
  /** Decoded key, for object members; undefined for array elements. */
  key?: string;
  start: number;
  end: number;
}

export type ScanResult =
  | { ok: true; type: "object" | "array" | "scalar"; members: Span[]; keys: number; duplicateKey?: string }
  | { ok: false; error: string; at: number; tooDeep?: true; members: Span[] };

export interface ScanOptions {
  /** Also report the first key that repeats within any one object, at any depth. */
  duplicates?: boolean;
  /** Fail (with `tooDeep`) where containers nest deeper than this. */
  maxDepth?: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const enum State {
  Value,
  AfterValue,
  Key,
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(buf[i])) i++;
  return i;
}

/** Index just past the closing quote of the string opening at `i`, or -1. */
export function skipString(buf: Buffer, i: number, end: number): number {
  let at = i + 1;
  for (;;) {
    const quote = buf.indexOf(QUOTE, at);
    if (quote === -1 || quote >= end) return -1;
    let slashes = 0;
    for (let k = quote - 1; k > i && buf[k] === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

function skipNumber(buf: Uint8Array, i: number, end: number): number {
  const begin = i;
  if (buf[i] === 0x2d) i++;
  const digitsStart = i;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  if (i === digitsStart) return -1;
  if (buf[digitsStart] === 0x30 && i - digitsStart > 1) return -1;
  if (buf[i] === 0x2e) {
    const fraction = ++i;
    while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    if (i === fraction) return -1;
  }
  if (buf[i] === 0x65 || buf[i] === 0x45) {
    i++;
    if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
    const exponent = i;
    while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    if (i === exponent) return -1;
  }
  return i > begin ? i : -1;
}

const LITERALS: Record<number, Buffer> = {
  0x74: Buffer.from("true"),
  0x66: Buffer.from("false"),
  0x6e: Buffer.from("null"),
};

/** The keys of JSON-RPC envelopes, returned without allocating a string for each message. */
const COMMON_KEYS = ["jsonrpc", "id", "method", "params", "result", "error"].map((key) => [key, Buffer.from(key)] as const);

function commonKey(buf: Buffer, at: number, length: number): string | undefined {
  outer: for (const [key, bytes] of COMMON_KEYS) {
    if (bytes.length !== length) continue;
    for (let i = 0; i < length; i++) if (buf[at + i] !== bytes[i]) continue outer;
    return key;
  }
  return undefined;
}

function decodeKey(buf: Buffer, start: number, end: number): string | undefined {
  const common = commonKey(buf, start + 1, end - start - 2);
  if (common !== undefined) return common;
  const inner = buf.subarray(start + 1, end - 1);
  if (inner.indexOf(BACKSLASH) === -1) return inner.toString("utf8");
  try {
    return JSON.parse(buf.toString("utf8", start, end)) as string;
  } catch {
    return undefined;
  }
}

/**
 * (Not a closure over the scan's position: one would keep it out of registers in the loop.)
 * The top-level members completed before the failure come along, so a refusal can name the id.
 */
function failure(error: string, at: number, members: Span[]): ScanResult {
  return { ok: false, error, at, members };
}

export function scanJson(buf: Buffer, options: ScanOptions = {}, from = 0, to = buf.length): ScanResult {
  const checkDuplicates = options.duplicates === true;
  const maxDepth = options.maxDepth ?? Infinity;
  const members: Span[] = [];
  // One entry per open container: true for an object, false for an array.
  const stack: boolean[] = [];
  const keySets: Array<Set<string> | undefined> = [];
  let duplicateKey: string | undefined;
  // Keys in all objects at any depth: if the decoded value holds fewer, some key repeated.
  let keys = 0;
  let state = State.Value;
  let memberKey: string | undefined;
  let memberStart = 0;
  let topType: "object" | "array" | "scalar" = "scalar";
  let i = skipSpace(buf, from, to);

  for (;;) {
    if (state === State.Value) {
      i = skipSpace(buf, i, to);
      if (i >= to) return failure("unexpected end of input", i, members);
      if (stack.length === 1) memberStart = i;
      const c = buf[i]!;
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        const isObject = c === OPEN_OBJECT;
        if (stack.length === 0) topType = isObject ? "object" : "array";
        if (stack.length >= maxDepth) return { ok: false, error: `nested deeper than ${maxDepth} levels`, at: i, tooDeep: true, members };
        stack.push(isObject);
        if (checkDuplicates) keySets.push(isObject ? new Set() : undefined);
        i = skipSpace(buf, i + 1, to);
        if (buf[i] === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          i++;
          stack.pop();
          if (checkDuplicates) keySets.pop();
          state = State.AfterValue;
        } else {
          state = isObject ? State.Key : State.Value;
        }
        continue;
      }
      if (c === QUOTE) {
        const next = skipString(buf, i, to);
        if (next === -1) return failure("unterminated string", i, members);
        i = next;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const next = skipNumber(buf, i, to);
        if (next === -1) return failure("malformed number", i, members);
        i = next;
      } else {
        const literal = LITERALS[c];
        if (literal === undefined || i + literal.length > to || buf.compare(literal, 0, literal.length, i, i + literal.length) !== 0) {
          return failure(`unexpected character ${JSON.stringify(String.fromCharCode(c))}`, i, members);
        }
        i += literal.length;
      }
      state = State.AfterValue;
      continue;
    }

    if (state === State.AfterValue) {
      if (stack.length === 1) {
        members.push(memberKey === undefined ? { start: memberStart, end: i } : { key: memberKey, start: memberStart, end: i });
        memberKey = undefined;
      }
      i = skipSpace(buf, i, to);
      if (stack.length === 0) {
        if (i !== to) return failure("unexpected data after the JSON value", i, members);
        return duplicateKey === undefined
          ? { ok: true, type: topType, members, keys }
          : { ok: true, type: topType, members, keys, duplicateKey };
      }
      const isObject = stack[stack.length - 1]!;
      const c = buf[i];
      if (c === COMMA) {
        i++;
        state = isObject ? State.Key : State.Value;
      } else if (c === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        i++;
        stack.pop();
        if (checkDuplicates) keySets.pop();
      } else {
        return failure(i >= to ? "unexpected end of input" : `expected "," or "${isObject ? "}" : "]"}"`, i, members);
      }
      continue;
    }

    // State.Key
    i = skipSpace(buf, i, to);
    if (buf[i] !== QUOTE) return failure(i >= to ? "unexpected end of input" : "expected a string key", i, members);
    const keyStart = i;
    const keyEnd = skipString(buf, i, to);
    if (keyEnd === -1) return failure("unterminated string", i, members);
    i = skipSpace(buf, keyEnd, to);
    if (buf[i] !== COLON) return failure('expected ":"', i, members);
    i++;
    keys++;
    if (stack.length === 1 || checkDuplicates) {
      const key = decodeKey(buf, keyStart, keyEnd);
      if (key === undefined) return failure("malformed string escape in key", i, members);
      if (stack.length === 1) memberKey = key;
      if (checkDuplicates) {
        const seen = keySets[keySets.length - 1]!;
        if (seen.has(key)) duplicateKey ??= key;
        seen.add(key);
      }
    }
    state = State.Value;
  }
}
