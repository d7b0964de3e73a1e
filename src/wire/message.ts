// JSON-RPC classification of one scanned message. Only the few members needed to route it
// (method, id, and whether it carries result/error) are decoded; the rest stays as bytes.
import { foldKey, isEnvelopeImpostor } from "./fold.ts";
import { scanJson, type Span } from "./scan.ts";

/** A request id as the peer wrote it (`raw`, echoed back verbatim) and a key that matches it
 * however the other side re-serializes it ("1.0" and "1" are the same number). */
export interface Id {
  raw: string;
  key: string;
}

export type Message =
  | { kind: "request"; id: Id; method: string; members: Span[]; keys: number }
  | { kind: "notification"; method: string; members: Span[]; keys: number }
  | { kind: "response"; id: Id; isError: boolean; members: Span[] }
  | { kind: "invalid"; reason: string; id: Id | null };

export const NULL_ID: Id = { raw: "null", key: "null" };

export function member(members: Span[], key: string): Span | undefined {
  for (const span of members) if (span.key === key) return span;
  return undefined;
}

export function decodeSpan(buf: Buffer, span: Span): unknown {
  return JSON.parse(buf.toString("utf8", span.start, span.end));
}

/**
 * A string token whose bytes between the quotes are its value: no escape, and no control
 * character (which JSON forbids; the scanner leaves string contents to JSON.parse).
 */
export function isVerbatimString(buf: Buffer, { start, end }: Span): boolean {
  if (buf[start] !== 0x22) return false;
  for (let i = start + 1; i < end - 1; i++) if (buf[i] === 0x5c || buf[i]! < 0x20) return false;
  return true;
}

/** A non-negative integer of at most 15 digits, written plainly: its text is its number's. */
function isPlainInteger(buf: Buffer, { start, end }: Span): boolean {
  if (end - start > 15 || end === start || (buf[start] === 0x30 && end - start > 1)) return false;
  for (let i = start; i < end; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

/**
 * The key an id is matched under, whoever wrote it: its type and value, so 1, 1.0 and 1e0 are
 * one key (a server in JavaScript answers all three as 1) and "1" another.
 */
export function idKey(value: string | number): string {
  return typeof value === "string" ? `s${value}` : `n${value}`;
}

function idFrom(buf: Buffer, span: Span): Id | undefined {
  const raw = buf.toString("utf8", span.start, span.end);
  // Fast paths for the ids clients really send: small integers and plain strings.
  if (isPlainInteger(buf, span)) return { raw, key: `n${raw}` };
  if (isVerbatimString(buf, span)) return { raw, key: idKey(raw.slice(1, -1)) };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value === "string" || typeof value === "number") return { raw, key: idKey(value) };
  if (value === null) return NULL_ID;
  return undefined;
}

/** The id whose JSON text is `raw`, or undefined if it is not a valid id. */
export function parseId(raw: string): Id | undefined {
  const buf = Buffer.from(raw);
  return idFrom(buf, { start: 0, end: buf.length });
}

/** Classifies the JSON object of `buf` whose top-level members and key count a scan found. */
export function classify(buf: Buffer, { members, keys }: { members: Span[]; keys: number }): Message {
  for (let i = 1; i < members.length; i++) {
    for (let j = 0; j < i; j++) {
      if (members[i]!.key !== members[j]!.key) continue;
      const idSpan = member(members, "id");
      return { kind: "invalid", reason: `duplicate member "${members[i]!.key}"`, id: (idSpan && idFrom(buf, idSpan)) ?? null };
    }
  }
  const idSpan = member(members, "id");
  const id = idSpan === undefined ? undefined : idFrom(buf, idSpan);
  for (const span of members) {
    // A key the gateway would ignore but a case-insensitive server (Go) reads as a JSON-RPC one.
    if (isEnvelopeImpostor(span.key!)) {
      return { kind: "invalid", reason: `member ${JSON.stringify(span.key)} is no JSON-RPC member, but servers that match keys regardless of case read it as ${JSON.stringify(foldKey(span.key!))}`, id: id ?? null };
    }
  }
  if (idSpan !== undefined && id === undefined) {
    return { kind: "invalid", reason: "id must be a string, a number or null", id: null };
  }
  const methodSpan = member(members, "method");
  if (methodSpan !== undefined) {
    let method: unknown;
    if (isVerbatimString(buf, methodSpan)) {
      method = buf.toString("utf8", methodSpan.start + 1, methodSpan.end - 1);
    } else {
      try {
        method = decodeSpan(buf, methodSpan);
      } catch {
        method = undefined;
      }
    }
    if (typeof method !== "string") return { kind: "invalid", reason: "method must be a string", id: id ?? null };
    return id === undefined ? { kind: "notification", method, members, keys } : { kind: "request", id, method, members, keys };
  }
  const hasResult = member(members, "result") !== undefined;
  const hasError = member(members, "error") !== undefined;
  if (id !== undefined && hasResult !== hasError) return { kind: "response", id, isError: hasError, members };
  return { kind: "invalid", reason: "not a JSON-RPC request, notification or response", id: id ?? null };
}

/** Scans and classifies one element of a batch, given as its own bytes. */
export function classifyElement(element: Buffer): Message {
  const scan = scanJson(element);
  if (!scan.ok || scan.type !== "object") return { kind: "invalid", reason: "batch element is not an object", id: null };
  return classify(element, scan);
}
