// The pure parts of global limits and refunds (SPEC §14, §3): what evaluate() leaves to the
// store, what a store call asks, what a failed call gives back, how replay counts global limits,
// and what `mcpgate counters` peeks. The store itself is tested against redis-server (e2e).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { checkDetail } from "../../src/policy/decision.ts";
import { chargeForward, evaluate, giveBack } from "../../src/policy/evaluate.ts";
import { parsePolicy } from "../../src/policy/load.ts";
import { outcomeOf } from "../../src/policy/verdict.ts";
import { policyWarnings } from "../../src/policy/warnings.ts";
import { storeCall } from "../../src/relay/shared-counts.ts";
import { refundOf } from "../../src/relay/store-waits.ts";
import { peekCalls } from "../../src/cli/counters.ts";
import { replay } from "../../src/replay/replay.ts";
import type { RecordedCall } from "../../src/replay/read.ts";

function compile(yaml: string): CompiledPolicy {
  const result = parsePolicy(yaml);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return compilePolicy(result.policy);
}

const PAY = `version: "1"
default: deny
store: redis://127.0.0.1:6379
all_tools:
  limits: [{ counter: everything, max: 1000, window: day, scope: global }]
tools:
  pay:
    limits:
      - { counter: money, max: 100, window: hour, increment_from: args.amount, scope: global, refund: on_error }
      - { counter: money, max: 500, window: day, increment_from: args.amount, scope: global, refund: on_error }
      - { counter: pay_rate, max: 2, window: minute, refund: on_error }
      - { max: 5, window: minute }
`;

describe("global limits in the pure core", () => {
  it("evaluate leaves global limits to the store: the call's shared charge, and only session counters here", () => {
    const policy = compile(PAY);
    const counters = new Counters(policy.counters);
    const evaluation = evaluate(policy, { name: "pay", args: { amount: 60 } }, 0, counters);
    assert.equal(evaluation.verdict.effect, "allow");
    assert.deepEqual(evaluation.charge.map((item) => item.counter), ["counter:pay_rate", "tools.pay.limits[3]"]);
    assert.deepEqual(evaluation.shared?.charge, [
      { counter: "global:everything", amount: 1 },
      { counter: "global:money", amount: 60 },
    ]);
    assert.deepEqual(evaluation.shared?.limits.map((limit) => limit.rule), ["all_tools.limits[0]", "tools.pay.limits[0]", "tools.pay.limits[1]"]);
    const shared = evaluation.checks.filter((check) => check.kind === "shared");
    assert.deepEqual(shared.map(checkDetail), [
      "1000 per day, counted in the shared store when forwarded",
      "60 against 100 per hour, counted in the shared store when forwarded",
      "60 against 500 per day, counted in the shared store when forwarded",
    ]);
    // No log of a global counter lives in the gateway.
    assert.throws(() => counters.get("global:money"), /no counter named global:money/);
  });

  it("a global budget's bad amount is denied here, before the store is asked", () => {
    const policy = compile(PAY);
    const evaluation = evaluate(policy, { name: "pay", args: { amount: "lots" } }, 0, new Counters(policy.counters));
    assert.equal(evaluation.verdict.effect, "deny");
    assert.equal(evaluation.verdict.rule, "tools.pay.limits[0]");
    assert.equal(evaluation.shared, undefined);
  });

  it("outcomeOf forwards through the store (allowed, or allowed for the session), never in a dry run's would-deny", () => {
    const policy = compile(PAY);
    const evaluation = evaluate(policy, { name: "pay", args: { amount: 1 } }, 0, new Counters(policy.counters));
    assert.equal(outcomeOf(evaluation, { sessionAllowed: false, channel: "none", dryRun: false }).shared, evaluation.shared);
    const approve = { ...evaluation, verdict: { ...evaluation.verdict, effect: "approve" as const } };
    assert.equal(outcomeOf(approve, { sessionAllowed: true, channel: "none", dryRun: false }).shared, evaluation.shared);
    assert.equal(outcomeOf(approve, { sessionAllowed: false, channel: "elicitation", dryRun: false }).shared, undefined);
    assert.equal(outcomeOf(approve, { sessionAllowed: false, channel: "none", dryRun: true }).shared, undefined);
  });

  it("a store call names each counter once, with its capacity and horizon, and each limit by its counter's index", () => {
    const policy = compile(PAY);
    const { shared } = evaluate(policy, { name: "pay", args: { amount: 60 } }, 0, new Counters(policy.counters));
    assert.deepEqual(storeCall(policy, shared!), {
      counters: [
        { counter: "global:everything", amount: 1, capacity: 1000, horizonMs: 86_400_000 },
        // A budget's log has room beyond max, as in memory.
        { counter: "global:money", amount: 60, capacity: 10_000, horizonMs: 86_400_000 },
      ],
      limits: [
        { counter: 0, windowMs: 86_400_000, max: 1000 },
        { counter: 1, windowMs: 3_600_000, max: 100 },
        { counter: 1, windowMs: 86_400_000, max: 500 },
      ],
    });
  });

  it("what a failed call gives back: only counters with refund: on_error, here and in the store; giveBack restores the log exactly", () => {
    const policy = compile(PAY);
    const counters = new Counters(policy.counters);
    const evaluation = evaluate(policy, { name: "pay", args: { amount: 60 } }, 0, counters);
    const taken = chargeForward(counters, evaluation.charge, 0, evaluation.shared, policy.refunds)!;
    assert.equal(taken.length, 2);
    const refund = refundOf(policy, taken, { id: "x.1", entries: [{ counter: "global:everything", amount: 1 }, { counter: "global:money", amount: 60 }] });
    assert.deepEqual(refund?.session?.map((item) => item.refundable), [true]);
    assert.deepEqual(refund?.store, { id: "x.1", entries: [{ counter: "global:money", amount: 60 }] });
    assert.equal(counters.get("counter:pay_rate").used(0, 60_000), 1);
    giveBack(refund!.session!);
    assert.equal(counters.get("counter:pay_rate").used(0, 60_000), 0);
    assert.equal(counters.get("tools.pay.limits[3]").used(0, 60_000), 1, "a counter without refund keeps the call");
    // Without a store and without refunds, nothing is kept: charge() alone, as before.
    const plain = compile('version: "1"\ndefault: allow\ntools:\n  run: { limits: ["5/minute"] }\n');
    const plainCounters = new Counters(plain.counters);
    const due = evaluate(plain, { name: "run", args: {} }, 0, plainCounters).charge;
    assert.equal(chargeForward(plainCounters, due, 0, undefined, plain.refunds), undefined);
    assert.equal(plainCounters.get("tools.run.limits[0]").used(0, 60_000), 1);
  });

  it("check warns about global limits with no store, unless MCPGATE_STORE is set", () => {
    const policy = compile('version: "1"\ndefault: deny\ntools:\n  run: { limits: [{ counter: c, max: 1, window: hour, scope: global }] }\n');
    assert.match(policyWarnings(policy, {}).join("\n"), /scope: global limits but names no store/);
    assert.deepEqual(policyWarnings(policy, { MCPGATE_STORE: "redis://x:1" }), []);
    assert.deepEqual(policyWarnings(compile(PAY), {}), []);
  });

  it("mcpgate counters peeks each global counter once, each distinct limit once", () => {
    const policy = compile(`${PAY}  pay_more: { limits: [{ counter: money, max: 100, window: hour, increment_from: args.amount, scope: global, refund: on_error }] }\n`);
    const calls = peekCalls(policy);
    assert.deepEqual(
      calls.map(({ call, limits }) => [call.counters[0]!.counter, limits.map((limit) => limit.rule)]),
      [
        ["global:everything", ["all_tools.limits[0]"]],
        ["global:money", ["tools.pay.limits[0]", "tools.pay.limits[1]"]],
      ],
    );
  });

  it("replay counts a global limit over every session of the log, in recorded time order", () => {
    const policy = compile('version: "1"\ndefault: deny\nstore: redis://127.0.0.1:1\ntools:\n  run: { limits: [{ counter: c, max: 2, window: hour, scope: global }] }\n  solo: { limits: ["2/hour"] }\n');
    let line = 0;
    const rec = (session: string, tool: string, seconds: number): RecordedCall => ({ line: ++line, ts: "", at: seconds * 1000, session, tool, recorded: "allow", rule: "default", args: {} });
    // Sessions a and b interleave: the third run in time (b at 20 s) is the one denied.
    const calls = [rec("a", "run", 0), rec("a", "run", 30), rec("b", "run", 10), rec("b", "run", 20), rec("a", "solo", 1), rec("b", "solo", 2), rec("a", "solo", 3)];
    const { outcomes, summary } = replay(policy, calls);
    const effects = outcomes.map((outcome) => `${outcome.call.session} ${outcome.call.tool}@${outcome.call.at / 1000} ${outcome.status === "undetermined" ? "?" : outcome.verdict.effect}`);
    assert.deepEqual(effects, ["a run@0 allow", "a solo@1 allow", "a solo@3 allow", "a run@30 deny", "b solo@2 allow", "b run@10 allow", "b run@20 deny"]);
    assert.equal(summary.allowToDeny, 2);
  });
});
