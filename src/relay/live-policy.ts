// The policy in force and its counters, one object the router's parts read at use time (one
// property read on a call's path), so a reload (SPEC §11) swaps both at once between two
// messages: the router handles each line synchronously, and a reload runs in a tick of its own.
// A reload that changes what the client may see of the tools tells the client to list them again.
import { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import type { Outbox } from "./outbox.ts";
import type { ClientSession } from "./session.ts";
import type { SharedStore } from "./shared-counts.ts";

const TOOLS_LIST_CHANGED = '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n';

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
function swapPolicy(live: LivePolicy, policy: CompiledPolicy, store?: SharedStore): Reloaded {
  const before = live.current.hide;
  const pins = (settings: CompiledPolicy["pins"]): string => (settings === undefined ? "" : `${settings.onChange} ${settings.newTools}`);
  const hideChanged = before.length !== policy.hide.length || before.some((pattern, index) => pattern !== policy.hide[index]) || pins(live.current.pins) !== pins(policy.pins);
  live.counters = Counters.carriedOver(live.counters, policy.counters);
  live.current = policy;
  if (store === undefined) delete live.store;
  else live.store = store;
  return { hideChanged };
}

/** What a reload touches: the policy in force, and the client, told when its tools may have changed. */
export interface ReloadContext {
  live: LivePolicy;
  session: ClientSession;
  outbox: Outbox;
}

/**
 * Puts `policy` in force. Counters whose identity and spec are unchanged keep their history;
 * calls already forwarded are untouched; a held call is judged under `policy` when its answer
 * comes. When the hide patterns changed, an initialized client is told to list its tools again.
 */
export function reload({ live, session, outbox }: ReloadContext, policy: CompiledPolicy, store?: SharedStore): Reloaded {
  const reloaded = swapPolicy(live, policy, store);
  if (reloaded.hideChanged && session.initialized) outbox.send(Buffer.from(TOOLS_LIST_CHANGED));
  return reloaded;
}
