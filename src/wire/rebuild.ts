// Rewriting a member or two of a message while every other member keeps its bytes: for the few
// messages mcpgate must change (a tools/list without hidden tools, an MRTR round's state).
import { member } from "./message.ts";
import { scanJson, type Span } from "./scan.ts";

/** Members to set (key → JSON text; added at the end when absent) and to leave out. */
export interface MemberEdits {
  set?: Record<string, string>;
  remove?: readonly string[];
}

/** The object whose members (keys decoded, values as spans of `buf`) are `members`, edited. */
export function rebuildObject(buf: Buffer, members: Span[], { set = {}, remove = [] }: MemberEdits): string {
  const parts: string[] = [];
  for (const span of members) {
    const key = span.key!;
    if (remove.includes(key)) continue;
    const value = Object.hasOwn(set, key) ? set[key] : buf.toString("utf8", span.start, span.end);
    parts.push(`${JSON.stringify(key)}:${value}`);
  }
  for (const key of Object.keys(set)) if (member(members, key) === undefined) parts.push(`${JSON.stringify(key)}:${set[key]}`);
  return `{${parts.join(",")}}`;
}

/**
 * `message` (one JSON-RPC object, as sent, perhaps ending in "\n") with the object member `key`
 * of its envelope edited; everything outside that object keeps its bytes. Throws when the
 * member is not an object.
 */
export function editMember(message: Buffer, key: string, edits: MemberEdits): Buffer {
  const envelope = scanJson(message);
  const span = envelope.ok ? member(envelope.members, key) : undefined;
  const inner = span === undefined ? undefined : scanJson(message, {}, span.start, span.end);
  if (span === undefined || inner === undefined || !inner.ok || inner.type !== "object") throw new Error(`the message has no ${key} object to edit`);
  return Buffer.concat([message.subarray(0, span.start), Buffer.from(rebuildObject(message, inner.members, edits)), message.subarray(span.end)]);
}
