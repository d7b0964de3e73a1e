// Redaction of one member of a JSON-RPC message (a response's result or error, a notification's
// params): each string value in it that holds a secret is decoded, redacted and re-encoded on
// its own; every other byte of the message is kept as it came. Keys are never touched.
import { member } from "../wire/message.ts";
import { scanJson, type Span } from "../wire/scan.ts";
import { forEachStringValue } from "./json-strings.ts";
import { redactText, type Counts, type Scanner } from "./scan-text.ts";

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

/**
 * `buf` with the secrets of the member at `span` redacted, and how many of each; undefined when
 * it held none. With `meta`, the counts are added to that member's `_meta` too. Throws when a
 * string cannot be decoded (the caller must not forward what it could not scan).
 */
export function redactMember(buf: Buffer, span: Span, scanner: Scanner, meta: boolean): Redacted | undefined {
  const counts: Counts = new Map();
  const edits: Edit[] = [];
  forEachStringValue(buf, span.start, span.end, (start, end) => {
    if (end - start <= 2) return;
    const redacted = redactText(decodeString(buf, start, end), scanner, counts);
    if (redacted !== undefined) edits.push({ start, end, bytes: Buffer.from(JSON.stringify(redacted)) });
  });
  if (edits.length === 0) return undefined;
  if (meta) {
    const edit = metaEdit(buf, span, counts);
    if (edit !== undefined) edits.push(edit);
    edits.sort((a, b) => a.start - b.start);
  }
  const parts: Buffer[] = [];
  let at = 0;
  for (const edit of edits) {
    parts.push(buf.subarray(at, edit.start), edit.bytes);
    at = edit.end;
  }
  parts.push(buf.subarray(at));
  return { line: Buffer.concat(parts), counts };
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
