// Global limits in a replay (SPEC §14): counted over the log's calls of every session, in
// recorded time order — what the store would have seen from the gateways that wrote this log.
// Other gateways' calls are not in it, so a replay can only under-count a fleet's counters.
import { logCapacity } from "../limits/counters.ts";
import { SlidingLog } from "../limits/window.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import type { SharedCharge, Verdict } from "../policy/decision.ts";
import { limitReason } from "../policy/evaluate.ts";

export class ReplayedStore {
  readonly #policy: CompiledPolicy;
  readonly #logs = new Map<string, SlidingLog>();

  constructor(policy: CompiledPolicy) {
    this.#policy = policy;
  }

  /** `verdict` if the global limits of `shared` pass at `at`, else the denial the store would give. */
  judge(shared: SharedCharge, verdict: Verdict, at: number): Verdict {
    for (const limit of shared.limits) {
      const amount = shared.charge.find((item) => item.counter === limit.counter)?.amount ?? 1;
      const { ok, retryAfterMs } = this.#log(limit.counter).check(at, limit.windowMs, limit.max, amount);
      if (ok) continue;
      const denied: Verdict = { effect: "deny", tool: verdict.tool, rule: limit.rule, reason: limitReason(limit, this.#policy.entryFor(verdict.tool)?.reason, retryAfterMs) };
      if (retryAfterMs !== undefined) denied.retryAfterMs = retryAfterMs;
      return denied;
    }
    return verdict;
  }

  /** Counts a call the replay lets through. */
  charge(shared: SharedCharge, at: number): void {
    for (const { counter, amount } of shared.charge) this.#log(counter).add(at, amount);
  }

  #log(counter: string): SlidingLog {
    let log = this.#logs.get(counter);
    if (log === undefined) {
      const spec = this.#policy.counters.get(counter)!;
      this.#logs.set(counter, (log = new SlidingLog(logCapacity(spec), spec.horizonMs)));
    }
    return log;
  }
}
