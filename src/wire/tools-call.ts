// Decoding a tools/call for judgement: what the server will run must be exactly what is judged,
// so anything two parsers could read differently is refused rather than decoded one way. Pure:
// bytes and the scanner's findings in, the call or the reason to refuse it out.
import { canonicalText } from "./canonical.ts";
import { foldKey } from "./fold.ts";
import { decodeSpan, isVerbatimString, member } from "./message.ts";
import { INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR } from "./reply.ts";
import { frameOf, type RequestFrame } from "./request-frame.ts";
import { scanJson, type Span } from "./scan.ts";

export interface ToolCallRequest {
  name: string;
  args: Record<string, unknown>;
}

export type DecodedToolCall = ({ ok: true; frame: RequestFrame } & ToolCallRequest) | { ok: false; code: number; message: string };

/**
 * Decodes the tools/call in `buf`, whose top-level members and key count (all objects, any
 * depth) a scan found. Refused: a line that is not JSON once decoded; a key repeated in any one
 * object (parsers disagree on which copy wins); two keys of one object that are the same to a
 * server matching keys case-insensitively (Go's encoding/json: "name" and "Name", "s" and
 * U+017F); params that are not an object; a name that is not a string; arguments not an object.
 */
export function decodeToolCall(buf: Buffer, members: Span[], keys: number): DecodedToolCall {
  // Only params is decoded when the envelope's other members are plain values the scanner has
  // fully checked, as they are in JSON-RPC: then the line is JSON once params is, and every
  // key the scanner counted below the top level is one of params'.
  const span = member(members, "params");
  const whole = span === undefined || !othersArePlain(buf, members, span);
  let params: unknown;
  let decodedKeys: number;
  let collision: [string, string] | undefined;
  try {
    if (whole) {
      const message = JSON.parse(buf.toString("utf8")) as { params?: unknown };
      params = message.params;
      const inspected = inspect(message);
      decodedKeys = inspected.keys;
      collision = inspected.collision;
    } else {
      params = decodeSpan(buf, span);
      const inspected = inspect(params);
      decodedKeys = members.length + inspected.keys;
      collision = inspected.collision;
    }
  } catch (error) {
    return { ok: false, code: PARSE_ERROR, message: `Parse error: tools/call could not be decoded (${(error as Error).message})` };
  }
  // Decoding keeps one copy of a repeated key, so the decoded value then holds fewer keys than
  // the scanner counted; only then is the line scanned again to name the key.
  if (decodedKeys !== keys) {
    const strict = scanJson(buf, { duplicates: true });
    const key = strict.ok ? strict.duplicateKey : undefined;
    return { ok: false, code: INVALID_REQUEST, message: `Invalid Request: duplicate key ${key === undefined ? "" : `${JSON.stringify(key)} `}in a tools/call; refused so the server cannot run a call other than the one judged` };
  }
  if (collision !== undefined) {
    const [a, b] = collision;
    return {
      ok: false,
      code: INVALID_REQUEST,
      message: `Invalid Request: keys ${JSON.stringify(a)} and ${JSON.stringify(b)} of one object in a tools/call are the same key to servers that match keys regardless of case (Go's encoding/json); refused so the server cannot run a call other than the one judged`,
    };
  }
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    return { ok: false, code: INVALID_PARAMS, message: "Invalid params: tools/call needs params as an object" };
  }
  const { name, arguments: args } = params as { name?: unknown; arguments?: unknown };
  if (typeof name !== "string") {
    return { ok: false, code: INVALID_PARAMS, message: `Invalid params: tools/call needs params.name as a string, got ${name === undefined ? "nothing" : typeof name}` };
  }
  if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
    return { ok: false, code: INVALID_PARAMS, message: "Invalid params: tools/call params.arguments must be an object" };
  }
  return { ok: true, name, args: (args ?? {}) as Record<string, unknown>, frame: frameOf(params) };
}

/**
 * The arguments of the tools/call in `line` as canonical text: identical for two calls exactly
 * when every server reads the same arguments (see canonical.ts). "{}" when there are none.
 */
export function canonicalArguments(line: Buffer): string {
  const args = argumentsSpan(line);
  return args === undefined ? "{}" : canonicalText(line, args.start, args.end);
}

/** Where the arguments of the tools/call in `line` (one message, as sent) lie, if it has any. */
export function argumentsSpan(line: Buffer): Span | undefined {
  const envelope = scanJson(line);
  const params = envelope.ok ? member(envelope.members, "params") : undefined;
  if (params === undefined) return undefined;
  const inner = scanJson(line, {}, params.start, params.end);
  return inner.ok ? member(inner.members, "arguments") : undefined;
}

/**
 * How many keys a decoded value holds in all its objects at any depth, and the first two keys
 * of one object that fold equal (iterative: decoded values may nest deeply).
 */
function inspect(value: unknown): { keys: number; collision?: [string, string] } {
  let keys = 0;
  let collision: [string, string] | undefined;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || typeof item !== "object") continue;
    if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
      continue;
    }
    // Keys that fold to themselves (lower-case ASCII, as nearly all are) are distinct from each
    // other already; only an object with another kind of key is compared under folding.
    let folds = false;
    for (const key in item) {
      keys++;
      stack.push((item as Record<string, unknown>)[key]);
      if (!folds && foldKey(key) !== key) folds = true;
    }
    if (folds && collision === undefined) collision = foldCollision(Object.keys(item));
  }
  return collision === undefined ? { keys } : { keys, collision };
}

/** The first two of `keys` that fold to the same key, if any. */
function foldCollision(keys: string[]): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const key of keys) {
    const fold = foldKey(key);
    const other = seen.get(fold);
    if (other !== undefined) return [other, key];
    seen.set(fold, key);
  }
  return undefined;
}

/**
 * Whether every member but `except` is a value the scanner has fully checked: a number, a
 * literal, or a verbatim string. (Any other member needs the whole line decoded.)
 */
function othersArePlain(buf: Buffer, members: Span[], except: Span): boolean {
  for (const other of members) {
    if (other === except) continue;
    const first = buf[other.start];
    if (first === 0x7b || first === 0x5b || (first === 0x22 && !isVerbatimString(buf, other))) return false;
  }
  return true;
}
