// `mcpgate replay` (SPEC §12) against the built binary: a crafted audit log, then the audit log of
// real sessions of the gateway, replayed under a stricter policy.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { call, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

const SESSION = "3f2a1b2c-0000-4000-8000-000000000001";
const at = (seconds: number): string => new Date(Date.parse("2026-11-29T10:00:00.000Z") + seconds * 1000).toISOString();
const recorded = (seconds: number, tool: string, fields: Record<string, unknown>, session = SESSION): string =>
  JSON.stringify({ ts: at(seconds), session, event: "call", tool, decision: "allow", rule: "default", reason: "default: allow", ...fields });

const STRICTER = 'version: "1"\ndefault: allow\nhide: [secret_tool]\ntools:\n  echo:\n    limits: ["2/minute"]\n    deny_if: [{ path: args.text, op: eq, value: drop }]\n';

function crafted(): string {
  const file = join(tempDir(), "audit.jsonl");
  writeFileSync(
    file,
    [
      JSON.stringify({ ts: at(0), session: SESSION, event: "start", version: "0.1.0", policy: "old.yaml", server: ["node", "s.js"], dry_run: false }),
      recorded(1, "echo", { args: { text: "a" } }),
      recorded(2, "echo", { args: { text: "b" } }),
      "this line is not JSON",
      recorded(3, "echo", { args: { text: "c" } }),
      recorded(70, "echo", { args: { text: "d" } }),
      recorded(71, "echo", { args_sha256: "00" }),
      recorded(72, "secret_tool", { args_sha256: "00" }),
      recorded(5, "echo", { args: { text: "a" } }, "other-session"),
    ].join("\n") + "\n",
  );
  return file;
}

describe("mcpgate replay", () => {
  it("prints the calls whose decision would change, the undetermined ones, then a summary; malformed lines on stderr", async () => {
    const audit = crafted();
    const run = await runGateway(["replay", "--policy", writePolicy(STRICTER), audit]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, `mcpgate: ${audit}:4: expected a JSON object, got a line that is not JSON (21 characters); line skipped\n`);
    assert.equal(
      run.stdout,
      [
        `${at(3)}  3f2a1b2c  echo  ALLOW → DENY  tools.echo.limits[0]: rate limit reached (2 per minute; retry in 58s)`,
        `${at(71)}  3f2a1b2c  echo  ALLOW → ?  undetermined: tools.echo.deny_if[0] reads the arguments, which the log holds only as a hash (audit: { include_args: true } records them)`,
        `${at(72)}  3f2a1b2c  secret_tool  ALLOW → DENY  hide[0]: this tool is hidden by policy`,
        "",
        "Replayed 7 calls in 2 sessions: 4 unchanged, 2 changed (2 allow → deny), 1 undetermined.",
        "",
      ].join("\n"),
    );
  });

  it("--json: one object per changed or undetermined call, then the summary", async () => {
    const run = await runGateway(["replay", "--json", "--policy", writePolicy(STRICTER), crafted()]);
    assert.equal(run.code, 0, run.stderr);
    const objects = run.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      objects.map((object) => [object.type, object.line, object.tool, object.decision]),
      [
        ["changed", 5, "echo", "deny"],
        ["undetermined", 7, "echo", undefined],
        ["changed", 8, "secret_tool", "deny"],
        ["summary", undefined, undefined, undefined],
      ],
    );
    assert.equal(objects[0]!.retry_after_ms, 58_000);
    assert.equal(objects[0]!.session, SESSION);
    assert.deepEqual(objects[1]!.needs_args, ["tools.echo.deny_if[0]"]);
    assert.deepEqual(objects[3], { type: "summary", calls: 7, sessions: 2, unchanged: 4, changed: 2, allow_to_deny: 2, deny_to_allow: 0, to_approve: 0, from_approve: 0, undetermined: 1, skipped_lines: 1 });
  });

  it("exit 1 with a clear message for a missing audit file or an invalid policy; 2 without a policy", async () => {
    const dir = tempDir();
    const missing = await runGateway(["replay", "--policy", writePolicy(STRICTER), join(dir, "none.jsonl")]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, "");
    assert.equal(missing.stderr, `mcpgate: no audit log at ${join(dir, "none.jsonl")} (working directory ${process.cwd()})\n`);

    const byDefault = await runGateway(["replay", "--policy", writePolicy(STRICTER)], "", { env: { XDG_STATE_HOME: dir } });
    assert.equal(byDefault.code, 1);
    assert.match(byDefault.stderr, new RegExp(`no audit log at ${join(dir, "mcpgate", "audit.jsonl").replaceAll(".", "\\.")} \\(the default location`));

    const invalid = await runGateway(["replay", "--policy", writePolicy('version: "1"\ndefault: maybe\n'), crafted()]);
    assert.equal(invalid.code, 1);
    assert.equal(invalid.stdout, "");
    assert.match(invalid.stderr, /policy\.yaml:2:10: /);

    const none = await runGateway(["replay", crafted()], "", { env: { MCPGATE_POLICY: "" } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no policy given/);
  });

  it("replays real sessions of the gateway: arguments recorded, then hashed", async () => {
    const audit = join(tempDir(), "audit.jsonl");
    const lenient = 'version: "1"\ndefault: allow\n';
    // Session 1 records arguments; "drop" would now be denied by deny_if and consume nothing.
    const texts = ["a", "drop", "b", "c"];
    const first = await runGateway(
      ["--policy", writePolicy(`${lenient}audit: { include_args: true }\n`), "--audit", audit, "--", ...rawServer()],
      lines(INIT, ...texts.map((text, index) => call(index + 1, "echo", { text })), call(5, "secret_tool")),
      { until: (stdout) => stdout.includes('"id":5') },
    );
    assert.equal(first.code, 0, first.stderr);
    // Session 2 records only hashes.
    const second = await runGateway(["--policy", writePolicy(lenient), "--audit", audit, "--", ...rawServer()], lines(INIT, call(1, "echo", { text: "x" }), call(2, "secret_tool")), {
      until: (stdout) => stdout.includes('"id":2'),
    });
    assert.equal(second.code, 0, second.stderr);

    const run = await runGateway(["replay", "--json", "--policy", writePolicy(STRICTER), audit]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const objects = run.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const summary = objects.pop()!;
    assert.deepEqual(summary, { type: "summary", calls: 7, sessions: 2, unchanged: 2, changed: 4, allow_to_deny: 4, deny_to_allow: 0, to_approve: 0, from_approve: 0, undetermined: 1, skipped_lines: 0 });
    const sessions = [...new Set(objects.map((object) => object.session))];
    assert.equal(sessions.length, 2);
    const [one, two] = sessions.map((session) => objects.filter((object) => object.session === session).map((object) => `${object.tool} ${object.type} ${object.rule ?? object.needs_args}`).sort());
    // Which echo is the third allowed within the minute may turn on recorded times a millisecond apart: the rules are what is certain.
    assert.deepEqual(one, ["echo changed tools.echo.deny_if[0]", "echo changed tools.echo.limits[0]", "secret_tool changed hide[0]"]);
    assert.deepEqual(two, ["echo undetermined tools.echo.deny_if[0]", "secret_tool changed hide[0]"]);

    const human = await runGateway(["replay", "--policy", writePolicy(STRICTER), audit]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /  secret_tool  ALLOW → DENY  hide\[0\]: this tool is hidden by policy\n/);
    assert.match(human.stdout, /\nReplayed 7 calls in 2 sessions: 2 unchanged, 4 changed \(4 allow → deny\), 1 undetermined\.\n$/);
    // No colours when stdout is not a terminal.
    assert.doesNotMatch(human.stdout, /\u001b\[/);
  });
});
