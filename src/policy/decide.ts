// Judges one tools/call against the compiled policy. A decision is a value: the relay acts on
// it, the audit log records it, explain prints it. Time comes in as `now`, so windows are
// tested without sleeping; checking never consumes — consume() does, once forwarded.
import type { Counters } from "../limits/counters.ts";
import type { CompiledLimit, CompiledPolicy } from "./compile.ts";
import { formatDelay } from "./duration.ts";

export interface ToolCall {
  name: string;
  args: unknown;
}

export interface Decision {
  effect: "allow" | "deny" | "approve";
  tool: string;
  /** The rule that decided: "hide[0]", "tools.run", "tools.run.limits[1]", "default". */
  rule: string;
  reason: string;
  retryAfterMs?: number;
  /** Counters to count on when the call is forwarded, each once. */
  counters: string[];
}

const NO_COUNTERS: string[] = [];

function denial(tool: string, rule: string, reason: string, retryAfterMs?: number): Decision {
  const decision: Decision = { effect: "deny", tool, rule, reason, counters: NO_COUNTERS };
  if (retryAfterMs !== undefined) decision.retryAfterMs = retryAfterMs;
  return decision;
}

/** Checks every limit; the first that would be exceeded denies, naming when to retry. */
function checkLimits(limits: CompiledLimit[], counters: Counters, now: number, fallbackReason: string | undefined): { rule: string; reason: string; retryAfterMs?: number } | undefined {
  for (const limit of limits) {
    const check = counters.get(limit.counter).check(now, limit.windowMs, limit.max);
    if (check.ok) continue;
    const why = limit.message ?? fallbackReason ?? "rate limit reached";
    const retry = check.retryAfterMs === undefined ? "" : `; retry in ${formatDelay(check.retryAfterMs)}`;
    const result: { rule: string; reason: string; retryAfterMs?: number } = {
      rule: limit.rule,
      reason: `${why} (${limit.max} per ${limit.window}${retry})`,
    };
    if (check.retryAfterMs !== undefined) result.retryAfterMs = check.retryAfterMs;
    return result;
  }
  return undefined;
}

export function decide(policy: CompiledPolicy, counters: Counters, call: ToolCall, now: number): Decision {
  const { name } = call;
  const hiddenBy = policy.hiddenBy(name);
  if (hiddenBy !== undefined) return denial(name, hiddenBy, "this tool is hidden by policy");

  const entry = policy.entryFor(name);
  if (entry === undefined && policy.defaultEffect === "deny") {
    return denial(name, "default", "not allowed by policy (no entry for this tool; default: deny)");
  }
  if (entry?.action === "deny") return denial(name, entry.rule, entry.reason ?? `denied by policy (${entry.rule})`);

  const exceeded = checkLimits(entry?.checks ?? policy.allToolsLimits, counters, now, entry?.reason);
  if (exceeded !== undefined) return denial(name, exceeded.rule, exceeded.reason, exceeded.retryAfterMs);

  const rule = entry?.rule ?? "default";
  const toCount = entry?.counters ?? policy.allToolsCounters;
  if (entry?.action === "approve") {
    return { effect: "approve", tool: name, rule, reason: entry.reason ?? `${rule} requires a human's approval`, counters: toCount };
  }
  return { effect: "allow", tool: name, rule, reason: entry === undefined ? "default: allow" : `allowed by ${rule}`, counters: toCount };
}

/** Counts a forwarded call: once on each of its counters, however many limits share one. */
export function consume(decision: Decision, counters: Counters, now: number): void {
  for (const counter of decision.counters) counters.get(counter).add(now);
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
