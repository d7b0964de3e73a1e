// Judges one tools/call against the compiled policy, as a pure function of its four inputs: the
// same policy, call, time and counters give the same answer, and the counters are only read.
// The answer is data — the verdict, what forwarding would consume, the checks behind it — and
// what happens next (ask a human? dry run?) is decided apart, by verdict.ts. charge() is the one
// function that changes counters, called once a call is forwarded.
//
// Order, first deny wins: hidden → pins (a definition changed or new, as `pins` says; the pin
// facts are an input like the counters) → entry or default → action: deny → all_tools' require and
// deny_if → the entry's schema, require, deny_if → limits → approval (action: approve or an
// approve_if match).
import type { CounterReader, Counters } from "../limits/counters.ts";
import type { SlidingLog } from "../limits/window.ts";
import type { CompiledEntry, CompiledLimit, CompiledPolicy, Rules } from "./compile.ts";
import { describeCondition, describeShape, resolve, type CompiledCondition } from "./conditions.ts";
import { NO_CHARGE, type Charge, type Check, type Evaluation, type SharedCharge, type ToolCall, type Verdict } from "./decision.ts";
import { formatDelay } from "./duration.ts";
import type { PinFacts } from "../pins/facts.ts";
import { pinCheck } from "../pins/verdict.ts";

/** Judges `call` at `now`, approval stage included; `pins`: what the server's pins say (when the policy pins). */
export function evaluate(policy: CompiledPolicy, call: ToolCall, now: number, counters: CounterReader, pins?: PinFacts): Evaluation {
  return judge(policy, call, now, counters, true, pins);
}

/**
 * Judges `call` at `now` after a human said yes to it: everything before the approval stage
 * (limits above all, which other calls may have used meanwhile) is checked again; the approval
 * stage is skipped, so the verdict is allow or deny, never approve.
 */
export function evaluateApproved(policy: CompiledPolicy, call: ToolCall, now: number, counters: CounterReader, pins?: PinFacts): Evaluation {
  return judge(policy, call, now, counters, false, pins);
}

/** Counts a forwarded call: with take() and giveBack(), the only functions that change counters. */
export function charge(counters: Counters, due: Charge, now: number): void {
  for (let index = 0; index < due.length; index++) {
    const item = due[index]!;
    counters.get(item.counter).add(now, item.amount);
  }
}

/** One charge as logged, enough to give it back: the very log (a reload may replace a counter's), the entry and the amount. */
export interface Taken {
  log: SlidingLog;
  handle: number;
  amount: number;
  /** Its counter gives a failed call's charge back (refund: on_error). */
  refundable: boolean;
}

/** charge(), keeping what was logged: for a call that may yet be given back (the store may deny it, or it may fail). */
export function take(counters: Counters, due: Charge, now: number): Taken[] {
  return due.map(({ counter, amount }) => {
    const log = counters.get(counter);
    return { log, handle: log.add(now, amount), amount, refundable: counters.refundable(counter) };
  });
}

/**
 * Charges a call about to be forwarded (or to ask the store): what was logged is kept when it
 * may have to be given back — the store may deny the call (`shared`), or its result may fail
 * with `refunds` on (refund: on_error) — and undefined otherwise, at no cost.
 */
export function chargeForward(counters: Counters, due: Charge, now: number, shared: SharedCharge | undefined, refunds: boolean): Taken[] | undefined {
  if (shared !== undefined || refunds) return take(counters, due, now);
  charge(counters, due, now);
  return undefined;
}

/** Gives back what take() logged, exactly: as if those calls had not been counted. */
export function giveBack(taken: readonly Taken[]): void {
  for (const { log, handle, amount } of taken) log.refund(handle, amount);
}

function denied(tool: string, rule: string, reason: string, checks: readonly Check[], retryAfterMs?: number): Evaluation {
  const verdict: Verdict = { effect: "deny", tool, rule, reason };
  if (retryAfterMs !== undefined) verdict.retryAfterMs = retryAfterMs;
  return { verdict, charge: NO_CHARGE, checks };
}

/** The first condition of `rules` that denies (a require that fails, a deny_if that matches), or undefined. */
function denyingCondition(rules: Rules, args: unknown, checks: Check[]): { condition: CompiledCondition; reason: string } | undefined {
  for (const condition of rules.require) {
    const holds = condition.test(args);
    checks.push(holds ? condition.whenTrue : condition.whenFalse);
    if (!holds) return { condition, reason: condition.message ?? `required ${describeCondition(condition)}, which does not hold` };
  }
  for (const condition of rules.denyIf) {
    const matches = condition.test(args);
    checks.push(matches ? condition.whenTrue : condition.whenFalse);
    if (matches) return { condition, reason: condition.message ?? `denied because ${describeCondition(condition)}` };
  }
  return undefined;
}

/** The first approve_if of `rules` that matches, or undefined. */
function approvalCondition(rules: Rules, args: unknown, checks: Check[]): CompiledCondition | undefined {
  for (const condition of rules.approveIf) {
    const matches = condition.test(args);
    checks.push(matches ? condition.whenTrue : condition.whenFalse);
    if (matches) return condition;
  }
  return undefined;
}

/**
 * What a limit counts for this call: 1, or the increment_from argument if it is a valid amount;
 * else why not, naming the argument's type and size, never its content.
 */
function amountFor(limit: CompiledLimit, args: unknown): number | string {
  if (limit.incrementFrom === undefined) return 1;
  const value = resolve(args, limit.incrementFrom.segments);
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  return `${limit.incrementFrom.path} must be a finite number >= 0 for the budget ${limit.rule}, got ${describeShape(value)}`;
}

/** A budget's charge: each counter once, by the amount its limits count for this call. */
function budgetCharge(counted: string[], limits: CompiledLimit[], args: unknown): Charge {
  // Limits sharing a counter count the same thing (load.ts rejects a policy where they do not,
  // compile.ts throws), so any of a counter's limits says what this call adds to it.
  return counted.map((counter) => ({ counter, amount: amountFor(limits.find((limit) => limit.counter === counter)!, args) as number }));
}

/** Checks that carry nothing of the call, recorded without allocating. */
const HIDE_PASSED: Check = Object.freeze({ kind: "hide", rule: "hide", passed: true });
const NO_ENTRY = Object.freeze({ kind: "entry", rule: "default", passed: true, entry: undefined, defaultEffect: "allow" }) satisfies Check;
const DEFAULT_DENIED: readonly Check[] = Object.freeze([HIDE_PASSED, Object.freeze({ kind: "entry", rule: "default", passed: false, entry: undefined, defaultEffect: "deny" }) satisfies Check]);

function judge(policy: CompiledPolicy, call: ToolCall, now: number, counters: CounterReader, askHumans: boolean, pins: PinFacts | undefined): Evaluation {
  const { name, args } = call;
  const hiddenBy = policy.hiddenBy(name);
  if (hiddenBy !== undefined) return denied(name, hiddenBy, "this tool is hidden by policy", [{ kind: "hide", rule: hiddenBy, passed: false }]);
  // Only a tool the pins flag costs more than this comparison.
  const pinned = policy.pins === undefined || pins === undefined ? undefined : pinCheck(policy.pins, pins, name);
  if (pinned !== undefined && !pinned.check.passed) return denied(name, pinned.check.rule, pinned.reason, [HIDE_PASSED, pinned.check]);

  const entry = policy.entryFor(name);
  if (entry === undefined && policy.defaultEffect === "deny") return denied(name, "default", "not allowed by policy (no entry for this tool; default: deny)", DEFAULT_DENIED);
  const checks: Check[] = pinned === undefined ? [HIDE_PASSED, entry === undefined ? NO_ENTRY : entry.passed.entry] : [HIDE_PASSED, pinned.check, entry === undefined ? NO_ENTRY : entry.passed.entry];
  if (entry?.action === "deny") return denied(name, entry.rule, entry.reason ?? `denied by policy (${entry.rule})`, checks);

  const all = denyingCondition(policy.allToolsRules, args, checks);
  if (all !== undefined) return denied(name, all.condition.rule, all.reason, checks);
  if (entry !== undefined) {
    if (entry.schemaProblem !== undefined) {
      const problem = entry.schemaProblem(args);
      if (problem !== undefined) {
        const rule = entry.passed.schema.rule;
        checks.push({ kind: "schema", rule, passed: false, problem });
        return denied(name, rule, `arguments do not match the schema: ${problem}`, checks);
      }
      checks.push(entry.passed.schema);
    }
    const own = denyingCondition(entry.rules, args, checks);
    if (own !== undefined) return denied(name, own.condition.rule, own.reason, checks);
  }

  const limits = entry?.checks ?? policy.allToolsLimits;
  for (const limit of limits) {
    const amount = amountFor(limit, args);
    if (typeof amount === "string") {
      checks.push({ kind: "amount", rule: limit.rule, passed: false, problem: amount });
      return denied(name, limit.rule, amount, checks);
    }
    if (limit.global === true) {
      // Judged by the store when the call is forwarded (relay/shared-counts.ts): atomic there.
      checks.push({ kind: "shared", rule: limit.rule, passed: true, limit, amount });
      continue;
    }
    // The usage alone (a number) on the way through; the retry hint only for a denial.
    const log = counters.get(limit.counter);
    const used = log.used(now, limit.windowMs);
    const passed = used + amount <= limit.max;
    checks.push({ kind: "limit", rule: limit.rule, passed, limit, used, amount });
    if (!passed) {
      const { retryAfterMs } = log.check(now, limit.windowMs, limit.max, amount);
      return denied(name, limit.rule, limitReason(limit, entry?.reason, retryAfterMs), checks, retryAfterMs);
    }
  }

  const due = (entry?.budget ?? policy.allToolsBudget) ? budgetCharge(entry?.counters ?? policy.allToolsCounters, limits, args) : (entry?.unitCharge ?? policy.allToolsUnitCharge);
  const verdict = askHumans ? approvalVerdict(policy, entry, name, args, checks) : undefined;
  const shared = entry === undefined ? policy.allToolsShared : entry.shared;
  const evaluation: Evaluation = { verdict: verdict ?? allowed(entry, name), charge: due, checks };
  if (shared !== undefined) evaluation.shared = { limits: shared.limits, charge: budgetCharge(shared.counters, shared.limits, args) };
  return evaluation;
}

/** Why a limit denies: its message, else the entry's reason, else what it is; with the retry hint. */
export function limitReason(limit: CompiledLimit, entryReason: string | undefined, retryAfterMs: number | undefined): string {
  const why = limit.message ?? entryReason ?? (limit.incrementFrom === undefined ? "rate limit reached" : "budget exceeded");
  const retry = retryAfterMs === undefined ? "" : `; retry in ${formatDelay(retryAfterMs)}`;
  // The argument's name, not its value: the amount is the caller's data.
  const counts = limit.incrementFrom === undefined ? "" : `; this call counts ${limit.incrementFrom.path}`;
  return `${why} (${limit.max} per ${limit.window}${counts}${retry})`;
}

/** The approve verdict when the call needs a human (action: approve, or an approve_if match). */
function approvalVerdict(policy: CompiledPolicy, entry: CompiledEntry | undefined, tool: string, args: unknown, checks: Check[]): Verdict | undefined {
  if (entry?.action === "approve") return { effect: "approve", tool, rule: entry.rule, reason: entry.reason ?? `${entry.rule} requires a human's approval` };
  const condition = approvalCondition(policy.allToolsRules, args, checks) ?? (entry === undefined ? undefined : approvalCondition(entry.rules, args, checks));
  if (condition === undefined) return undefined;
  return { effect: "approve", tool, rule: condition.rule, reason: condition.message ?? `${describeCondition(condition)} needs a human's approval` };
}

function allowed(entry: CompiledEntry | undefined, tool: string): Verdict {
  if (entry === undefined) return { effect: "allow", tool, rule: "default", reason: "default: allow" };
  // An exact entry's verdict is the same for every call: built once, at compile time.
  return entry.allow.tool === tool ? entry.allow : { effect: "allow", tool, rule: entry.rule, reason: entry.allow.reason };
}
