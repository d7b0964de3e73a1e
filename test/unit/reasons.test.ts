// A reason reaches the agent, the audit log and stderr even when arguments are not logged, so no
// reason mcpgate writes may quote an argument's content: a secret in any argument, through any
// check that can deny or hold a call, must not appear in the decision.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { denialText, type Verdict } from "../../src/policy/decision.ts";
import { charge, evaluate } from "../../src/policy/evaluate.ts";
import { parsePolicy } from "../../src/policy/load.ts";

const SECRET = "sk-live-SUPERSECRET-4242";
const NUMBER_SECRET = 4242;

const POLICY = `version: "1"
default: deny
all_tools:
  deny_if: [{ path: args.token, op: regex, value: "^sk-live-" }]
tools:
  pinned:
    require: [{ path: args.pin, op: lt, value: 10 }]
  pay:
    limits: [{ counter: money, window: hour, max: 10000, increment_from: args.amount }]
  open:
    schema: { type: object, additionalProperties: { type: number }, properties: { known: { type: object, additionalProperties: { type: number } } } }
  checked:
    schema:
      type: object
      additionalProperties: false
      properties:
        s: { type: string, maxLength: 3, pattern: "^[a-z]*$" }
        n: { type: integer, maximum: 10, multipleOf: 2 }
        e: { enum: [red, green] }
        c: { const: fixed }
        o: { type: object, maxProperties: 0, propertyNames: { maxLength: 2 } }
        a: { type: array, maxItems: 1, uniqueItems: true, items: { type: number } }
        x: { not: { type: string } }
        u: { oneOf: [{ type: number }, { type: boolean }] }
        i: { if: { type: string }, then: { type: string, minLength: 100 } }
  guarded:
    require: [{ path: args.mode, op: in, value: [read, list] }]
    deny_if: [{ path: args.query, op: contains, value: "DROP" }, { path: args.to, op: eq, value: mallory }]
  held:
    approve_if: [{ path: args.note, op: exists }]
`;

function compile(yaml: string): CompiledPolicy {
  const result = parsePolicy(yaml);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return compilePolicy(result.policy);
}

/** The decision for one call, which must not allow it, and must not quote the secret. */
function judged(policy: CompiledPolicy, name: string, args: unknown, effect: "deny" | "approve" = "deny"): Verdict {
  const decision = evaluate(policy, { name, args }, 0, new Counters(policy.counters)).verdict;
  assert.equal(decision.effect, effect, `${name} ${JSON.stringify(args)}: ${decision.reason}`);
  for (const text of [decision.reason, denialText(decision)]) {
    assert.ok(!text.includes("SUPERSECRET"), `${name}: the reason quotes the secret: ${text}`);
    assert.ok(!text.includes(String(NUMBER_SECRET)), `${name}: the reason quotes the number: ${text}`);
  }
  return decision;
}

describe("reasons never quote argument content", () => {
  const policy = compile(POLICY);

  it("a budget's amount of any wrong type is described by its type and size", () => {
    const cases: Array<[unknown, string]> = [
      [SECRET, "a string of 24 characters"],
      ["x", "a string of 1 character"],
      [{ key: SECRET, other: 1, [SECRET]: 2 }, "an object with 3 keys"],
      [[SECRET, SECRET], "an array of 2 items"],
      [[], "an array of 0 items"],
      [-NUMBER_SECRET, "a negative number"],
      [true, "a boolean"],
      [null, "null"],
      [JSON.parse(`{"v":${NUMBER_SECRET}e400}`).v, "a non-finite number"],
    ];
    for (const [amount, shape] of cases) {
      const decision = judged(policy, "pay", { amount });
      assert.equal(decision.reason, `args.amount must be a finite number >= 0 for the budget tools.pay.limits[0], got ${shape}`);
    }
    assert.equal(judged(policy, "pay", {}).reason, "args.amount must be a finite number >= 0 for the budget tools.pay.limits[0], got nothing");
  });

  it("a valid amount that crosses the budget is named by its argument, not its value", () => {
    const counters = new Counters(policy.counters);
    const first = evaluate(policy, { name: "pay", args: { amount: 9000 } }, 0, counters);
    charge(counters, first.charge, 0);
    const crossing = evaluate(policy, { name: "pay", args: { amount: NUMBER_SECRET } }, 1000, counters).verdict;
    assert.equal(crossing.reason, "budget exceeded (10000 per hour; this call counts args.amount; retry in 59m 59s)");
  });

  it("every schema error names the argument's path and the schema's rule, never the value", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ s: SECRET }, "arguments/s must NOT have more than 3 characters"],
      [{ s: NUMBER_SECRET }, "arguments/s must be string"],
      [{ n: NUMBER_SECRET }, "arguments/n must be <= 10"],
      [{ n: NUMBER_SECRET + 0.5 }, "arguments/n must be integer"],
      [{ n: 3 }, "arguments/n must be multiple of 2"],
      [{ e: SECRET }, "arguments/e must be equal to one of the allowed values"],
      [{ c: SECRET }, "arguments/c must be equal to constant"],
      [{ o: { ab: SECRET } }, "arguments/o must NOT have more than 0 properties"],
      [{ a: [SECRET] }, "arguments/a/0 must be number"],
      [{ a: [NUMBER_SECRET, NUMBER_SECRET] }, "arguments/a must NOT have more than 1 items"],
      [{ x: SECRET }, "arguments/x must NOT be valid"],
      [{ u: SECRET }, "arguments/u must be number"],
      [{ i: SECRET }, "arguments/i must NOT have fewer than 100 characters"],
      [{ extra: SECRET }, "arguments must NOT have additional properties"],
    ];
    for (const [args, detail] of cases) assert.equal(judged(policy, "checked", args).reason, `arguments do not match the schema: ${detail}`);
    // A key the caller made up is their text too: named only as undeclared, with declared keys and indexes kept.
    const keys: Array<[Record<string, unknown>, string]> = [
      [{ [SECRET]: "x" }, "arguments/(an undeclared key) must be number"],
      [{ known: { [`${NUMBER_SECRET}x`]: "x" } }, "arguments/known/(an undeclared key) must be number"],
      [{ known: { "a/b~c": "x" } }, "arguments/known/(an undeclared key) must be number"],
      // Digits are an index only in an array: as an object's key they are the caller's.
      [{ [String(NUMBER_SECRET)]: "x" }, "arguments/(an undeclared key) must be number"],
    ];
    for (const [args, detail] of keys) assert.equal(judged(policy, "open", args).reason, `arguments do not match the schema: ${detail}`);
    // The schema itself is not an argument: the whole arguments value of the wrong type.
    assert.equal(judged(policy, "checked", SECRET).reason, "arguments do not match the schema: arguments must be object");
  });

  it("require, deny_if and approve_if quote the policy's condition, never the argument", () => {
    assert.equal(judged(policy, "pay", { token: SECRET, amount: 1 }).reason, 'denied because args.token regex "^sk-live-"');
    assert.equal(judged(policy, "pinned", { pin: NUMBER_SECRET }).reason, "required args.pin lt 10, which does not hold");
    assert.equal(judged(policy, "pinned", { pin: SECRET }).reason, "required args.pin lt 10, which does not hold");
    assert.equal(judged(policy, "guarded", { mode: SECRET }).reason, 'required args.mode in ["read","list"], which does not hold');
    assert.equal(judged(policy, "guarded", { mode: "read", query: `${SECRET} DROP` }).reason, 'denied because args.query contains "DROP"');
    assert.equal(judged(policy, "guarded", { mode: "read", to: "mallory", secret: SECRET }).reason, 'denied because args.to eq "mallory"');
    assert.equal(judged(policy, "held", { note: SECRET }, "approve").reason, "args.note exists needs a human's approval");
  });
});
