// A listed tool against its pin: unchanged, changed (naming the parts), or new (no pin). Pure.
import { PARTS, type Part, type PartHashes } from "./definition.ts";

/** What a pin holds of a definition: the whole's hash and each part's. */
export interface Pinned {
  sha256: string;
  parts: PartHashes;
}

export type Comparison = { status: "unchanged" } | { status: "changed"; parts: Part[] } | { status: "new" };

const UNCHANGED: Comparison = Object.freeze({ status: "unchanged" });
const NEW: Comparison = Object.freeze({ status: "new" });

/** How a tool listed now compares with its pin (undefined: the tool was never pinned). */
export function compare(pin: Pinned | undefined, seen: Pinned): Comparison {
  if (pin === undefined) return NEW;
  if (pin.sha256 === seen.sha256) return UNCHANGED;
  const parts = PARTS.filter((part) => pin.parts[part] !== seen.parts[part]);
  // The whole differs, so some part does; a pin file edited by hand may say otherwise.
  return { status: "changed", parts: parts.length === 0 ? [...PARTS] : parts };
}

const PART_WORDS: Record<Part, string> = {
  name: "name",
  description: "description",
  inputSchema: "input schema",
  outputSchema: "output schema",
  annotations: "annotations",
};

/** "description changed", "description and input schema changed", "output schema added". */
export function describeChange(pin: Pinned, seen: Pinned, parts: readonly Part[]): string {
  const verbs = new Map<string, string[]>();
  for (const part of parts) {
    const verb = pin.parts[part] === null ? "added" : seen.parts[part] === null ? "removed" : "changed";
    verbs.set(verb, [...(verbs.get(verb) ?? []), PART_WORDS[part]]);
  }
  return [...verbs].map(([verb, words]) => `${list(words)} ${verb}`).join(", ");
}

function list(words: string[]): string {
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)!}`;
}
