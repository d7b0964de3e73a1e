// A call under `scope: global` limits (SPEC §14), once the policy allowed it in every other way:
// the store judges those limits and counts the call, atomically, for every gateway sharing it.
// The call waits off the relay's path (other messages flow meanwhile) for at most the store's
// timeout; what the store said — allowed, denied, or nothing in time — comes back as what to do.
// The store itself (store/store.ts, on ioredis) is made by the CLI and loaded only when a policy
// needs it; the relay sees only this interface.
import type { CompiledPolicy } from "../policy/compile.ts";
import type { SharedCharge, Verdict } from "../policy/decision.ts";
import { limitReason } from "../policy/evaluate.ts";
import { logCapacity } from "../limits/counters.ts";
import type { ConsumeResult, RefundResult } from "../store/store.ts";
import type { Receipt, StoreCall } from "../store/call.ts";

/** What the relay needs of the shared store: store/store.ts's CounterStore. */
export interface SharedStore {
  /** Its URL without credentials. */
  readonly name: string;
  consume(call: StoreCall): Promise<ConsumeResult>;
  refund(receipt: Receipt): Promise<RefundResult>;
}

/** What the store's answer means for the call. */
export type SharedAnswer =
  /** Counted (receipt: what to give back if the call is refunded); `warning` when allowed only because the store failed open. */
  | { action: "forward"; receipt?: Receipt; warning?: string }
  | { action: "deny"; verdict: Verdict };

/** The store call for `shared`: each counter with its capacity and horizon as the policy compiled them, and the limits in order. */
export function storeCall(policy: CompiledPolicy, shared: SharedCharge): StoreCall {
  const index = new Map(shared.charge.map((item, at) => [item.counter, at]));
  return {
    counters: shared.charge.map(({ counter, amount }) => {
      const spec = policy.counters.get(counter)!;
      return { counter, amount, capacity: logCapacity(spec), horizonMs: spec.horizonMs };
    }),
    limits: shared.limits.map((limit) => ({ counter: index.get(limit.counter)!, windowMs: limit.windowMs, max: limit.max })),
  };
}

/**
 * Asks `store` to judge and count a call that `verdict` allows, under `policy`'s settings. Never
 * rejects: a store fault is an answer too (store_failure says which). A consume that failed but
 * may have run is refunded, so a denied call consumes nothing there either.
 */
export async function countShared(store: SharedStore | undefined, policy: CompiledPolicy, shared: SharedCharge, verdict: Verdict): Promise<SharedAnswer> {
  const first = shared.limits[0]!;
  if (store === undefined) {
    // load refuses such a policy; a gateway that got here anyway fails closed.
    return { action: "deny", verdict: { ...verdict, effect: "deny", rule: first.rule, reason: "a scope: global limit applies, and no store is set (store: in the policy, or MCPGATE_STORE)" } };
  }
  let result: ConsumeResult;
  try {
    result = await store.consume(storeCall(policy, shared));
  } catch (error) {
    result = { outcome: "failed", failure: { kind: "error", message: `store ${store.name}: ${(error as Error).message}`, maybeApplied: false }, receipt: { id: "", entries: [] } };
  }
  if (result.outcome === "allowed") return { action: "forward", receipt: result.receipt };
  if (result.outcome === "denied") {
    const limit = shared.limits[result.limit]!;
    const denied: Verdict = { effect: "deny", tool: verdict.tool, rule: limit.rule, reason: limitReason(limit, policy.entryFor(verdict.tool)?.reason, result.retryAfterMs) };
    if (result.retryAfterMs !== undefined) denied.retryAfterMs = result.retryAfterMs;
    return { action: "deny", verdict: denied };
  }
  const { failure } = result;
  if (policy.store.failure === "open") {
    // Counted or not, the call goes: the receipt lets a refund take back what may have been counted.
    return { action: "forward", receipt: result.receipt, warning: `${failure.message}; allowed without the shared count (store_failure: open)` };
  }
  if (failure.maybeApplied) void store.refund(result.receipt);
  const reason = `${failure.message}; calls under scope: global limits are denied while the shared counter store cannot answer (store_failure: closed)`;
  return { action: "deny", verdict: { ...verdict, effect: "deny", rule: first.rule, reason } };
}
