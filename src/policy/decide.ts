// transitional: removed when the router switches to evaluate.
//
// The old entry points, as thin wrappers over evaluate.ts, so src/relay/router.ts compiles and
// behaves unchanged until it calls evaluate(), evaluateApproved(), charge() and the verdict step
// (verdict.ts) itself.
import type { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "./compile.ts";
import { denialResult, denialText, type Check, type ToolCall, type Verdict } from "./decision.ts";
import { charge, evaluate, evaluateApproved } from "./evaluate.ts";

export { denialResult, denialText };
export type { Check, ToolCall };

/** transitional: removed when the router switches to evaluate. A verdict with its charge flattened in. */
export interface Decision extends Verdict {
  /** Counters to count on when the call is forwarded, each once. */
  counters: string[];
  /** What each counter counts, when not 1 (budgets: increment_from). */
  amounts?: number[];
}

/** transitional: removed when the router switches to evaluate. `approved` picks evaluateApproved(). */
export function decide(policy: CompiledPolicy, counters: Counters, call: ToolCall, now: number, trace?: Check[], approved = false): Decision {
  const { verdict, charge: due, checks } = approved ? evaluateApproved(policy, call, now, counters) : evaluate(policy, call, now, counters);
  if (trace !== undefined) trace.push(...checks);
  const decision: Decision = { ...verdict, counters: due.map((item) => item.counter) };
  if (due.some((item) => item.amount !== 1)) decision.amounts = due.map((item) => item.amount);
  return decision;
}

/** transitional: removed when the router switches to evaluate. Applies a decision's counters by charge(). */
export function consume(decision: Decision, counters: Counters, now: number): void {
  const { amounts } = decision;
  charge(counters, decision.counters.map((counter, index) => ({ counter, amount: amounts === undefined ? 1 : amounts[index]! })), now);
}
