// Re-deciding recorded calls under another policy, as a pure function: recorded calls and a
// compiled policy in, one outcome per call and a summary out. Each session gets fresh counters
// and its calls are judged in recorded time order at their recorded times, so limits behave
// as they would have. What is charged:
// - a call the new policy allows, at its recorded time (the relay would have forwarded it);
// - a call it would put to a human ("approve"), as if the human said yes: limits are checked
//   before asking, and a yes is the usual answer, so replay errs towards counting;
// - nothing for a denied call, nor for an undetermined one (its arguments, hence whether and
//   how much it counts, are unknown), so later limit outcomes in that session count only the
//   calls replay could decide.
// Calls are judged in recorded time order across sessions, each session with counters of its
// own; global limits (scope: global) count the calls of every session (shared.ts).
import { Counters } from "../limits/counters.ts";
import type { CompiledPolicy, Rules } from "../policy/compile.ts";
import type { Effect, Verdict } from "../policy/decision.ts";
import { charge, evaluate } from "../policy/evaluate.ts";
import type { PinFacts } from "../pins/facts.ts";
import { ReplayedStore } from "./shared.ts";
import type { RecordedCall } from "./read.ts";

/** What became of one recorded call under the new policy. */
export type ReplayOutcome =
  | { status: "unchanged" | "changed"; call: RecordedCall; verdict: Verdict }
  /** Rules that read arguments apply, and only the arguments' hash was recorded. */
  | { status: "undetermined"; call: RecordedCall; needs: string[] };

export interface ReplaySummary {
  calls: number;
  sessions: number;
  unchanged: number;
  changed: number;
  undetermined: number;
  allowToDeny: number;
  denyToAllow: number;
  /** allow or deny → approve: a human would now be asked. */
  toApprove: number;
  /** approve → allow or deny: a human was asked, and would no longer be. */
  fromApprove: number;
}

export interface Replay {
  /** Session by session (in order of first appearance), each in recorded time order. */
  outcomes: ReplayOutcome[];
  summary: ReplaySummary;
}

/** The rules of require and deny_if, which every call through them is checked against. */
const denyingRules = (rules: Rules): string[] => [...rules.require, ...rules.denyIf].map((condition) => condition.rule);

/**
 * The rules of `policy` that would read the arguments of a call to `tool`, in the order they
 * are checked; none when the call is decided before any of them (hidden, default deny,
 * action: deny). approve_if is not read under action: approve, which asks a human anyway.
 */
export function argumentRules(policy: CompiledPolicy, tool: string): string[] {
  if (policy.hiddenBy(tool) !== undefined) return [];
  const entry = policy.entryFor(tool);
  if (entry === undefined && policy.defaultEffect === "deny") return [];
  if (entry?.action === "deny") return [];
  const approval = entry?.action !== "approve";
  const rules = [...denyingRules(policy.allToolsRules)];
  if (entry?.schemaProblem !== undefined) rules.push(entry.passed.schema.rule);
  if (entry !== undefined) rules.push(...denyingRules(entry.rules));
  for (const limit of entry?.checks ?? policy.allToolsLimits) if (limit.incrementFrom !== undefined) rules.push(limit.rule);
  if (approval) rules.push(...policy.allToolsRules.approveIf.map((condition) => condition.rule));
  if (approval && entry !== undefined) rules.push(...entry.rules.approveIf.map((condition) => condition.rule));
  return rules;
}

/** Calls grouped by session (first appearance first), each group sorted by time, then line. */
export function bySession(calls: readonly RecordedCall[]): RecordedCall[][] {
  const groups = new Map<string, RecordedCall[]>();
  for (const call of calls) {
    const group = groups.get(call.session);
    if (group === undefined) groups.set(call.session, [call]);
    else group.push(call);
  }
  return [...groups.values()].map((group) => group.sort((a, b) => a.at - b.at || a.line - b.line));
}

function tally(summary: ReplaySummary, recorded: Effect, now: Effect): void {
  if (recorded === now) {
    summary.unchanged++;
    return;
  }
  summary.changed++;
  if (now === "approve") summary.toApprove++;
  else if (recorded === "approve") summary.fromApprove++;
  else if (now === "deny") summary.allowToDeny++;
  else summary.denyToAllow++;
}

/** Re-decides every call in `calls` under `policy`. */
/**
 * What the pins stored now say about `tool` of the server run as `command` (SPEC §13), when the
 * policy pins: a call a changed definition would deny is replayed as denied.
 */
export type PinsFor = (command: readonly string[], tool: string) => PinFacts | undefined;

export function replay(policy: CompiledPolicy, calls: readonly RecordedCall[], pinsFor?: PinsFor): Replay {
  const sessions = bySession(calls);
  const summary: ReplaySummary = { calls: calls.length, sessions: sessions.length, unchanged: 0, changed: 0, undetermined: 0, allowToDeny: 0, denyToAllow: 0, toApprove: 0, fromApprove: 0 };
  const decided = new Map<RecordedCall, ReplayOutcome>();
  const needsCache = new Map<string, string[]>();
  const counters = new Map<string, Counters>();
  const store = new ReplayedStore(policy);
  // In recorded time order across sessions: global counters are shared by all of them.
  const order = sessions.flatMap((session, index) => session.map((call, at) => ({ call, index, at })));
  order.sort((a, b) => a.call.at - b.call.at || a.index - b.index || a.at - b.at);
  for (const { call } of order) {
    let args: Record<string, unknown> = call.args ?? {};
    if (call.args === undefined) {
      let needs = needsCache.get(call.tool);
      if (needs === undefined) needsCache.set(call.tool, (needs = argumentRules(policy, call.tool)));
      if (needs.length > 0) {
        decided.set(call, { status: "undetermined", call, needs });
        continue;
      }
      args = {};
    }
    let session = counters.get(call.session);
    if (session === undefined) counters.set(call.session, (session = new Counters(policy.counters)));
    const pins = policy.pins === undefined || pinsFor === undefined || call.server === undefined ? undefined : pinsFor(call.server, call.tool);
    const evaluation = evaluate(policy, { name: call.tool, args }, call.at, session, pins);
    const { shared } = evaluation;
    const verdict = shared === undefined || evaluation.verdict.effect === "deny" ? evaluation.verdict : store.judge(shared, evaluation.verdict, call.at);
    if (verdict.effect !== "deny") {
      charge(session, evaluation.charge, call.at);
      if (shared !== undefined) store.charge(shared, call.at);
    }
    decided.set(call, { status: verdict.effect === call.recorded ? "unchanged" : "changed", call, verdict });
  }
  const outcomes = sessions.flat().map((call) => decided.get(call)!);
  for (const outcome of outcomes) {
    if (outcome.status === "undetermined") summary.undetermined++;
    else tally(summary, outcome.call.recorded, outcome.verdict.effect);
  }
  return { outcomes, summary };
}
