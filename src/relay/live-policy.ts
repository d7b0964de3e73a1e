// The policy in force and its counters, one object the router's parts read at use time (one
// property read on a call's path), so a reload (SPEC §11) swaps both at once between two
// messages: the router handles each line synchronously, and a reload runs in a tick of its own.
import { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import type { SharedStore } from "./shared-counts.ts";

export interface LivePolicy {
  current: CompiledPolicy;
  counters: Counters;
  /** The shared store of the policy's global counters (SPEC §14), when it has any. */
  store?: SharedStore;
}

/** What a reload changed that someone outside must hear of. */
export interface Reloaded {
  /** The hide patterns (or the pins' settings) differ, so the tools a client sees may have changed. */
  hideChanged: boolean;
}

/** Puts `policy` in force: counters carried over where their identity and spec are unchanged. */
export function swapPolicy(live: LivePolicy, policy: CompiledPolicy, store?: SharedStore): Reloaded {
  const before = live.current.hide;
  const pins = (settings: CompiledPolicy["pins"]): string => (settings === undefined ? "" : `${settings.onChange} ${settings.newTools}`);
  const hideChanged = before.length !== policy.hide.length || before.some((pattern, index) => pattern !== policy.hide[index]) || pins(live.current.pins) !== pins(policy.pins);
  live.counters = Counters.carriedOver(live.counters, policy.counters);
  live.current = policy;
  if (store === undefined) delete live.store;
  else live.store = store;
  return { hideChanged };
}
