// Every operator against every JSON type, and paths that do not resolve: a mismatch is false,
// never a throw, and only `exists` can be true of a missing value (when asked for false).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { compileCondition, type ConditionDocument, type Operator } from "../../src/policy/conditions.ts";
import type { ToolCall, Verdict } from "../../src/policy/decision.ts";
import { charge, evaluate } from "../../src/policy/evaluate.ts";
import { parsePolicy } from "../../src/policy/load.ts";

const TYPES = {
  string: "abc",
  number: 5,
  boolean: true,
  null: null,
  array: [1, "abc"],
  object: { k: 1 },
  missing: undefined,
} as const;
type Type = keyof typeof TYPES;

function holds(op: Operator, value: unknown, type: Type): boolean {
  const args = type === "missing" ? {} : { x: TYPES[type] };
  const condition: ConditionDocument = value === undefined ? { path: "args.x", op } : { path: "args.x", op, value };
  return compileCondition(condition, "test").test(args);
}

/** For each operator and value: the types of which it holds. Every other type must be false. */
const TABLE: Array<[Operator, unknown, Type[]]> = [
  ["eq", "abc", ["string"]],
  ["eq", 5, ["number"]],
  ["eq", true, ["boolean"]],
  ["eq", null, ["null"]],
  ["eq", [1, "abc"], ["array"]],
  ["eq", { k: 1 }, ["object"]],
  ["eq", "5", []],
  ["neq", "abc", ["number", "boolean", "null", "array", "object"]],
  ["neq", null, ["string", "number", "boolean", "array", "object"]],
  ["in", ["abc", 5, null], ["string", "number", "null"]],
  ["in", [[1, "abc"], { k: 1 }, false], ["array", "object"]],
  ["not_in", ["abc", 5], ["boolean", "null", "array", "object"]],
  ["lt", 10, ["number"]],
  ["lt", 5, []],
  ["lte", 5, ["number"]],
  ["gt", 4, ["number"]],
  ["gt", 5, []],
  ["gte", 5, ["number"]],
  ["gte", -1e308, ["number"]],
  ["regex", "^ab", ["string"]],
  ["regex", "5", []],
  ["regex", "", ["string"]],
  ["contains", "b", ["string"]],
  ["contains", "abc", ["string", "array"]],
  ["contains", 1, ["array"]],
  ["contains", "k", []],
  ["exists", undefined, ["string", "number", "boolean", "null", "array", "object"]],
  ["exists", true, ["string", "number", "boolean", "null", "array", "object"]],
  ["exists", false, ["missing"]],
];

describe("conditions: every operator on every JSON type", () => {
  for (const [op, value, trueFor] of TABLE) {
    it(`${op} ${JSON.stringify(value) ?? ""}`, () => {
      for (const type of Object.keys(TYPES) as Type[]) {
        assert.equal(holds(op, value, type), trueFor.includes(type), `${op} ${JSON.stringify(value)} on ${type}`);
      }
    });
  }

  it("compares numbers by value (1 and 1.0 are the same JSON number) and strings by code unit", () => {
    assert.equal(compileCondition({ path: "args.n", op: "eq", value: 1 }, "t").test(JSON.parse('{"n":1.0}')), true);
    assert.equal(compileCondition({ path: "args.s", op: "eq", value: "é" }, "t").test(JSON.parse('{"s":"\\u00e9"}')), true);
    assert.equal(compileCondition({ path: "args.o", op: "eq", value: { a: 1, b: 2 } }, "t").test({ o: { b: 2, a: 1 } }), true);
    assert.equal(compileCondition({ path: "args.o", op: "eq", value: { a: 1 } }, "t").test({ o: { a: 1, b: 2 } }), false);
  });
});

describe("conditions: paths", () => {
  const test = (path: string, args: unknown, op: Operator = "exists") => compileCondition({ path, op }, "t").test(args);

  it("walks objects and array indexes", () => {
    const args = { a: { b: [{ c: "deep" }] } };
    assert.equal(test("args.a.b.0.c", args), true);
    assert.equal(compileCondition({ path: "args.a.b.0.c", op: "eq", value: "deep" }, "t").test(args), true);
    assert.equal(test("args.a.b.1.c", args), false);
    assert.equal(test("args.a.b.00", args), false);
    assert.equal(test("args.a.b.-1", args), false);
    assert.equal(test("args.a.b.length", args), false);
  });

  it("does not resolve through scalars, null or the prototype chain", () => {
    assert.equal(test("args.s.length", { s: "abc" }), false);
    assert.equal(test("args.n.x", { n: null }), false);
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      assert.equal(test(`args.${key}`, {}), false, key);
      assert.equal(compileCondition({ path: `args.${key}`, op: "neq", value: 1 }, "t").test({}), false, key);
    }
    assert.equal(test("args.__proto__", JSON.parse('{"__proto__":{"x":1}}')), true, "an own __proto__ key is data");
  });

  it("a missing path fails require and does not fire deny_if", () => {
    const parsed = parsePolicy(`version: "1"
default: deny
tools:
  pay:
    require: [{ path: args.amount, op: lte, value: 500 }]
    deny_if: [{ path: args.to, op: in, value: [mallory] }]
`);
    assert.ok(parsed.ok);
    const policy = compilePolicy(parsed.policy);
    const counters = new Counters(policy.counters);
    const judge = (args: unknown) => verdictOf(policy, counters, { name: "pay", args }, 0);
    assert.equal(judge({ amount: 100 }).effect, "allow", "deny_if on a missing path does not fire");
    const missing = judge({});
    assert.equal(missing.effect, "deny");
    assert.equal(missing.rule, "tools.pay.require[0]");
    assert.equal(missing.reason, "required args.amount lte 500, which does not hold");
    assert.equal(judge({ amount: "100" }).effect, "deny", "a type mismatch is false: require fails");
    assert.equal(judge({ amount: 100, to: "mallory" }).reason, 'denied because args.to in ["mallory"]');
  });
});

/** The verdict alone, as the tests below read it. */
function verdictOf(policy: CompiledPolicy, counters: Counters, call: ToolCall, now: number): Verdict {
  return evaluate(policy, call, now, counters).verdict;
}

describe("argument rules in evaluate", () => {
  const policy = compilePolicy(
    (() => {
      const parsed = parsePolicy(`version: "1"
default: allow
all_tools:
  deny_if:
    - { path: args.path, op: regex, value: "^/etc/", message: "nothing under /etc" }
tools:
  run:
    schema: { type: object, required: [command], properties: { command: { type: string, maxLength: 20 } } }
    deny_if:
      - { path: args.command, op: regex, value: "\\\\brm\\\\s+-[a-z]*r", message: "no recursive deletes" }
  refund:
    require: [{ path: args.amount, op: exists }]
    limits: [{ window: day, max: 500, increment_from: args.amount, message: "refund budget" }]
`);
      assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
      return parsed.policy;
    })(),
  );

  it("all_tools rules come first and carry their message", () => {
    const decision = verdictOf(policy, new Counters(policy.counters), { name: "anything", args: { path: "/etc/passwd" } }, 0);
    assert.equal(decision.effect, "deny");
    assert.equal(decision.rule, "all_tools.deny_if[0]");
    assert.equal(decision.reason, "nothing under /etc");
  });

  it("the schema's first error is quoted with its path", () => {
    const counters = new Counters(policy.counters);
    const tooLong = verdictOf(policy, counters, { name: "run", args: { command: "x".repeat(21) } }, 0);
    assert.equal(tooLong.rule, "tools.run.schema");
    assert.equal(tooLong.reason, "arguments do not match the schema: arguments/command must NOT have more than 20 characters");
    assert.equal(verdictOf(policy, counters, { name: "run", args: {} }, 0).reason, "arguments do not match the schema: arguments must have required property 'command'");
    assert.equal(verdictOf(policy, counters, { name: "run", args: { command: "rm -rf /" } }, 0).reason, "no recursive deletes");
    assert.equal(verdictOf(policy, counters, { name: "run", args: { command: "echo hi" } }, 0).effect, "allow");
  });

  it("a budget denies the call that would cross it and allows smaller ones later", () => {
    const counters = new Counters(policy.counters);
    const refund = (amount: unknown, at = 0) => {
      const { verdict, charge: due } = evaluate(policy, { name: "refund", args: { amount } }, at, counters);
      if (verdict.effect === "allow") charge(counters, due, at);
      return verdict;
    };
    assert.equal(refund(300).effect, "allow");
    const crossing = refund(250);
    assert.equal(crossing.effect, "deny");
    assert.match(crossing.reason, /^refund budget \(500 per day; this call counts args\.amount; retry in /);
    assert.equal(refund(200).effect, "allow", "a smaller one still fits");
    assert.equal(refund(0.5).effect, "deny", "the budget is spent");
    assert.equal(refund(0).effect, "allow");
    assert.equal(refund(300, 86_400_001).effect, "allow", "the window slid");
  });

  it("a non-numeric, negative or non-finite amount is denied and consumes nothing", () => {
    const counters = new Counters(policy.counters);
    for (const amount of ["100", -1, null, [1], { n: 1 }, true]) {
      const decision = verdictOf(policy, counters, { name: "refund", args: { amount } }, 0);
      assert.equal(decision.effect, "deny", JSON.stringify(amount));
      assert.match(decision.reason, /args\.amount must be a finite number >= 0/);
    }
    // JSON cannot carry Infinity, but a decoded 1e400 is one.
    assert.equal(verdictOf(policy, counters, { name: "refund", args: JSON.parse('{"amount":1e400}') }, 0).effect, "deny");
    assert.equal(verdictOf(policy, counters, { name: "refund", args: { amount: 500 } }, 0).effect, "allow");
  });
});

describe("regular expressions cannot stall the gateway", () => {
  it("(a+)+$ against 50,000 a's and a '!' is judged in linear time", () => {
    // A backtracking engine needs ~2^50000 steps here, so this test would never end on one;
    // RE2 needs one pass. The relay-level version (a ping answered meanwhile) is end-to-end.
    const condition = compileCondition({ path: "args.text", op: "regex", value: "(a+)+$" }, "t");
    const text = `${"a".repeat(50_000)}!`;
    assert.equal(condition.test({ text }), false);
    assert.equal(condition.test({ text: "a".repeat(50_000) }), true);
  });
});
