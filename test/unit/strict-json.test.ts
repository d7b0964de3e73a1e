// A .json policy is strict JSON: what YAML would let through is an error, with its position.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { formatProblem, loadPolicyFile } from "../../src/policy/load.ts";
import { strictJsonProblem } from "../../src/policy/strict-json.ts";

const dir = mkdtempSync(join(tmpdir(), "mcpgate-json-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function problem(source: string, name = "p.json"): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  const result = loadPolicyFile(file);
  assert.ok(!result.ok, `${name} should be invalid`);
  return formatProblem(name, result.problems[0]!);
}

describe("strict JSON policies", () => {
  it("a trailing comma, pointed at", () => {
    assert.equal(problem('{"version": "1", "default": "deny",}'), 'p.json:1:35: invalid JSON: trailing comma before "}"');
    assert.equal(problem('{\n  "version": "1",\n  "default": "deny",\n  "hide": ["a", ]\n}\n'), 'p.json:4:15: invalid JSON: trailing comma before "]"');
  });

  it("comments and single quotes", () => {
    assert.equal(problem('{"version": "1", /* why */ "default": "deny"}'), "p.json:1:18: invalid JSON: comments are not allowed in a .json policy (YAML allows them)");
    assert.equal(problem("{'version': \"1\"}"), "p.json:1:2: invalid JSON: expected a string in double quotes, got '");
  });

  it("other mistakes: what was expected and what came", () => {
    assert.equal(problem('{"version": "1" "default": "deny"}'), 'p.json:1:17: invalid JSON: expected "," or the end of the list or mapping, got "\\"default\\""');
    assert.equal(problem('{"version": "1", "default": deny}'), 'p.json:1:29: invalid JSON: unexpected "deny"');
    assert.equal(problem('{"version": "1"'), "p.json:1:16: invalid JSON: expected \"}\", got the end of the file");
    assert.equal(problem(""), "p.json:1:1: invalid JSON: expected a value, got the end of the file");
  });

  it("the same text is fine as YAML, and valid JSON loads as before", () => {
    const yaml = join(dir, "p.yaml");
    writeFileSync(yaml, '{"version": "1", "default": "deny",}');
    assert.equal(loadPolicyFile(yaml).ok, true);
    const json = join(dir, "good.JSON");
    writeFileSync(json, '{"version": "1", "default": "deny", "tools": {"run": {}}}');
    assert.equal(loadPolicyFile(json).ok, true);
    assert.equal(strictJsonProblem('{"a": [1, 2, {"b": null}]}'), undefined);
  });

  it("duplicate keys are still refused (by the YAML pass, with the position)", () => {
    assert.equal(problem('{"version": "1", "default": "deny", "default": "allow"}'), "p.json:1:37: Map keys must be unique");
  });
});
