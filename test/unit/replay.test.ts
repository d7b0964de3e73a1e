// Replaying recorded calls under a new policy (SPEC §12): limits on the recorded timestamps,
// fresh counters per session, hashed arguments undetermined under rules that read them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Counters } from "../../src/limits/counters.ts";
import { charge, evaluate } from "../../src/policy/evaluate.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { parsePolicy } from "../../src/policy/load.ts";
import { readAuditCalls, type RecordedCall } from "../../src/replay/read.ts";
import { argumentRules, replay } from "../../src/replay/replay.ts";
import { summaryText } from "../../src/cli/replay.ts";
import type { PinFacts } from "../../src/pins/facts.ts";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function compile(yaml: string): CompiledPolicy {
  const result = parsePolicy(yaml);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return compilePolicy(result.policy);
}

const T0 = Date.parse("2026-11-29T10:00:00.000Z");
let line = 0;
/** A recorded call `seconds` after T0. */
function rec(tool: string, seconds: number, options: { session?: string; recorded?: "allow" | "deny" | "approve"; args?: Record<string, unknown> } = {}): RecordedCall {
  const at = T0 + seconds * 1000;
  return { line: ++line, ts: new Date(at).toISOString(), at, session: options.session ?? "s1", tool, recorded: options.recorded ?? "allow", rule: "default", args: options.args };
}

const effects = (policy: CompiledPolicy, calls: RecordedCall[]): string[] =>
  replay(policy, calls).outcomes.map((outcome) => (outcome.status === "undetermined" ? "?" : outcome.verdict.effect));

describe("replay", () => {
  const twoPerMinute = compile('version: "1"\ndefault: deny\ntools:\n  run: { limits: ["2/minute"] }\n  read: {}\n');

  it("limits run on the recorded timestamps: the 3rd of 3 calls within a minute is denied, a 4th a minute later allowed", () => {
    const calls = [rec("run", 0, { args: {} }), rec("run", 10, { args: {} }), rec("run", 20, { args: {} }), rec("run", 70, { args: {} })];
    const result = replay(twoPerMinute, calls);
    assert.deepEqual(result.outcomes.map((outcome) => outcome.status), ["unchanged", "unchanged", "changed", "unchanged"]);
    const third = result.outcomes[2]!;
    assert.ok(third.status === "changed");
    assert.equal(third.verdict.effect, "deny");
    assert.equal(third.verdict.rule, "tools.run.limits[0]");
    // The window ending at 0:20 holds the calls at 0:00 and 0:10: the first leaves it at 1:00.
    assert.equal(third.verdict.retryAfterMs, 40_000);
    assert.deepEqual(
      { calls: result.summary.calls, unchanged: result.summary.unchanged, changed: result.summary.changed, allowToDeny: result.summary.allowToDeny },
      { calls: 4, unchanged: 3, changed: 1, allowToDeny: 1 },
    );
  });

  it("calls are judged in recorded time order, not file order", () => {
    // In file order the call at 0:00 comes last; judged by time it is the first, and 0:20 is the third.
    const calls = [rec("run", 20, { args: {} }), rec("run", 10, { args: {} }), rec("run", 0, { args: {} })];
    const { outcomes } = replay(twoPerMinute, calls);
    assert.deepEqual(outcomes.map((outcome) => outcome.call.at - T0), [0, 10_000, 20_000]);
    assert.deepEqual(effects(twoPerMinute, calls), ["allow", "allow", "deny"]);
  });

  it("two sessions are counted separately", () => {
    const calls = [rec("run", 0, { session: "a" }), rec("run", 1, { session: "b" }), rec("run", 2, { session: "a" }), rec("run", 3, { session: "b" }), rec("run", 4, { session: "a" })];
    const { outcomes, summary } = replay(twoPerMinute, calls);
    assert.deepEqual(
      outcomes.map((outcome) => `${outcome.call.session}:${outcome.status === "undetermined" ? "?" : outcome.verdict.effect}`),
      ["a:allow", "a:allow", "a:deny", "b:allow", "b:allow"],
    );
    assert.equal(summary.sessions, 2);
  });

  it("a denied call consumes nothing: a recorded call the new policy denies leaves room for the next", () => {
    const policy = compile('version: "1"\ndefault: deny\ntools:\n  run: { limits: [{ counter: c, window: minute, max: 1 }], deny_if: [{ path: args.x, op: eq, value: 1 }] }\n');
    assert.deepEqual(effects(policy, [rec("run", 0, { args: { x: 1 } }), rec("run", 1, { args: { x: 2 } })]), ["deny", "allow"]);
  });

  it("a tool newly hidden is denied by the hide rule, hashed arguments or not", () => {
    const policy = compile('version: "1"\ndefault: allow\nhide: [secret_*]\ntools:\n  secret_tool: { deny_if: [{ path: args.x, op: exists, value: true }] }\n');
    const { outcomes, summary } = replay(policy, [rec("secret_tool", 0), rec("secret_tool", 1, { args: {} })]);
    for (const outcome of outcomes) {
      assert.ok(outcome.status === "changed");
      assert.equal(outcome.verdict.rule, "hide[0]");
      assert.equal(outcome.verdict.effect, "deny");
    }
    assert.equal(summary.allowToDeny, 2);
  });

  it("hashed arguments under a rule that reads them: undetermined, naming the rule, and not charged", () => {
    const policy = compile(
      'version: "1"\ndefault: deny\nall_tools:\n  limits: [{ counter: all, window: minute, max: 1 }]\ntools:\n  write: { deny_if: [{ path: args.path, op: regex, value: "^/etc" }] }\n  read: {}\n',
    );
    const { outcomes, summary } = replay(policy, [rec("write", 0), rec("read", 1)]);
    const first = outcomes[0]!;
    assert.ok(first.status === "undetermined");
    assert.deepEqual(first.needs, ["tools.write.deny_if[0]"]);
    // The undetermined write consumed nothing of the shared counter: the read still fits.
    assert.equal(outcomes[1]!.status, "unchanged");
    assert.equal(summary.undetermined, 1);
    assert.equal(summary.unchanged, 1);
  });

  it("hashed arguments where no rule reads them: judged with empty arguments", () => {
    const policy = compile('version: "1"\ndefault: deny\ntools:\n  read: { limits: ["1/minute"] }\n');
    assert.deepEqual(effects(policy, [rec("read", 0), rec("read", 1), rec("other", 2)]), ["allow", "deny", "deny"]);
  });

  it("argumentRules: every kind of rule that reads arguments, in checking order; none where the call is decided first", () => {
    const policy = compile(
      [
        'version: "1"',
        "default: deny",
        "hide: [gone]",
        "all_tools:",
        "  require: [{ path: args.a, op: exists, value: true }]",
        "  approve_if: [{ path: args.b, op: eq, value: 1 }]",
        "tools:",
        "  pay:",
        "    schema: { type: object }",
        "    deny_if: [{ path: args.c, op: eq, value: 1 }]",
        "    limits: [{ window: day, max: 100, increment_from: args.amount }]",
        "    approve_if: [{ path: args.d, op: eq, value: 1 }]",
        "  ask: { action: approve, deny_if: [{ path: args.c, op: eq, value: 1 }] }",
        "  never: { action: deny }",
        "  gone: {}",
      ].join("\n"),
    );
    assert.deepEqual(argumentRules(policy, "pay"), ["all_tools.require[0]", "tools.pay.schema", "tools.pay.deny_if[0]", "tools.pay.limits[0]", "all_tools.approve_if[0]", "tools.pay.approve_if[0]"]);
    assert.deepEqual(argumentRules(policy, "ask"), ["all_tools.require[0]", "tools.ask.deny_if[0]"]);
    assert.deepEqual(argumentRules(policy, "never"), []);
    assert.deepEqual(argumentRules(policy, "gone"), []);
    assert.deepEqual(argumentRules(policy, "unlisted"), []);
  });

  it("a call the new policy would ask a human about is charged as if the human said yes", () => {
    const policy = compile('version: "1"\ndefault: deny\ntools:\n  push: { action: approve, limits: ["1/minute"] }\n');
    assert.deepEqual(effects(policy, [rec("push", 0, { recorded: "approve" }), rec("push", 1, { recorded: "approve" })]), ["approve", "deny"]);
  });

  it("a human asked is 'approve' on both sides: recorded approvals compare to the new approve verdict", () => {
    const policy = compile('version: "1"\ndefault: deny\ntools:\n  push: { action: approve }\n  read: {}\n');
    const { outcomes, summary } = replay(policy, [rec("push", 0, { recorded: "approve" }), rec("read", 1, { recorded: "approve" }), rec("push", 2, { recorded: "allow" })]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ["unchanged", "changed", "changed"]);
    assert.equal(summary.fromApprove, 1);
    assert.equal(summary.toApprove, 1);
    assert.equal(summaryText(summary), "Replayed 3 calls in 1 session: 1 unchanged, 2 changed (1 → approve, 1 approve →), 0 undetermined.");
  });
});

describe("replay with pins", () => {
  it("replays a call whose tool's pinned definition has changed as the pins in force say, only when the policy pins", () => {
    const command = ["node", "server.mjs"];
    const changed: PinFacts = { server: "abc", flagged: new Map([["read", { kind: "changed", change: "description changed", sha256: "f00" }]]), pinned: new Set(["read"]) };
    const pinsFor = (server: readonly string[], tool: string): PinFacts | undefined => (server.join(" ") === command.join(" ") && tool === "read" ? changed : undefined);
    const withServer = (call: RecordedCall): RecordedCall => ({ ...call, server: command });
    const pinning = compile('version: "1"\ndefault: allow\npins: { on_change: deny }\n');
    const { outcomes } = replay(pinning, [withServer(rec("read", 0)), withServer(rec("write", 1)), rec("read", 2)], pinsFor);
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === "undetermined" ? "?" : [outcome.verdict.effect, outcome.verdict.rule])),
      [["deny", "pins.on_change"], ["allow", "default"], ["allow", "default"]],
    );
    // A policy without pins reads none.
    const plain = compile('version: "1"\ndefault: allow\n');
    assert.deepEqual(effects(plain, [withServer(rec("read", 3))]), ["allow"]);
    assert.deepEqual(replay(plain, [withServer(rec("read", 4))], pinsFor).outcomes.map((outcome) => outcome.status), ["unchanged"]);
  });

  it("reads the server's command line from the record", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpgate-replay-"));
    const file = join(dir, "audit.jsonl");
    writeFileSync(file, `${JSON.stringify({ ts: "2026-11-29T10:00:00.000Z", session: "s", event: "call", tool: "read", decision: "allow", rule: "default", server: { name: "x", command: ["node", "server.mjs"] } })}\n`);
    const { calls } = readAuditCalls(readFileSync(file, "utf8"));
    assert.deepEqual(calls[0]!.server, ["node", "server.mjs"]);
  });
});

describe("replay under the policy that decided", () => {
  const policy = compile(
    [
      'version: "1"',
      "default: deny",
      "all_tools: { limits: [{ counter: all, window: 10s, max: 5 }] }",
      "tools:",
      '  run: { limits: ["2/3s"], deny_if: [{ path: args.n, op: eq, value: 0 }], approve_if: [{ path: args.n, op: gt, value: 2 }] }',
      "  read: {}",
      "  pay: { limits: [{ window: 5s, max: 4, increment_from: args.n }] }",
    ].join("\n"),
  );

  /** What the relay would have recorded: judged in order, a human saying yes to every ask. */
  function record(steps: Array<{ tool: string; n: number; gapMs: number; session: string }>): RecordedCall[] {
    const counters = new Map<string, Counters>();
    let now = T0;
    return steps.map(({ tool, n, gapMs, session }, index) => {
      now += gapMs;
      if (!counters.has(session)) counters.set(session, new Counters(policy.counters));
      const evaluation = evaluate(policy, { name: tool, args: { n } }, now, counters.get(session)!);
      if (evaluation.verdict.effect !== "deny") charge(counters.get(session)!, evaluation.charge, now);
      return { line: index + 1, ts: new Date(now).toISOString(), at: now, session, tool, recorded: evaluation.verdict.effect, rule: evaluation.verdict.rule, args: { n } };
    });
  }

  const steps = fc.array(
    fc.record({ tool: fc.constantFrom("run", "read", "pay", "other"), n: fc.integer({ min: 0, max: 4 }), gapMs: fc.integer({ min: 0, max: 1500 }), session: fc.constantFrom("a", "b") }),
    { maxLength: 40 },
  );

  it("with arguments recorded, no decision changes", () => {
    fc.assert(
      fc.property(steps, (list) => {
        const { summary } = replay(policy, record(list));
        assert.equal(summary.changed, 0);
        assert.equal(summary.unchanged, list.length);
      }),
    );
  });

  it("with only hashes, exactly the calls of tools with argument rules are undetermined", () => {
    const hashedOnly = compile('version: "1"\ndefault: deny\ntools:\n  read: { limits: ["2/3s"] }\n  run: { deny_if: [{ path: args.n, op: eq, value: 0 }] }\n');
    fc.assert(
      fc.property(steps, (list) => {
        const { outcomes, summary } = replay(hashedOnly, record(list).map((call) => ({ ...call, args: undefined })));
        for (const outcome of outcomes) assert.equal(outcome.status === "undetermined", outcome.call.tool === "run");
        assert.equal(summary.undetermined, list.filter((step) => step.tool === "run").length);
      }),
    );
  });
});

describe("readAuditCalls", () => {
  it("reads call events with their line numbers; reports malformed lines; skips other events", () => {
    const text = [
      JSON.stringify({ ts: "2026-11-29T10:00:00.000Z", session: "s", event: "start", version: "1" }),
      "{not json",
      JSON.stringify({ ts: "2026-11-29T10:00:01.000Z", session: "s", event: "call", tool: "run", decision: "allow", rule: "tools.run", args_sha256: "ab" }),
      "",
      JSON.stringify({ ts: "2026-11-29T10:00:02.000Z", session: "s", event: "call", tool: "run", decision: "deny", rule: "tools.run.limits[0]", args: { a: 1 } }),
      JSON.stringify({ ts: "2026-11-29T10:00:03.000Z", session: "s", event: "call", tool: "push", decision: "allow", rule: "tools.push", approval: "accepted", args_sha256: "cd" }),
      JSON.stringify({ ts: "yesterday", session: "s", event: "call", tool: "run", decision: "allow" }),
      JSON.stringify({ ts: "2026-11-29T10:00:04.000Z", event: "call", tool: "x", decision: "deny", reason: "needs a human: a human's approval is required, and no approval channel exists (…)" }),
      "[1]",
    ].join("\n");
    const { calls, problems } = readAuditCalls(text);
    assert.deepEqual(
      calls.map((call) => [call.line, call.session, call.tool, call.recorded, call.args]),
      [
        [3, "s", "run", "allow", undefined],
        [5, "s", "run", "deny", { a: 1 }],
        [6, "s", "push", "approve", undefined],
        [8, "(no session)", "x", "approve", undefined],
      ],
    );
    assert.equal(calls[0]!.at, Date.parse("2026-11-29T10:00:01.000Z"));
    // A forwarded call is judged when it starts: its event's time less its duration.
    assert.equal(readAuditCalls(JSON.stringify({ ts: "2026-11-29T10:00:10.000Z", event: "call", tool: "t", decision: "allow", duration_ms: 2500 })).calls[0]!.at, Date.parse("2026-11-29T10:00:07.500Z"));
    assert.deepEqual(problems.map((problem) => problem.line), [2, 7, 9]);
    assert.match(problems[1]!.message, /"ts" as an ISO time, got "yesterday"/);
    assert.match(problems[2]!.message, /expected a JSON object, got an array/);
  });
});
