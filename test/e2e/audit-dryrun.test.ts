// The audit log's events, and --dry-run's "judge but forward".
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { call, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

const POLICY = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n';

function events(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("audit log", () => {
  it("records start, each call with its decision and hashed arguments, and stop", async () => {
    const audit = join(tempDir(), "nested", "audit.jsonl");
    const run = await runGateway(["--policy", writePolicy(POLICY), "--audit", audit, "--", ...rawServer()], lines(INIT, call(1, "echo", { text: "hi" }), call(2, "secret_tool", { token: "s3cret" })), {
      until: (stdout) => stdout.includes('"id":1') && stdout.includes('"id":2'),
    });
    assert.equal(run.code, 0);
    const log = events(audit);
    assert.deepEqual(log.map((event) => event.event), ["start", "call", "call", "stop"]);
    const [start, denied, allowed, stop] = log as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(start.server, rawServer());
    assert.equal(typeof start.session, "string");
    assert.ok(log.every((event) => event.session === start.session && typeof event.ts === "string"));
    assert.equal(denied.tool, "secret_tool");
    assert.equal(denied.decision, "deny");
    assert.equal(denied.rule, "default");
    assert.equal(denied.args_sha256, createHash("sha256").update('{"token":"s3cret"}').digest("hex"));
    assert.doesNotMatch(readFileSync(audit, "utf8"), /s3cret/);
    assert.deepEqual(denied.client, { name: "raw", version: "1" });
    assert.equal(allowed.tool, "echo");
    assert.equal(allowed.decision, "allow");
    assert.equal(allowed.is_error, false);
    assert.equal(typeof allowed.duration_ms, "number");
    assert.equal(stop.exit_code, 0);
    // Every call names its server: the command always, the serverInfo name once initialize was answered.
    assert.deepEqual((denied.server as { command: unknown }).command, rawServer());
    assert.deepEqual(allowed.server, { name: "raw-server", command: rawServer() });
  });

  it("records raw arguments only when the policy opts in", async () => {
    const audit = join(tempDir(), "audit.jsonl");
    await runGateway(["--policy", writePolicy(`${POLICY}audit: { include_args: true }\n`), "--audit", audit, "--", ...rawServer()], lines(INIT, call(1, "echo", { text: "visible" })), {
      until: (stdout) => stdout.includes('"id":1'),
    });
    const allowed = events(audit).find((event) => event.event === "call")!;
    assert.deepEqual(allowed.args, { text: "visible" });
    assert.equal(allowed.args_sha256, undefined);
  });

  it("keeps relaying when the audit log cannot be written", async () => {
    const run = await runGateway(["--policy", writePolicy(POLICY), "--audit", "/proc/mcpgate-cannot-write/audit.jsonl", "--", ...rawServer()], lines(INIT, call(1, "echo", { text: "still works" })), {
      until: (stdout) => stdout.includes('"id":1'),
    });
    assert.match(run.stdout, /still works/);
    assert.match(run.stderr, /audit log \/proc\/mcpgate-cannot-write\/audit\.jsonl cannot be written \(ENOENT\); audit disabled for this session/);
  });

  it("--audit - writes events to stderr, never stdout", async () => {
    const run = await runGateway(["--policy", writePolicy(POLICY), "--audit", "-", "--", ...rawServer()], lines(INIT, call(1, "echo")), { until: (stdout) => stdout.includes('"id":1') });
    assert.match(run.stderr, /"event":"call"/);
    assert.doesNotMatch(run.stdout, /"event"/);
  });
});

describe("--dry-run", () => {
  it("forwards a call the policy would deny, and says so", async () => {
    const record = join(tempDir(), "received.jsonl");
    const denied = JSON.stringify(call(1, "secret_tool", { x: 1 }));
    const run = await runGateway(["--policy", writePolicy(POLICY), "--no-audit", "--dry-run", "--", ...rawServer()], lines(INIT, denied), {
      env: { RECORD: record },
      until: (stdout) => stdout.includes('"id":1'),
    });
    assert.match(run.stderr, /dry run: would deny \[POLICY DENIED\] secret_tool: not allowed by policy .* \[default\]; forwarding/);
    assert.ok(readFileSync(record, "utf8").split("\n").includes(denied));
    assert.doesNotMatch(run.stdout, /POLICY DENIED/);
  });
});
