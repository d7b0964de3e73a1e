// What the pins say about a server's tools, as data the policy reads (evaluate.ts) and the
// tools/list filter reads: which tools are flagged — changed since pinned, new to a pin set,
// or not checkable — and which are pinned. Made by a pure function of the pin set and the
// definitions this session saw listed, so a call's decision stays a function of its inputs.
import { compare, describeChange, type Pinned } from "./compare.ts";
import type { PinSet } from "./pin-set.ts";

export type PinFlag =
  /** Listed (or last seen) with a definition other than its pin: `change` names the parts. */
  | { kind: "changed"; change: string; sha256: string }
  /** Not pinned, though the server has pins; `sha256` of the definition seen, if it was listed. */
  | { kind: "new"; sha256: string | undefined }
  /** Nothing can be compared: the pin file, or this tool's definition, could not be read. */
  | { kind: "unreadable"; problem: string };

export interface PinFacts {
  /** The server's pin set id, as `mcpgate pins accept` takes it. */
  server: string;
  flagged: ReadonlyMap<string, PinFlag>;
  /** The pinned tools; undefined while the server has none (its first sight: nothing is new yet). */
  pinned: ReadonlySet<string> | undefined;
  /** Set when the pin file could not be read: every tool is flagged with it. */
  unreadable?: string;
}

const NEVER_LISTED: PinFlag = Object.freeze({ kind: "new", sha256: undefined });

/** The flag of `tool`, if it has one. */
export function pinFlag(facts: PinFacts, tool: string): PinFlag | undefined {
  if (facts.unreadable !== undefined) return { kind: "unreadable", problem: facts.unreadable };
  return facts.flagged.get(tool) ?? (facts.pinned !== undefined && !facts.pinned.has(tool) ? NEVER_LISTED : undefined);
}

/**
 * The facts of server `server`: its pin set (undefined: none), the definitions this session saw
 * listed (the latest of each tool), and the tools it could not read. A tool not listed in this
 * session keeps what an earlier session saw of it (the set's sightings) until it is listed.
 */
export function factsOf(server: string, set: PinSet | undefined, observed: ReadonlyMap<string, Pinned>, unreadable: ReadonlyMap<string, string> = new Map()): PinFacts {
  const pinned = set === undefined || set.pins.size === 0 ? undefined : new Set(set.pins.keys());
  const flagged = new Map<string, PinFlag>();
  const judge = (name: string, seen: Pinned): void => {
    const pin = set?.pins.get(name);
    const comparison = compare(pin, seen);
    if (comparison.status === "changed") flagged.set(name, { kind: "changed", change: describeChange(pin!, seen, comparison.parts), sha256: seen.sha256 });
    else if (comparison.status === "new" && pinned !== undefined) flagged.set(name, { kind: "new", sha256: seen.sha256 });
  };
  for (const [name, seen] of set?.seen ?? []) if (!observed.has(name) && !unreadable.has(name)) judge(name, seen);
  for (const [name, seen] of observed) if (!unreadable.has(name)) judge(name, seen);
  for (const [name, problem] of unreadable) flagged.set(name, { kind: "unreadable", problem });
  return { server, flagged, pinned };
}
