// A tool definition as a pin records it: the canonical text (wire/canonical.ts: keys sorted,
// strings as JSON.stringify writes them, numbers as written, no whitespace) of the parts of a
// listed tool that tell a model what it does — name, description, input and output schema,
// annotations — and a SHA-256 of the whole and of each part, so a change can be named.
// Computed from the listed bytes, so a server that re-serializes the same definition with
// other whitespace, key order or escapes keeps its pin. Other members (title, icons, _meta)
// are not part of it.
import { createHash } from "node:crypto";
import { canonicalText } from "../wire/canonical.ts";
import { scanJson, type Span } from "../wire/scan.ts";

/** The parts of a definition, in the order a change names them. */
export const PARTS = ["name", "description", "inputSchema", "outputSchema", "annotations"] as const;

export type Part = (typeof PARTS)[number];

/** SHA-256 (hex) of each part's canonical text; null for a part the tool does not have. */
export type PartHashes = Record<Part, string | null>;

export interface ToolDigest {
  name: string;
  /** SHA-256 (hex) of the canonical definition: an object of the parts present, keys sorted. */
  sha256: string;
  parts: PartHashes;
}

/** The parts' keys in code-unit order, as the canonical object writes them. */
const SORTED: readonly Part[] = [...PARTS].sort();

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/** The last member named `key`: what a client decoding with JSON.parse reads. */
function lastMember(members: Span[], key: string): Span | undefined {
  for (let i = members.length - 1; i >= 0; i--) if (members[i]!.key === key) return members[i];
  return undefined;
}

/**
 * The canonical text of the tool listed at buf[span], with its parts' texts; undefined for an
 * element that is not an object with a string name (no client can call it). Throws when a
 * part is malformed (see canonicalText).
 */
export function canonicalDefinition(buf: Buffer, span: Span): { name: string; text: string; parts: Partial<Record<Part, string>> } | undefined {
  const scanned = scanJson(buf, {}, span.start, span.end);
  if (!scanned.ok || scanned.type !== "object") return undefined;
  const parts: Partial<Record<Part, string>> = {};
  for (const part of PARTS) {
    const at = lastMember(scanned.members, part);
    if (at !== undefined) parts[part] = canonicalText(buf, at.start, at.end);
  }
  if (parts.name === undefined || buf[lastMember(scanned.members, "name")!.start] !== 0x22) return undefined;
  const name = JSON.parse(parts.name) as string;
  const text = `{${SORTED.filter((part) => parts[part] !== undefined).map((part) => `"${part}":${parts[part]!}`).join(",")}}`;
  return { name, text, parts };
}

/** The digest of the tool listed at buf[span]; undefined for an element with no string name. */
export function digestTool(buf: Buffer, span: Span): ToolDigest | undefined {
  const definition = canonicalDefinition(buf, span);
  if (definition === undefined) return undefined;
  const parts = {} as PartHashes;
  for (const part of PARTS) parts[part] = definition.parts[part] === undefined ? null : sha256(definition.parts[part]!);
  return { name: definition.name, sha256: sha256(definition.text), parts };
}

/** The digest of a tool given as a value (a test, or a definition read from elsewhere). */
export function digestToolValue(tool: unknown): ToolDigest | undefined {
  const buf = Buffer.from(JSON.stringify(tool) ?? "null");
  return digestTool(buf, { start: 0, end: buf.length });
}
