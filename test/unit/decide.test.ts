// Decisions against compiled policies: hide → entry/default → action → limits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { consume, decide, denialResult, type Decision } from "../../src/policy/decide.ts";
import { parsePolicy } from "../../src/policy/load.ts";

function compile(yaml: string): CompiledPolicy {
  const result = parsePolicy(yaml);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return compilePolicy(result.policy);
}

/** Judges calls in order at the given times, consuming allowed ones as the relay does. */
function session(policy: CompiledPolicy): (tool: string, now?: number) => Decision {
  const counters = new Counters(policy.counters);
  return (tool, now = 0) => {
    const decision = decide(policy, counters, { name: tool, args: {} }, now);
    if (decision.effect === "allow") consume(decision, counters, now);
    return decision;
  };
}

describe("decide", () => {
  it("default deny: unlisted tools are denied, listed ones (even as {} or empty) allowed", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  a: {}\n  b:\n'));
    assert.equal(call("a").effect, "allow");
    assert.equal(call("b").effect, "allow");
    const denied = call("c");
    assert.deepEqual({ effect: denied.effect, rule: denied.rule }, { effect: "deny", rule: "default" });
  });

  it("default allow: unlisted tools are allowed, action: deny denies with the entry's reason", () => {
    const call = session(compile('version: "1"\ndefault: allow\ntools:\n  rm: { action: deny, reason: "never" }\n'));
    assert.equal(call("ls").effect, "allow");
    assert.deepEqual(call("rm"), { effect: "deny", tool: "rm", rule: "tools.rm", reason: "never", counters: [] });
  });

  it("hide wins over everything, by name or glob, and * hides all", () => {
    const call = session(compile('version: "1"\ndefault: allow\nhide: [secret, "kill_*"]\ntools:\n  secret: {}\n'));
    assert.equal(call("secret").rule, "hide[0]");
    assert.equal(call("kill_background").rule, "hide[1]");
    assert.equal(call("run").effect, "allow");
    const all = session(compile('version: "1"\ndefault: allow\nhide: ["*"]\n'));
    for (const tool of ["run", "a/b", ".dot", "__proto__"]) assert.equal(all(tool).effect, "deny", tool);
  });

  it("an exact name wins over globs; otherwise the first matching glob in file order", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  "read_*": { action: deny }\n  "*": {}\n  read_me: {}\n'));
    assert.equal(call("read_me").rule, "tools.read_me");
    assert.equal(call("read_file").rule, "tools.read_*");
    assert.equal(call("write_file").rule, "tools.*");
  });

  it("picks the first matching glob in file order, whatever groups the globs compile to", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  "@(git|svn)_*": { action: deny }\n  "{read,list}_*": {}\n  "git_*": {}\n  "*_file": { action: deny }\n  "*": {}\n'));
    assert.equal(call("git_push").rule, "tools.@(git|svn)_*");
    assert.equal(call("svn_commit").rule, "tools.@(git|svn)_*");
    assert.equal(call("read_file").rule, "tools.{read,list}_*");
    assert.equal(call("write_file").rule, "tools.*_file");
    assert.equal(call("anything").rule, "tools.*");
  });

  it("hide * and deny globs take every name: empty, dotted, slashed, with line terminators", () => {
    const hidden = session(compile('version: "1"\ndefault: allow\nhide: ["*"]\n'));
    const denied = session(compile('version: "1"\ndefault: allow\ntools:\n  "shell_*": { action: deny }\n  "?": { action: deny }\n'));
    for (const tool of ["", ".", "..", "a\nb", "x\u2028y", "run\r", "\u0085"]) assert.equal(hidden(tool).rule, "hide[0]", JSON.stringify(tool));
    for (const tool of ["shell_\u2028exec", "shell_\nexec", "shell_", "shell_../x"]) assert.equal(denied(tool).rule, "tools.shell_*", JSON.stringify(tool));
    for (const tool of ["/", "\n", "😀"]) assert.equal(denied(tool).rule, "tools.?", JSON.stringify(tool));
  });

  it("a class glob matches its characters, never its own text; an escaped glob character is literal", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  "tool_[ab]": {}\n  "lit_\\\\*[0-9]": { action: deny }\n  "lit_*": {}\n'));
    assert.equal(call("tool_a").rule, "tools.tool_[ab]");
    assert.equal(call("tool_[ab]").rule, "default");
    assert.equal(call("lit_*1").rule, "tools.lit_\\*[0-9]");
    assert.equal(call("lit_x1").rule, "tools.lit_*");
  });

  it("is safe for tool names such as __proto__, constructor and toString", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  run: {}\n'));
    for (const tool of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
      assert.equal(call(tool).rule, "default", tool);
    }
    const listed = session(compile('version: "1"\ndefault: allow\ntools:\n  __proto__: { action: deny }\n  constructor: { action: deny }\n'));
    assert.equal(listed("__proto__").rule, "tools.__proto__");
    assert.equal(listed("constructor").rule, "tools.constructor");
    assert.equal(listed("toString").effect, "allow");
  });

  it("PolicyLayer's published policy: 10 run_background a minute, then a denial with a retry hint", () => {
    const call = session(compile('{"version":"1","default":"deny","tools":{"run_background":{"limits":[{"counter":"run_background_rate","window":"minute","max":10,"scope":"grant"}]}}}'));
    for (let i = 0; i < 10; i++) assert.equal(call("run_background", i * 1000).effect, "allow");
    const denied = call("run_background", 37_000);
    assert.equal(denied.reason, "rate limit reached (10 per minute; retry in 23s)");
    assert.equal(denied.retryAfterMs, 23_000);
    assert.equal(denied.rule, "tools.run_background.limits[0]");
    assert.equal(call("run_background", 60_000).effect, "allow");
  });

  it("denied calls consume nothing", () => {
    const call = session(compile('version: "1"\ndefault: deny\nall_tools:\n  limits: ["3/minute"]\ntools:\n  a: { limits: ["1/minute"] }\n  b: {}\n'));
    assert.equal(call("a").effect, "allow");
    for (let i = 0; i < 5; i++) assert.equal(call("a").effect, "deny");
    assert.equal(call("b").effect, "allow");
    assert.equal(call("b").effect, "allow");
    const third = call("b");
    assert.equal(third.rule, "all_tools.limits[0]");
  });

  it("named counters are shared across entries, and counted once per call", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  run: { limits: [{ counter: shell, window: minute, max: 3 }] }\n  run_background: { limits: [{ counter: shell, window: minute, max: 3 }, { counter: shell, window: hour, max: 100 }] }\n'));
    assert.equal(call("run").effect, "allow");
    assert.equal(call("run_background").effect, "allow");
    assert.equal(call("run").effect, "allow");
    assert.equal(call("run_background").rule, "tools.run_background.limits[0]");
  });

  it("limits sharing a budget check and charge the same amount: four calls of 60 fit one per 100", () => {
    const policy = compile('version: "1"\ndefault: deny\ntools:\n  pay:\n    limits:\n      - { counter: money, max: 100, window: hour, increment_from: args.amount }\n      - { counter: money, max: 100, window: day, increment_from: args.amount }\n  refund: { limits: [{ counter: money, max: 1000, window: day, increment_from: args.amount }] }\n');
    const counters = new Counters(policy.counters);
    const pay = (tool: string, amount: number, now = 0): Decision => {
      const decision = decide(policy, counters, { name: tool, args: { amount } }, now);
      if (decision.effect === "allow") consume(decision, counters, now);
      return decision;
    };
    const effects = [0, 1, 2, 3].map((i) => pay("pay", 60, i * 1000).effect);
    assert.deepEqual(effects, ["allow", "deny", "deny", "deny"]);
    assert.equal(pay("pay", 40, 5000).effect, "allow", "60 + 40 is exactly 100");
    assert.equal(pay("pay", 1, 6000).rule, "tools.pay.limits[0]");
    // The other entry charges the same counter in the same measure.
    assert.equal(pay("refund", 900, 7000).effect, "allow");
    assert.equal(pay("refund", 1, 8000).rule, "tools.refund.limits[0]", "100 + 900 of 1000 a day spent");
  });

  it("a policy whose limits share a counter but count different things does not compile", () => {
    assert.throws(
      () => compilePolicy({ version: "1", default: "deny", tools: [["pay", { limits: [{ counter: "money", window: "hour", max: 100 }, { counter: "money", window: "hour", max: 100, increment_from: "args.amount" }] }]] }),
      { message: 'tools.pay.limits[1]: limits sharing the counter "money" count different things (calls and args.amount)' },
    );
  });

  it("uses the limit's message, else the entry's reason", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  a: { reason: "A is capped", limits: ["1/30s"] }\n  b: { limits: [{ window: 5m, max: 1, message: "one B per 5m" }] }\n'));
    call("a");
    call("b");
    assert.equal(call("a", 1000).reason, "A is capped (1 per 30s; retry in 29s)");
    assert.equal(call("b", 1000).reason, "one B per 5m (1 per 5m; retry in 4m 59s)");
  });

  it("action: approve without an approval channel is reported as approve, for the relay to deny", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  push: { action: approve, reason: "pushes need a human" }\n'));
    assert.equal(call("push").effect, "approve");
  });

  it("a denial result carries the text and a machine-readable decision", () => {
    const call = session(compile('version: "1"\ndefault: deny\ntools:\n  run: { reason: "Shell commands are capped", limits: ["10/minute"] }\n'));
    for (let i = 0; i < 10; i++) call("run", 0);
    assert.deepEqual(denialResult(call("run", 37_000)), {
      isError: true,
      content: [{ type: "text", text: "[POLICY DENIED] run: Shell commands are capped (10 per minute; retry in 23s)" }],
      _meta: { "mcpgate/decision": { decision: "deny", tool: "run", rule: "tools.run.limits[0]", reason: "Shell commands are capped (10 per minute; retry in 23s)", retryAfterMs: 23_000 } },
    });
  });
});
