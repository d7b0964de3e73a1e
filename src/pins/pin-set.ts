// One server's pins as data, and their file format. A pin is the digest of a tool's definition
// when it was first seen (or last accepted); a sighting is a definition seen since that differs
// from its pin (changed) or has none (new), kept until someone accepts it, so `mcpgate pins
// accept` can pin exactly what was seen, though it never sees the server itself. Tools are
// kept in Maps (a tool named "__proto__" is a tool like any other) and written as lists
// sorted by name, so the file reads well and diffs small.
import { PARTS, type PartHashes, type ToolDigest } from "./definition.ts";
import type { ServerIdentity } from "./identity.ts";

export interface Pin {
  sha256: string;
  parts: PartHashes;
  /** When it was pinned (ISO time). */
  at: string;
}

export interface Sighting {
  sha256: string;
  parts: PartHashes;
  /** When a session last saw it (ISO time). */
  at: string;
}

export interface PinSet {
  server: ServerIdentity;
  pins: Map<string, Pin>;
  /** Definitions seen that are not their tool's pin: changed, or (no pin) new. */
  seen: Map<string, Sighting>;
}

export const FORMAT_VERSION = 1;

export function emptyPinSet(server: ServerIdentity): PinSet {
  return { server, pins: new Map(), seen: new Map() };
}

export function pinOf(digest: ToolDigest, at: string): Pin {
  return { sha256: digest.sha256, parts: digest.parts, at };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Why `value` is not a definition's hashes, or undefined. */
function hashesProblem(value: unknown, where: string): string | undefined {
  const record = value as { sha256?: unknown; parts?: Record<string, unknown>; at?: unknown } | null;
  if (typeof record?.sha256 !== "string" || !HEX64.test(record.sha256)) return `${where}.sha256: expected 64 hex digits`;
  if (typeof record.at !== "string") return `${where}.at: expected an ISO time`;
  if (typeof record.parts !== "object" || record.parts === null) return `${where}.parts: expected a mapping`;
  for (const part of PARTS) {
    const hash = record.parts[part];
    if (hash !== null && (typeof hash !== "string" || !HEX64.test(hash))) return `${where}.parts.${part}: expected 64 hex digits or null`;
  }
  return undefined;
}

function readTools(value: unknown, key: string): Map<string, Pin> {
  if (!Array.isArray(value)) throw new Error(`${key}: expected a list`);
  const tools = new Map<string, Pin>();
  value.forEach((item: { name?: unknown; sha256: string; parts: Record<string, string | null>; at: string }, index) => {
    const where = `${key}[${index}]`;
    if (typeof item?.name !== "string") throw new Error(`${where}.name: expected a string`);
    const problem = hashesProblem(item, where);
    if (problem !== undefined) throw new Error(problem);
    const parts = {} as PartHashes;
    for (const part of PARTS) parts[part] = item.parts[part] ?? null;
    tools.set(item.name, { sha256: item.sha256, parts, at: item.at });
  });
  return tools;
}

/** A pin file's text as a pin set; throws an Error saying what is wrong with it. */
export function parsePinSet(text: string): PinSet {
  let document: { version?: unknown; server?: { command?: unknown; name?: unknown }; pins?: unknown; seen?: unknown };
  try {
    document = JSON.parse(text) as typeof document;
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  if (document === null || typeof document !== "object") throw new Error("expected a JSON object");
  if (document.version !== FORMAT_VERSION) throw new Error(`version: expected ${FORMAT_VERSION}, got ${JSON.stringify(document.version)}`);
  const command = document.server?.command;
  if (!Array.isArray(command) || !command.every((arg) => typeof arg === "string")) throw new Error("server.command: expected a list of strings");
  const name = document.server?.name;
  if (name !== undefined && typeof name !== "string") throw new Error("server.name: expected a string");
  return { server: { command, ...(name === undefined ? {} : { name }) }, pins: readTools(document.pins, "pins"), seen: readTools(document.seen ?? [], "seen") };
}

function writeTools(tools: Map<string, Pin | Sighting>): object[] {
  return [...tools].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, { sha256, parts, at }]) => ({ name, sha256, parts, at }));
}

/** The text of a pin file. */
export function serializePinSet(set: PinSet): string {
  const document = { version: FORMAT_VERSION, server: set.server, pins: writeTools(set.pins), seen: writeTools(set.seen) };
  return `${JSON.stringify(document, null, 2)}\n`;
}
