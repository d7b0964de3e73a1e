// Which pin sets an operator means: by id (or a prefix of one, at least 4 digits), by the name
// the server gives itself, or by an element of its command line (as `mcpgate log --server`).
// And what `pins list` shows of one set: each tool pinned, changed or new. Pure.
import { serverMatches } from "../audit/reader.ts";
import { compare, describeChange } from "./compare.ts";
import type { PinSet } from "./pin-set.ts";
import type { Listed } from "./store.ts";

const ID_PREFIX = /^[0-9a-f]{4,16}$/;

/** The pin sets (or unreadable files, by id only) `selector` names; all of them without one. */
export function selectServers(listed: readonly Listed[], selector: string | undefined): Listed[] {
  if (selector === undefined) return [...listed];
  const byId = ID_PREFIX.test(selector) ? listed.filter((item) => item.id.startsWith(selector)) : [];
  if (byId.length > 0) return byId;
  return listed.filter((item) => "set" in item && serverMatches({ ...(item.set.server.name === undefined ? {} : { name: item.set.server.name }), command: [...item.set.server.command] }, selector));
}

export interface ToolState {
  name: string;
  status: "pinned" | "changed" | "new";
  /** The pin's hash, when pinned. */
  sha256?: string;
  pinnedAt?: string;
  /** The definition seen that is not the pin. */
  seen?: { sha256: string; at: string; change?: string };
}

/** Every tool of a pin set, by name: its pin, and what was seen of it since, if it differs. */
export function toolStates(set: PinSet): ToolState[] {
  const names = [...new Set([...set.pins.keys(), ...set.seen.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((name) => {
    const pin = set.pins.get(name);
    const seen = set.seen.get(name);
    const state: ToolState = { name, status: pin === undefined ? "new" : seen !== undefined && seen.sha256 !== pin.sha256 ? "changed" : "pinned" };
    if (pin !== undefined) {
      state.sha256 = pin.sha256;
      state.pinnedAt = pin.at;
    }
    if (seen !== undefined && seen.sha256 !== pin?.sha256) {
      const comparison = compare(pin, seen);
      state.seen = { sha256: seen.sha256, at: seen.at, ...(comparison.status === "changed" ? { change: describeChange(pin!, seen, comparison.parts) } : {}) };
    }
    return state;
  });
}

/** "raw-server (node server.mjs)", or the command alone. */
export function serverLabel(set: PinSet): string {
  const command = set.server.command.join(" ");
  return set.server.name === undefined ? command : `${set.server.name} (${command})`;
}
