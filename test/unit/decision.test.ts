// A decision's projections: what the agent reads, what the audit log records, what explain prints.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { auditFields, denialResult, denialText, explainJson, type Verdict } from "../../src/policy/decision.ts";
import { charge, evaluate } from "../../src/policy/evaluate.ts";
import { parsePolicy } from "../../src/policy/load.ts";

function compile(yaml: string): CompiledPolicy {
  const result = parsePolicy(yaml);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return compilePolicy(result.policy);
}

const LIMITED: Verdict = { effect: "deny", tool: "run", rule: "tools.run.limits[0]", reason: "Shell commands are capped (10 per minute; retry in 23s)", retryAfterMs: 23_000 };
const HIDDEN: Verdict = { effect: "deny", tool: "secret", rule: "hide[0]", reason: "this tool is hidden by policy" };

describe("the decision's projections", () => {
  it("the denial text and result (SPEC §4), the retry hint only when there is one", () => {
    assert.equal(denialText(LIMITED), "[POLICY DENIED] run: Shell commands are capped (10 per minute; retry in 23s)");
    assert.deepEqual(denialResult(HIDDEN), {
      isError: true,
      content: [{ type: "text", text: "[POLICY DENIED] secret: this tool is hidden by policy" }],
      _meta: { "mcpgate/decision": { decision: "deny", tool: "secret", rule: "hide[0]", reason: "this tool is hidden by policy" } },
    });
  });

  it("the audit fields: the effect as decision, retry_after_ms only when there is one", () => {
    assert.deepEqual(auditFields(LIMITED), { tool: "run", decision: "deny", rule: "tools.run.limits[0]", reason: LIMITED.reason, retry_after_ms: 23_000 });
    assert.deepEqual(auditFields({ effect: "approve", tool: "push", rule: "tools.push", reason: "r" }), { tool: "push", decision: "approve", rule: "tools.push", reason: "r" });
  });

  it("explain's JSON: the verdict, then every check in words", () => {
    const policy = compile(`version: "1"
default: deny
all_tools:
  require: [{ path: args.command, op: exists }]
tools:
  run:
    schema: { type: object }
    deny_if: [{ path: args.command, op: regex, value: "^rm" }]
    approve_if: [{ path: args.command, op: regex, value: "^git push" }]
    limits: [{ window: minute, max: 2 }, { counter: money, window: hour, max: 10, increment_from: args.cost }]
`);
    const counters = new Counters(policy.counters);
    charge(counters, evaluate(policy, { name: "run", args: { command: "ls", cost: 3 } }, 0, counters).charge, 0);
    const { verdict, checks } = evaluate(policy, { name: "run", args: { command: "git push", cost: 2 } }, 1_000, counters);
    assert.deepEqual(explainJson(verdict, checks), {
      effect: "approve",
      tool: "run",
      rule: "tools.run.approve_if[0]",
      reason: 'args.command regex "^git push" needs a human\'s approval',
      checks: [
        { rule: "hide", passed: true, detail: "not hidden" },
        { rule: "tools.run", passed: true, detail: 'entry "run", action: allow' },
        { rule: "all_tools.require[0]", passed: true, detail: "require args.command exists" },
        { rule: "tools.run.schema", passed: true, detail: "arguments match the schema" },
        { rule: "tools.run.deny_if[0]", passed: true, detail: 'deny_if args.command regex "^rm"' },
        { rule: "tools.run.limits[0]", passed: true, detail: "1 of 2 per minute used" },
        { rule: "tools.run.limits[1]", passed: true, detail: "3 + 2 of 10 per hour used" },
        { rule: "tools.run.approve_if[0]", passed: true, detail: 'approve_if args.command regex "^git push": matches, needs a human' },
      ],
    });
    const denied = evaluate(policy, { name: "run", args: { command: "ls", cost: "x" } }, 1_000, counters);
    assert.deepEqual(explainJson(denied.verdict, denied.checks), {
      effect: "deny",
      tool: "run",
      rule: "tools.run.limits[1]",
      reason: "args.cost must be a finite number >= 0 for the budget tools.run.limits[1], got a string of 1 character",
      checks: [
        { rule: "hide", passed: true, detail: "not hidden" },
        { rule: "tools.run", passed: true, detail: 'entry "run", action: allow' },
        { rule: "all_tools.require[0]", passed: true, detail: "require args.command exists" },
        { rule: "tools.run.schema", passed: true, detail: "arguments match the schema" },
        { rule: "tools.run.deny_if[0]", passed: true, detail: 'deny_if args.command regex "^rm"' },
        { rule: "tools.run.limits[0]", passed: true, detail: "1 of 2 per minute used" },
        { rule: "tools.run.limits[1]", passed: false, detail: "args.cost must be a finite number >= 0 for the budget tools.run.limits[1], got a string of 1 character" },
      ],
    });
    const unlisted = evaluate(policy, { name: "other", args: {} }, 0, counters);
    assert.deepEqual(explainJson(unlisted.verdict, unlisted.checks), {
      effect: "deny",
      tool: "other",
      rule: "default",
      reason: "not allowed by policy (no entry for this tool; default: deny)",
      checks: [
        { rule: "hide", passed: true, detail: "not hidden" },
        { rule: "default", passed: false, detail: "no entry; default: deny" },
      ],
    });
  });
});
