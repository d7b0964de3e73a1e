// Redaction of one member of a JSON-RPC message (a response's result or error, a notification's
// params): each string value in it is decoded and scanned, and each secret found is replaced in
// the string's own bytes; every other byte of the message is kept as it came. Keys are never touched. A string
// that is itself a JSON document (many servers answer with JSON.stringify(output) as text) is
// redacted the same way inside, so the lines of a file it quotes are seen as lines.
import { member } from "../wire/message.ts";
import { scanJson, type Span } from "../wire/scan.ts";
import { forEachStringValue } from "./json-strings.ts";
import { rawOffsets } from "./raw-offsets.ts";
import { findMatches, redactText, replaceMatches, type Counts, type Scanner } from "./scan-text.ts";

export const REDACTIONS_META = "mcpgate/redactions";

export interface Redacted {
  /** The message with its secrets replaced (and its terminator, if it had one). */
  line: Buffer;
  counts: Counts;
}

interface Edit {
  start: number;
  end: number;
  bytes: Buffer;
}

const BACKSLASH = 0x5c;

/** The value of the string token at [start, end) (quotes included); throws on a malformed escape. */
function decodeString(buf: Buffer, start: number, end: number): string {
  if (buf.subarray(start + 1, end - 1).indexOf(BACKSLASH) === -1) return buf.toString("utf8", start + 1, end - 1);
  return JSON.parse(buf.toString("utf8", start, end)) as string;
}

/** The last member named `key`: the one a client decoding with JSON.parse reads. */
function lastMember(members: Span[], key: string): Span | undefined {
  for (let i = members.length - 1; i >= 0; i--) if (members[i]!.key === key) return members[i];
  return undefined;
}

/** Whether the object at `span` has no members. */
function isEmptyObject(buf: Buffer, span: Span): boolean {
  let i = span.start + 1;
  while (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09) i++;
  return i === span.end - 1;
}

/**
 * Where `_meta["mcpgate/redactions"]` goes in the object at `span`: into its `_meta` object, or
 * as a new `_meta`. None when its `_meta` is no object (nothing to merge into).
 */
function metaEdit(buf: Buffer, span: Span, counts: Counts): Edit | undefined {
  if (buf[span.start] !== 0x7b) return undefined;
  const scanned = scanJson(buf, {}, span.start, span.end);
  if (!scanned.ok) return undefined;
  const entry = `${JSON.stringify(REDACTIONS_META)}:${JSON.stringify(Object.fromEntries(counts))}`;
  const meta = lastMember(scanned.members, "_meta");
  // Last in the object, so a client reads ours even if the server sent one of the same name.
  if (meta === undefined) {
    const close = span.end - 1;
    return { start: close, end: close, bytes: Buffer.from(`${isEmptyObject(buf, span) ? "" : ","}"_meta":{${entry}}`) };
  }
  if (buf[meta.start] !== 0x7b) return undefined;
  const close = meta.end - 1;
  return { start: close, end: close, bytes: Buffer.from(`${isEmptyObject(buf, meta) ? "" : ","}${entry}`) };
}

/** How deep JSON quoted in a string is looked into: a text holding JSON whose strings hold JSON. */
const NESTED_JSON = 2;

/** Whether a text starts as a JSON object or array would (and so may be one). */
function mayBeJson(text: string): boolean {
  for (let i = 0; i < text.length && i < 64; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/**
 * The edits that replace each string value in `buf[from, to)` holding a secret: the secrets
 * spliced into the string's own bytes, or (JSON quoted in it, content that is not UTF-8) the
 * string re-encoded whole.
 */
function stringEdits(buf: Buffer, from: number, to: number, scanner: Scanner, counts: Counts, depth: number): Edit[] {
  const edits: Edit[] = [];
  forEachStringValue(buf, from, to, (start, end) => {
    if (end - start <= 2) return;
    const text = decodeString(buf, start, end);
    if (depth < NESTED_JSON && mayBeJson(text)) {
      const redacted = redactString(text, scanner, counts, depth);
      if (redacted !== undefined) edits.push({ start, end, bytes: Buffer.from(JSON.stringify(redacted)) });
      return;
    }
    const matches = findMatches(text, scanner);
    if (matches.length === 0) return;
    for (const { name } of matches) counts.set(name, (counts.get(name) ?? 0) + 1);
    const raw = rawOffsets(buf, start + 1, end - 1, matches.flatMap((match) => [match.start, match.end]));
    if (raw === undefined) {
      edits.push({ start, end, bytes: Buffer.from(JSON.stringify(replaceMatches(text, matches))) });
      return;
    }
    matches.forEach(({ name }, index) => edits.push({ start: raw[2 * index]!, end: raw[2 * index + 1]!, bytes: Buffer.from(`[REDACTED:${name}]`) }));
  });
  return edits;
}

/** A string's text redacted: the JSON it holds string by string (if it is JSON), then all of it. */
function redactString(text: string, scanner: Scanner, counts: Counts, depth: number): string | undefined {
  const inner = depth < NESTED_JSON && mayBeJson(text) ? redactJsonText(text, scanner, counts, depth + 1) : undefined;
  return redactText(inner ?? text, scanner, counts) ?? inner;
}

/** A text that is a JSON document, with its string values redacted; undefined if it is none or held nothing. */
function redactJsonText(text: string, scanner: Scanner, counts: Counts, depth: number): string | undefined {
  const buf = Buffer.from(text, "utf8");
  const scanned = scanJson(buf);
  if (!scanned.ok || scanned.type === "scalar") return undefined;
  // Counted only if all of it decodes: else the text is scanned as plain text, and counted then.
  const found: Counts = new Map();
  let edits: Edit[];
  try {
    edits = stringEdits(buf, 0, buf.length, scanner, found, depth);
  } catch {
    return undefined;
  }
  if (edits.length === 0) return undefined;
  for (const [name, count] of found) counts.set(name, (counts.get(name) ?? 0) + count);
  return applyEdits(buf, edits).toString("utf8");
}

function applyEdits(buf: Buffer, edits: Edit[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const edit of edits) {
    parts.push(buf.subarray(at, edit.start), edit.bytes);
    at = edit.end;
  }
  parts.push(buf.subarray(at));
  return Buffer.concat(parts);
}

/**
 * `buf` with the secrets of the member at `span` redacted, and how many of each; undefined when
 * it held none. With `meta`, the counts are added to that member's `_meta` too. Throws when a
 * string cannot be decoded (the caller must not forward what it could not scan).
 */
export function redactMember(buf: Buffer, span: Span, scanner: Scanner, meta: boolean): Redacted | undefined {
  const counts: Counts = new Map();
  const edits = stringEdits(buf, span.start, span.end, scanner, counts, 0);
  if (edits.length === 0) return undefined;
  if (meta) {
    const edit = metaEdit(buf, span, counts);
    if (edit !== undefined) edits.push(edit);
    edits.sort((a, b) => a.start - b.start);
  }
  return { line: applyEdits(buf, edits), counts };
}

/** The members of a message that are scanned: a response's result or error, a notification's params. */
export function scannedMember(members: Span[]): { span: Span; meta: boolean } | undefined {
  const result = member(members, "result");
  if (result !== undefined) return { span: result, meta: true };
  const params = member(members, "params");
  if (params !== undefined) return { span: params, meta: true };
  const error = member(members, "error");
  return error === undefined ? undefined : { span: error, meta: false };
}
