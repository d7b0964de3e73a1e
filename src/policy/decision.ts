// A decision is a value: the relay acts on it, the audit log records it, `explain` prints it —
// one type, three readers. Every projection of it lives here, so the three never drift apart.
import type { CompiledEntry, CompiledLimit } from "./compile.ts";
import { describeCondition, type CompiledCondition } from "./conditions.ts";

export type Effect = "allow" | "deny" | "approve";

/** A call as the policy sees it: the tool's name and its arguments, parsed. */
export interface ToolCall {
  name: string;
  args: unknown;
}

/** What the policy says about one call, and the rule that said it. */
export interface Verdict {
  effect: Effect;
  tool: string;
  /** The rule that decided: "hide[0]", "tools.run", "tools.run.deny_if[1]", "default". */
  rule: string;
  reason: string;
  /** For a limit's denial: when the call would fit. */
  retryAfterMs?: number;
}

/** One counter a forwarded call counts on, and by how much (1, or a budget's amount). */
export interface ChargeItem {
  counter: string;
  amount: number;
}

/** What forwarding a call consumes: each of its counters once, however many limits share one. */
export type Charge = readonly ChargeItem[];

/** The charge of a call that is not forwarded. */
export const NO_CHARGE: Charge = Object.freeze([]);

/**
 * One check and its outcome, as facts; checkDetail() renders the words, only when someone
 * reads them (explain), so the relay builds no strings for calls that pass.
 */
export type Check =
  | { kind: "hide"; rule: string; passed: boolean }
  | { kind: "pin"; rule: string; passed: boolean; detail: string }
  | { kind: "entry"; rule: string; passed: boolean; entry: CompiledEntry | undefined; defaultEffect: "allow" | "deny" }
  | { kind: "require" | "deny_if"; rule: string; passed: boolean; condition: CompiledCondition }
  | { kind: "approve_if"; rule: string; passed: true; condition: CompiledCondition; matches: boolean }
  | { kind: "schema"; rule: string; passed: boolean; problem: string | undefined }
  | { kind: "limit"; rule: string; passed: boolean; limit: CompiledLimit; used: number; amount: number }
  | { kind: "amount"; rule: string; passed: false; problem: string }
  /** A scope: global limit: judged by the store when the call is forwarded, not here. */
  | { kind: "shared"; rule: string; passed: true; limit: CompiledLimit; amount: number };

/**
 * What evaluate() returns: the verdict, what forwarding would consume, and the checks behind it.
 * Parts that are the same for every call (an exact entry's allow verdict, a unit charge, most
 * check records) are built once at compile time, shared and frozen: copy one to change it.
 */
export interface Evaluation {
  verdict: Verdict;
  charge: Charge;
  checks: readonly Check[];
  /** The call's global limits and what it would add to their counters: the store judges and charges these. */
  shared?: SharedCharge;
}

/** What a call asks of the shared store: its global limits, judged in order, and each counter's amount. */
export interface SharedCharge {
  limits: readonly CompiledLimit[];
  charge: Charge;
}

/** How a check reads in `mcpgate explain`. */
export function checkDetail(check: Check): string {
  switch (check.kind) {
    case "hide":
      return check.passed ? "not hidden" : "hidden";
    case "pin":
      return check.detail;
    case "entry":
      return check.entry === undefined ? `no entry; default: ${check.defaultEffect}` : `entry ${JSON.stringify(check.entry.key)}, action: ${check.entry.action}`;
    case "require":
    case "deny_if":
      return `${check.kind} ${describeCondition(check.condition)}`;
    case "approve_if":
      return `approve_if ${describeCondition(check.condition)}: ${check.matches ? "matches, needs a human" : "no match"}`;
    case "schema":
      return check.problem ?? "arguments match the schema";
    case "limit":
      return `${check.used}${check.amount === 1 ? "" : ` + ${check.amount}`} of ${check.limit.max} per ${check.limit.window} used`;
    case "amount":
      return check.problem;
    case "shared":
      return `${check.amount === 1 ? "" : `${check.amount} against `}${check.limit.max} per ${check.limit.window}, counted in the shared store when forwarded`;
  }
}

/** The text an agent reads: "[POLICY DENIED] run: Shell commands are capped (10 per minute; retry in 23s)". */
export function denialText(verdict: Verdict): string {
  return `[POLICY DENIED] ${verdict.tool}: ${verdict.reason}`;
}

/**
 * The result a denied tools/call gets in place of the server's (SPEC §4); in protocol
 * 2026-07-28 (`modern`) every result says what it is, so it carries resultType "complete" (§10).
 */
export function denialResult(verdict: Verdict, modern = false): object {
  const meta: Record<string, unknown> = { decision: "deny", tool: verdict.tool, rule: verdict.rule, reason: verdict.reason };
  if (verdict.retryAfterMs !== undefined) meta.retryAfterMs = verdict.retryAfterMs;
  return {
    isError: true,
    content: [{ type: "text", text: denialText(verdict) }],
    _meta: { "mcpgate/decision": meta },
    ...(modern ? { resultType: "complete" } : {}),
  };
}

/** A verdict's fields in an audit `call` event. */
export interface AuditFields {
  tool: string;
  decision: Effect;
  rule: string;
  reason: string;
  retry_after_ms?: number;
}

/** The audit log's view of a verdict: its effect is the `decision` field. */
export function auditFields(verdict: Verdict): AuditFields {
  const fields: AuditFields = { tool: verdict.tool, decision: verdict.effect, rule: verdict.rule, reason: verdict.reason };
  if (verdict.retryAfterMs !== undefined) fields.retry_after_ms = verdict.retryAfterMs;
  return fields;
}

/** `mcpgate explain --json`: the verdict's fields, then every check with its words. */
export function explainJson(verdict: Verdict, checks: readonly Check[]): object {
  const { effect, tool, rule, reason, retryAfterMs } = verdict;
  return {
    effect,
    tool,
    rule,
    reason,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    checks: checks.map((check) => ({ rule: check.rule, passed: check.passed, detail: checkDetail(check) })),
  };
}
