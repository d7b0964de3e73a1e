// One bad policy per file, each asserting its exact message (first line: "# expect: LINE:COL: message").
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatProblem, loadPolicyFile, parsePolicy } from "../../src/policy/load.ts";

const BAD = new URL("../fixtures/policies/bad/", import.meta.url).pathname;

describe("bad policies", () => {
  for (const name of readdirSync(BAD).filter((file) => file.endsWith(".yaml"))) {
    it(name, () => {
      const file = join(BAD, name);
      const expected = /^# expect: (.*)$/m.exec(readFileSync(file, "utf8"))![1]!;
      const result = loadPolicyFile(file);
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.equal(formatProblem(file, result.problems[0]!), `${file}:${expected}`);
    });
  }

  it("a JSON policy gets positions too", () => {
    const file = join(BAD, "bad-json.json");
    const result = loadPolicyFile(file);
    assert.ok(!result.ok);
    assert.equal(formatProblem(file, result.problems[0]!), `${file}:1:84: tools.run.limits[0].max: expected a number, got "10"`);
  });

  it("reports every problem, sorted by position", () => {
    const result = parsePolicy('version: "1"\ndefault: nope\nextra: 1\ntools:\n  a: { action: x }\n  b: { limits: ["1/fortnight"] }\n');
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((problem) => formatProblem("p.yaml", problem)),
      [
        'p.yaml:2:10: default: expected allow|deny, got "nope"',
        'p.yaml:3:1: extra: unknown key "extra"',
        'p.yaml:5:16: tools.a.action: expected allow|deny|approve, got "x"',
        'p.yaml:6:17: tools.b.limits[0]: expected a limit such as "10/minute" or { window, max }, got "1/fortnight"',
      ],
    );
  });

  it("a missing file", () => {
    const result = loadPolicyFile("/nonexistent/p.yaml");
    assert.ok(!result.ok);
    assert.equal(formatProblem("/nonexistent/p.yaml", result.problems[0]!), "/nonexistent/p.yaml:1:1: cannot read policy: no such file");
  });
});

describe("good policies", () => {
  it("PolicyLayer's published example loads verbatim", () => {
    const result = loadPolicyFile(new URL("../../examples/policylayer.json", import.meta.url).pathname);
    assert.ok(result.ok);
    assert.equal(result.policy.default, "deny");
    assert.deepEqual(result.policy.tools, [["run_background", { limits: [{ counter: "run_background_rate", window: "minute", max: 10, scope: "grant" }] }]]);
  });

  it("keeps a tool named __proto__ (a record schema would drop it silently)", () => {
    const result = parsePolicy('version: "1"\ndefault: allow\ntools:\n  __proto__: { action: deny }\n  constructor: { action: deny }\n');
    assert.ok(result.ok);
    assert.deepEqual(result.policy.tools.map(([name]) => name), ["__proto__", "constructor"]);
  });

  it("accepts version 1 as a number, empty entries, shorthand limits and every window form", () => {
    const result = parsePolicy('version: 1\ndefault: deny\ntools:\n  a:\n  b: {}\n  c: { limits: ["10/minute", "5/30s", { window: 2h, max: 1 }, { window: 1d, max: 3 }, { window: 250ms, max: 1 }] }\n');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.equal(result.policy.tools.length, 3);
  });

  it("every example policy is valid", () => {
    const examples = new URL("../../examples/", import.meta.url).pathname;
    const files = readdirSync(examples).filter((file) => /\.(ya?ml|json)$/.test(file));
    assert.ok(files.length >= 5, files.join(", "));
    for (const file of files) {
      const result = loadPolicyFile(join(examples, file));
      assert.ok(result.ok, `${file}: ${JSON.stringify(!result.ok && result.problems)}`);
    }
  });
});
