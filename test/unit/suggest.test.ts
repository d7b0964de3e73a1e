// "did you mean": one edit (insertion, deletion, substitution, swap of neighbours) or case apart.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatProblem, parsePolicy } from "../../src/policy/load.ts";
import { knownKeys } from "../../src/policy/schema.ts";
import { oneEditApart, suggestKey, unknownKeyMessage } from "../../src/policy/suggest.ts";

/** Optimal string alignment distance (Damerau-Levenshtein without repeated edits), by the textbook table. */
function osaDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

describe("oneEditApart", () => {
  it("agrees with the distance table on strings over a small alphabet (so that near misses are common)", () => {
    const word = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 7 });
    fc.assert(
      fc.property(word, word, (a, b) => oneEditApart(a, b) === osaDistance(a, b) <= 1),
      { numRuns: 5000 },
    );
  });

  it("each kind of edit", () => {
    assert.equal(oneEditApart("windw", "window"), true); // insertion
    assert.equal(oneEditApart("limitss", "limits"), true); // deletion
    assert.equal(oneEditApart("scope", "scopa"), true); // substitution
    assert.equal(oneEditApart("actoin", "action"), true); // swap
    assert.equal(oneEditApart("wndow", "windw"), false); // two edits
    assert.equal(oneEditApart("deny", "deny_if"), false);
  });
});

describe("suggestKey", () => {
  it("case-only differences, and one edit with case aside", () => {
    assert.equal(suggestKey("DEFAULT", ["version", "default"]), "default");
    assert.equal(suggestKey("Windw", ["window", "max"]), "window");
    assert.equal(suggestKey("zzz", ["window", "max"]), undefined);
  });

  it("the message, with and without a suggestion", () => {
    assert.equal(unknownKeyMessage("windw", ["counter", "window"]), 'unknown key "windw" (did you mean "window"?)');
    assert.equal(unknownKeyMessage("extra", ["counter", "window"]), 'unknown key "extra"');
    assert.equal(unknownKeyMessage("windw", undefined), 'unknown key "windw"');
  });
});

describe("did you mean, at every level of a policy", () => {
  const problems = (source: string): string[] => {
    const result = parsePolicy(source);
    assert.ok(!result.ok, "the policy should be invalid");
    return result.problems.map((problem) => formatProblem("p.yaml", problem));
  };

  it("a limit's key (the brief's example)", () => {
    assert.deepEqual(problems('version: "1"\ndefault: deny\ntools:\n  run:\n    limits:\n      - { windw: minute, max: 3 }\n'), [
      "p.yaml:6:9: tools.run.limits[0].window: expected a string, got nothing",
      'p.yaml:6:11: tools.run.limits[0].windw: unknown key "windw" (did you mean "window"?)',
    ]);
  });

  it("top level, all_tools, a condition, approval, audit; never for tool names", () => {
    assert.deepEqual(
      problems(
        'version: "1"\ndefault: allow\ndescriptoin: x\nall_tools:\n  deny_iff: []\n  require: [{ path: args.a, op: exists, vaule: true }]\napproval: { timout: 10s }\naudit: { include_arg: true }\ntools:\n  acton: { action: deny }\n',
      ),
      [
        'p.yaml:3:1: descriptoin: unknown key "descriptoin" (did you mean "description"?)',
        'p.yaml:5:3: all_tools.deny_iff: unknown key "deny_iff" (did you mean "deny_if"?)',
        'p.yaml:6:41: all_tools.require[0].vaule: unknown key "vaule" (did you mean "value"?)',
        'p.yaml:7:13: approval.timout: unknown key "timout" (did you mean "timeout"?)',
        'p.yaml:8:10: audit.include_arg: unknown key "include_arg" (did you mean "include_args"?)',
      ],
    );
  });

  it("knownKeys: free keys (tool names) have none", () => {
    assert.equal(knownKeys(["tools"]), undefined);
    assert.deepEqual(knownKeys(["tools", "run", "deny_if", 0]), ["path", "op", "value", "message"]);
    assert.ok(knownKeys([])!.includes("default"));
  });
});
