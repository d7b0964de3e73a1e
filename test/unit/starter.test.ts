// The starter policy `mcpgate init` writes: every tool the server listed is allowed (read-only
// ones as they are, the others under a rate limit), anything else is denied, and nothing the
// server says can break the YAML or widen what is allowed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { evaluate } from "../../src/policy/evaluate.ts";
import { parsePolicy } from "../../src/policy/load.ts";
import { starterPolicy, STARTER_LIMIT, type ListedTool } from "../../src/policy/starter.ts";

const SOURCE = { command: ["npx", "-y", "some-server"], server: { name: "some-server", version: "1.2.3" }, date: new Date("2026-11-22T10:00:00Z") };

function compiled(tools: ListedTool[]): { policy: CompiledPolicy; yaml: string } {
  const { yaml } = starterPolicy(tools, SOURCE);
  const parsed = parsePolicy(yaml);
  assert.ok(parsed.ok, `${yaml}\n${JSON.stringify(!parsed.ok && parsed.problems)}`);
  return { policy: compilePolicy(parsed.policy), yaml };
}

const effect = (policy: CompiledPolicy, name: string): string => evaluate(policy, { name, args: {} }, 0, new Counters(policy.counters)).verdict.effect;

describe("starterPolicy", () => {
  it("allows every listed tool, caps those not marked read-only, and denies the rest", () => {
    const tools: ListedTool[] = [
      { name: "read_file", description: "Read a file", annotations: { readOnlyHint: true } },
      { name: "run_command", description: "Run a shell command", annotations: { destructiveHint: true, openWorldHint: true } },
      { name: "write_file" },
    ];
    const starter = starterPolicy(tools, SOURCE);
    assert.deepEqual({ listed: starter.listed, readOnly: starter.readOnly, skipped: starter.skipped }, { listed: 3, readOnly: 1, skipped: [] });
    const { policy, yaml } = compiled(tools);
    assert.match(yaml, /^default: deny$/m);
    assert.match(yaml, /^ {2}read_file: \{\}$/m);
    assert.match(yaml, /^ {2}# The server says: destructive, reaches outside systems\.$/m);
    assert.match(yaml, /^# {3}npx -y some-server \(some-server 1\.2\.3\)$/m);
    for (const tool of tools) assert.equal(effect(policy, tool.name), "allow", tool.name);
    assert.equal(effect(policy, "added_later"), "deny");

    // The cap is the stated one: 60 calls a minute pass, the 61st does not.
    const [max] = STARTER_LIMIT.split("/").map(Number);
    const counters = new Counters(policy.counters);
    for (let call = 0; call < max!; call++) {
      const decision = evaluate(policy, { name: "run_command", args: {} }, call, counters);
      assert.equal(decision.verdict.effect, "allow");
      for (const { counter } of decision.charge) counters.get(counter).add(call, 1);
    }
    assert.equal(evaluate(policy, { name: "run_command", args: {} }, max!, counters).verdict.effect, "deny");
    assert.equal(evaluate(policy, { name: "read_file", args: {} }, max!, counters).verdict.effect, "allow", "read-only tools have no cap");
  });

  it("quotes names YAML would read as something else, and keeps descriptions to one comment line", () => {
    const names = ["true", "no", "123", "1e3", "-dash", "a: b", "x #y", 'say "hi"', "new\nline", "tab\there", "__proto__", "constructor", "ünïcode", "~", "[]", "a\u2028b"];
    const tools = names.map((name) => ({ name, description: "first line\nsecond: line # not a comment\r\n\u2028- item\u0085end" }));
    const { policy, yaml } = compiled(tools);
    for (const line of yaml.split("\n")) if (line.trimStart().startsWith("#")) assert.doesNotMatch(line, /[\r\u2028\u0085]/);
    for (const name of names.filter((name) => name !== "[]")) assert.equal(effect(policy, name), "allow", JSON.stringify(name));
    assert.equal(effect(policy, "toString"), "deny");
  });

  it("leaves out names with glob characters, which would match other tools too", () => {
    const starter = starterPolicy([{ name: "read_*" }, { name: "a?c" }, { name: "[]" }, { name: "fine" }], SOURCE);
    assert.deepEqual(
      starter.skipped.map((skipped) => skipped.name),
      ["read_*", "a?c", "[]"],
    );
    const { policy, yaml } = compiled([{ name: "read_*" }, { name: "a?c" }, { name: "fine" }]);
    assert.match(yaml, /^# Not listed, so denied: "read_\*", for glob characters/m);
    for (const name of ["read_*", "read_secrets", "a?c", "abc"]) assert.equal(effect(policy, name), "deny", name);
    assert.equal(effect(policy, "fine"), "allow");
  });

  it("lists a tool named twice once, and an empty list as no tools", () => {
    assert.equal(starterPolicy([{ name: "a" }, { name: "a", annotations: { readOnlyHint: true } }], SOURCE).listed, 1);
    const { policy, yaml } = compiled([]);
    assert.match(yaml, /^tools: \{\}$/m);
    assert.equal(effect(policy, "anything"), "deny");
  });

  it("whatever the names and descriptions: a valid policy allowing exactly the listed tools", () => {
    const text = fc.string({ unit: "binary", maxLength: 40 });
    fc.assert(
      fc.property(fc.array(fc.record({ name: text, description: text, annotations: fc.record({ readOnlyHint: fc.boolean() }) }), { maxLength: 8 }), text, (tools, other) => {
        const starter = starterPolicy(tools, { ...SOURCE, command: [...SOURCE.command, ...tools.map((tool) => tool.description)] });
        const parsed = parsePolicy(starter.yaml);
        if (!parsed.ok) throw new Error(`${starter.yaml}\n${JSON.stringify(parsed.problems)}`);
        const policy = compilePolicy(parsed.policy);
        const skipped = new Set(starter.skipped.map((skipped) => skipped.name));
        for (const tool of tools) assert.equal(effect(policy, tool.name), skipped.has(tool.name) ? "deny" : "allow", JSON.stringify(tool.name));
        if (!tools.some((tool) => tool.name === other)) assert.equal(effect(policy, other), "deny", JSON.stringify(other));
      }),
      { numRuns: 500 },
    );
  });
});
