// Turns a validated policy document into plain data and matchers, once, at load. The hot path
// (evaluate.ts) touches only this compiled form.
import type { Charge, Check, Verdict } from "./decision.ts";
import { compileCondition, type CompiledCondition, type ConditionDocument } from "./conditions.ts";
import { parseWindow } from "./duration.ts";
import { LimitCompiler, sessionCounters, sharedLimits } from "./compile-limits.ts";
import { makeMatcher } from "./glob-match.ts";
import { schemaCompiler, type LimitObject, type PolicyDocument } from "./schema.ts";
import { storeSettings, type StoreSettings } from "./store-schema.ts";
import { schemaCheck } from "./schema-check.ts";
import { pinSettings, type PinSettings } from "../pins/verdict.ts";
import { compileRedaction, type CompiledRedaction } from "../redact/settings.ts";

export type Action = "allow" | "deny" | "approve";

export interface CompiledLimit {
  /** Where it came from, e.g. "tools.run.limits[0]". */
  rule: string;
  /** The counter it counts on: shared by name, else its own. */
  counter: string;
  window: string;
  windowMs: number;
  max: number;
  /** Path segments of increment_from: the call adds that argument instead of 1. */
  incrementFrom?: { path: string; segments: string[] };
  message?: string;
  /** scope: global — judged and counted in the shared store (SPEC §14), not in this gateway. */
  global?: true;
}

/** A condition of a rule list, with the check records of both its outcomes built once. */
export interface RuleCondition extends CompiledCondition {
  whenTrue: Check;
  whenFalse: Check;
}

/** Argument rules of all_tools or of an entry. */
export interface Rules {
  require: RuleCondition[];
  denyIf: RuleCondition[];
  approveIf: RuleCondition[];
}

export interface CompiledEntry {
  /** The key as written: a tool name or a glob. */
  key: string;
  rule: string;
  action: Action;
  reason?: string;
  limits: CompiledLimit[];
  /** What a call through this entry is checked against: all_tools' limits, then its own. */
  checks: CompiledLimit[];
  /** The distinct counters of this gateway a forwarded call counts on, once each. */
  counters: string[];
  /** Those counters, each charged 1: a call's charge unless a limit counts an argument (budget). */
  unitCharge: Charge;
  /** The global limits among `checks` and their counters, judged in the store: absent when none. */
  shared?: SharedLimits;
  /** Whether any of `checks` counts an argument (increment_from), so the charge varies by call. */
  budget: boolean;
  rules: Rules;
  /** The arguments' JSON Schema, compiled once: why the arguments fail it, or undefined. */
  schemaProblem?: (args: unknown) => string | undefined;
  /** The checks every call through this entry passes, built once (evaluate.ts records them). */
  passed: { entry: Check; schema: Check };
  /** The verdict that allows a call through this entry, built once; for a glob, the tool is the call's. */
  allow: Verdict;
  /** How its results are redacted (all_tools' redact merged with its own), if they are. */
  redaction?: CompiledRedaction;
}

/** Limits counted in the shared store, and the distinct counters they count on. */
export interface SharedLimits {
  limits: CompiledLimit[];
  counters: string[];
}

export interface CounterSpec {
  capacity: number;
  horizonMs: number;
  weighted?: boolean;
  /** Kept in the shared store (scope: global), under the counter's name; its key is a gateway's own otherwise. */
  global?: true;
  /** refund: on_error — a failed call's charge is given back. */
  refund?: true;
  /** Every window of a limit on this counter, distinct, ascending: part of its identity on reload. */
  windowsMs: number[];
}

export interface CompiledPolicy {
  defaultEffect: "allow" | "deny";
  allToolsLimits: CompiledLimit[];
  /** The distinct counters of all_tools' limits (for calls that no entry matches). */
  allToolsCounters: string[];
  allToolsUnitCharge: Charge;
  allToolsBudget: boolean;
  allToolsShared?: SharedLimits;
  allToolsRules: Rules;
  includeArgs: boolean;
  approval: { timeoutMs: number; offerSession: boolean };
  counters: Map<string, CounterSpec>;
  /** Whether any limit is scope: global, so calls may need the store. */
  global: boolean;
  /** Every scope: global limit, in file order (mcpgate counters). */
  sharedLimits: readonly CompiledLimit[];
  /** Whether any counter gives a failed call's charge back (refund: on_error). */
  refunds: boolean;
  store: StoreSettings;
  entryCount: number;
  /** The hide patterns as written, in order: a reload that changes them changes what tools/list shows. */
  hide: readonly string[];
  /** Whether any tool is hidden, so tools/list responses need filtering at all. */
  hides: boolean;
  /** The hide rule that hides `tool` ("hide[2]"), if any. */
  hiddenBy(tool: string): string | undefined;
  /** The entry for `tool`: an exact name wins, else the first matching glob in file order. */
  entryFor(tool: string): CompiledEntry | undefined;
  /** Pinning of tool definitions (SPEC §13): absent when the policy has no `pins`. */
  pins?: PinSettings;
  /** Whether any result or log message is redacted, so server lines need looking at for it at all. */
  redacts: boolean;
  /** How the results of `tool` are redacted, if they are (SPEC §13). */
  redactionFor(tool: string): CompiledRedaction | undefined;
  /** How the server's log messages (notifications/message) are redacted: all_tools' redact. */
  logRedaction: CompiledRedaction | undefined;
}

/** Below the 60 s request timeout of common clients, so the agent gets our denial, not theirs. */
const DEFAULT_APPROVAL_TIMEOUT_MS = 50_000;

function ruleCondition(document: ConditionDocument, rule: string, kind: "require" | "deny_if" | "approve_if"): RuleCondition {
  const condition = compileCondition(document, rule) as RuleCondition;
  const outcome = (holds: boolean): Check =>
    Object.freeze(kind === "approve_if" ? { kind, rule, passed: true as const, condition, matches: holds } : { kind, rule, passed: kind === "require" ? holds : !holds, condition });
  condition.whenTrue = outcome(true);
  condition.whenFalse = outcome(false);
  return condition;
}

/** Shared by every call through an entry, so frozen: a reader cannot change another call's charge. */
const unitCharge = (counters: string[]): Charge => Object.freeze(counters.map((counter) => Object.freeze({ counter, amount: 1 })));
const hasBudget = (limits: CompiledLimit[]): boolean => limits.some((limit) => limit.incrementFrom !== undefined);

export function compilePolicy(doc: PolicyDocument): CompiledPolicy {
  const limits = new LimitCompiler();
  const compileLimits = (list: LimitObject[] | undefined, at: string): CompiledLimit[] => limits.compile(list, at);
  const counters = limits.counters;
  const allToolsLimits = compileLimits(doc.all_tools?.limits, "all_tools");
  const allToolsRedaction = compileRedaction(doc.all_tools?.redact, undefined, "all_tools.redact");
  const compileRules = (rules: { require?: ConditionDocument[]; deny_if?: ConditionDocument[]; approve_if?: ConditionDocument[] } | undefined, at: string): Rules => ({
    require: (rules?.require ?? []).map((condition, index) => ruleCondition(condition, `${at}.require[${index}]`, "require")),
    denyIf: (rules?.deny_if ?? []).map((condition, index) => ruleCondition(condition, `${at}.deny_if[${index}]`, "deny_if")),
    approveIf: (rules?.approve_if ?? []).map((condition, index) => ruleCondition(condition, `${at}.approve_if[${index}]`, "approve_if")),
  });
  const distinctCounters = sessionCounters;
  const entries: Array<[string, CompiledEntry]> = doc.tools.map(([key, entry]) => {
    const rule = `tools.${key}`;
    const own = compileLimits(entry.limits, rule);
    const checks = [...allToolsLimits, ...own];
    const counted = distinctCounters(checks);
    // Completed below: its verdict and check records, built once, point back at it.
    const compiled = { key, rule, action: entry.action ?? "allow", limits: own, checks, counters: counted, unitCharge: unitCharge(counted), budget: hasBudget(checks), rules: compileRules(entry, rule) } as CompiledEntry;
    compiled.allow = Object.freeze({ effect: "allow", tool: key, rule, reason: `allowed by ${rule}` });
    compiled.passed = {
      entry: Object.freeze({ kind: "entry", rule, passed: true, entry: compiled, defaultEffect: doc.default }),
      schema: Object.freeze({ kind: "schema", rule: `${rule}.schema`, passed: true, problem: undefined }),
    };
    if (entry.reason !== undefined) compiled.reason = entry.reason;
    const shared = sharedLimits(checks);
    if (shared !== undefined) compiled.shared = shared;
    if (entry.schema !== undefined) compiled.schemaProblem = schemaCheck(schemaCompiler().compile(entry.schema), entry.schema);
    const redaction = entry.redact === undefined ? allToolsRedaction : compileRedaction(doc.all_tools?.redact, entry.redact, `${rule}.redact`);
    if (redaction !== undefined) compiled.redaction = redaction;
    return [key, compiled];
  });
  const allToolsCounters = distinctCounters(allToolsLimits);
  const allToolsShared = sharedLimits(allToolsLimits);
  const specs = [...counters.values()];
  const hidden = makeMatcher((doc.hide ?? []).map((pattern, index): [string, string] => [pattern, `hide[${index}]`]));
  const entryFor = makeMatcher(entries);

  return {
    defaultEffect: doc.default,
    allToolsLimits,
    allToolsCounters,
    allToolsUnitCharge: unitCharge(allToolsCounters),
    allToolsBudget: hasBudget(allToolsLimits),
    ...(allToolsShared === undefined ? {} : { allToolsShared }),
    allToolsRules: compileRules(doc.all_tools, "all_tools"),
    includeArgs: doc.audit?.include_args === true,
    approval: {
      timeoutMs: doc.approval?.timeout === undefined ? DEFAULT_APPROVAL_TIMEOUT_MS : parseWindow(doc.approval.timeout)!,
      offerSession: doc.approval?.offer_session ?? true,
    },
    counters,
    global: limits.shared.length > 0,
    sharedLimits: limits.shared,
    refunds: specs.some((spec) => spec.refund === true),
    store: storeSettings(doc),
    entryCount: entries.length,
    hide: Object.freeze([...(doc.hide ?? [])]),
    hides: (doc.hide ?? []).length > 0,
    hiddenBy: hidden,
    entryFor,
    redacts: allToolsRedaction !== undefined || entries.some(([, entry]) => entry.redaction !== undefined),
    redactionFor: (tool) => {
      const entry = entryFor(tool);
      return entry === undefined ? allToolsRedaction : entry.redaction;
    },
    logRedaction: allToolsRedaction,
    ...(doc.pins === undefined ? {} : { pins: pinSettings(doc.pins) }),
  };
}
