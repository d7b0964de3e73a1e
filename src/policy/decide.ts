// Judges one tools/call against the compiled policy. A decision is a value: the relay acts on
// it, the audit log records it, explain prints it. Time comes in as `now`, so windows are
// tested without sleeping; checking never consumes — consume() does, once forwarded.
//
// Order, first deny wins: hidden → entry or default → action: deny → all_tools' require and
// deny_if → the entry's schema, require, deny_if → limits → approval (action: approve or an
// approve_if match).
import type { Counters } from "../limits/counters.ts";
import type { CompiledLimit, CompiledPolicy, Rules } from "./compile.ts";
import { describeCondition, describeShape, resolve } from "./conditions.ts";
import { formatDelay } from "./duration.ts";

export interface ToolCall {
  name: string;
  args: unknown;
}

export interface Decision {
  effect: "allow" | "deny" | "approve";
  tool: string;
  /** The rule that decided: "hide[0]", "tools.run", "tools.run.deny_if[1]", "default". */
  rule: string;
  reason: string;
  retryAfterMs?: number;
  /** Counters to count on when the call is forwarded, each once. */
  counters: string[];
  /** What each counter counts, when not 1 (budgets: increment_from). */
  amounts?: number[];
}

/** One check and its outcome, for `mcpgate explain`. */
export interface Check {
  rule: string;
  passed: boolean;
  detail: string;
}

const NO_COUNTERS: string[] = [];

function denial(tool: string, rule: string, reason: string, retryAfterMs?: number): Decision {
  const decision: Decision = { effect: "deny", tool, rule, reason, counters: NO_COUNTERS };
  if (retryAfterMs !== undefined) decision.retryAfterMs = retryAfterMs;
  return decision;
}

/** The first rule of `rules` that denies, or undefined. */
function checkRules(rules: Rules, args: unknown, trace: Check[] | undefined): { rule: string; reason: string } | undefined {
  for (const condition of rules.require) {
    const holds = condition.test(args);
    trace?.push({ rule: condition.rule, passed: holds, detail: `require ${describeCondition(condition)}` });
    if (!holds) return { rule: condition.rule, reason: condition.message ?? `required ${describeCondition(condition)}, which does not hold` };
  }
  for (const condition of rules.denyIf) {
    const matches = condition.test(args);
    trace?.push({ rule: condition.rule, passed: !matches, detail: `deny_if ${describeCondition(condition)}` });
    if (matches) return { rule: condition.rule, reason: condition.message ?? `denied because ${describeCondition(condition)}` };
  }
  return undefined;
}

function approvalNeeded(rules: Rules, args: unknown, trace: Check[] | undefined): { rule: string; reason: string } | undefined {
  for (const condition of rules.approveIf) {
    const matches = condition.test(args);
    trace?.push({ rule: condition.rule, passed: true, detail: `approve_if ${describeCondition(condition)}: ${matches ? "matches, needs a human" : "no match"}` });
    if (matches) return { rule: condition.rule, reason: condition.message ?? `${describeCondition(condition)} needs a human's approval` };
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

function hasBudget(limits: CompiledLimit[]): boolean {
  for (const limit of limits) if (limit.incrementFrom !== undefined) return true;
  return false;
}

/**
 * Judges `call` at `now`. With `approved`, a human has already said yes to this call: the
 * approval stage is skipped and everything before it (limits above all) is checked again.
 */
export function decide(policy: CompiledPolicy, counters: Counters, call: ToolCall, now: number, trace?: Check[], approved = false): Decision {
  const { name, args } = call;
  const hiddenBy = policy.hiddenBy(name);
  trace?.push({ rule: hiddenBy ?? "hide", passed: hiddenBy === undefined, detail: hiddenBy === undefined ? "not hidden" : "hidden" });
  if (hiddenBy !== undefined) return denial(name, hiddenBy, "this tool is hidden by policy");

  const entry = policy.entryFor(name);
  trace?.push({ rule: entry?.rule ?? "default", passed: entry !== undefined || policy.defaultEffect === "allow", detail: entry === undefined ? `no entry; default: ${policy.defaultEffect}` : `entry ${JSON.stringify(entry.key)}, action: ${entry.action}` });
  if (entry === undefined && policy.defaultEffect === "deny") {
    return denial(name, "default", "not allowed by policy (no entry for this tool; default: deny)");
  }
  if (entry?.action === "deny") return denial(name, entry.rule, entry.reason ?? `denied by policy (${entry.rule})`);

  const denied = checkRules(policy.allToolsRules, args, trace);
  if (denied !== undefined) return denial(name, denied.rule, denied.reason);
  if (entry?.schema !== undefined) {
    const valid = entry.schema(args);
    if (!valid || trace !== undefined) {
      const error = valid ? undefined : entry.schema.errors?.[0];
      const detail = error === undefined ? "arguments match the schema" : `${error.instancePath === "" ? "arguments" : `arguments${error.instancePath}`} ${error.message ?? "do not match"}`;
      trace?.push({ rule: `${entry.rule}.schema`, passed: valid, detail });
      if (!valid) return denial(name, `${entry.rule}.schema`, `arguments do not match the schema: ${detail}`);
    }
  }
  if (entry !== undefined) {
    const entryDenied = checkRules(entry.rules, args, trace);
    if (entryDenied !== undefined) return denial(name, entryDenied.rule, entryDenied.reason);
  }

  const limits = entry?.checks ?? policy.allToolsLimits;
  for (const limit of limits) {
    const amount = amountFor(limit, args);
    if (typeof amount === "string") {
      trace?.push({ rule: limit.rule, passed: false, detail: amount });
      return denial(name, limit.rule, amount);
    }
    const check = counters.get(limit.counter).check(now, limit.windowMs, limit.max, amount);
    trace?.push({ rule: limit.rule, passed: check.ok, detail: `${check.used}${amount === 1 ? "" : ` + ${amount}`} of ${limit.max} per ${limit.window} used` });
    if (!check.ok) {
      const why = limit.message ?? entry?.reason ?? (limit.incrementFrom === undefined ? "rate limit reached" : "budget exceeded");
      const retry = check.retryAfterMs === undefined ? "" : `; retry in ${formatDelay(check.retryAfterMs)}`;
      // The argument's name, not its value: the amount is the caller's data.
      const counts = limit.incrementFrom === undefined ? "" : `; this call counts ${limit.incrementFrom.path}`;
      return denial(name, limit.rule, `${why} (${limit.max} per ${limit.window}${counts}${retry})`, check.retryAfterMs);
    }
  }

  const rule = entry?.rule ?? "default";
  const counted = entry?.counters ?? policy.allToolsCounters;
  // Limits sharing a counter count the same thing (load.ts rejects a policy where they do not,
  // compile.ts throws), so any of a counter's limits says what this call adds to it.
  const amounts = hasBudget(limits)
    ? counted.map((counter) => amountFor(limits.find((limit) => limit.counter === counter)!, args) as number)
    : undefined;
  const approval = approved ? undefined : entry?.action === "approve" ? { rule, reason: entry.reason ?? `${rule} requires a human's approval` } : (approvalNeeded(policy.allToolsRules, args, trace) ?? (entry === undefined ? undefined : approvalNeeded(entry.rules, args, trace)));
  const decision: Decision =
    approval !== undefined
      ? { effect: "approve", tool: name, rule: approval.rule, reason: approval.reason, counters: counted }
      : { effect: "allow", tool: name, rule, reason: entry === undefined ? "default: allow" : `allowed by ${rule}`, counters: counted };
  if (amounts !== undefined) decision.amounts = amounts;
  return decision;
}

/** Counts a forwarded call: once on each of its counters, however many limits share one. */
export function consume(decision: Decision, counters: Counters, now: number): void {
  const { amounts } = decision;
  for (let index = 0; index < decision.counters.length; index++) counters.get(decision.counters[index]!).add(now, amounts === undefined ? 1 : amounts[index]!);
}

/** The text an agent reads: "[POLICY DENIED] run: Shell commands are capped (10 per minute; retry in 23s)". */
export function denialText(decision: Decision): string {
  return `[POLICY DENIED] ${decision.tool}: ${decision.reason}`;
}

/** The result a denied tools/call gets in place of the server's. */
export function denialResult(decision: Decision): object {
  const meta: Record<string, unknown> = { decision: "deny", tool: decision.tool, rule: decision.rule, reason: decision.reason };
  if (decision.retryAfterMs !== undefined) meta.retryAfterMs = decision.retryAfterMs;
  return {
    isError: true,
    content: [{ type: "text", text: denialText(decision) }],
    _meta: { "mcpgate/decision": meta },
  };
}
