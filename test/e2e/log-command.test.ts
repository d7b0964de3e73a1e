// `mcpgate log`: the built binary reading a crafted audit log (each filter, --summary, --json,
// a malformed line), following one as it grows and rotates, and reading a real session's log.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN, call, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

const WEATHER = ["node", "/srv/weather.mjs"];
const GIT = ["uvx", "git-mcp"];
const EVENTS = [
  { ts: "2026-01-01T10:00:00.000Z", session: "s1-aaaa", event: "start", server: WEATHER },
  { ts: "2026-01-01T10:00:01.000Z", session: "s1-aaaa", event: "call", tool: "forecast", decision: "allow", rule: "tools.forecast", reason: "allowed by tools.forecast", duration_ms: 10, server: { name: "weather", command: WEATHER } },
  { ts: "2026-01-01T10:01:00.000Z", session: "s1-aaaa", event: "call", tool: "forecast", decision: "allow", rule: "tools.forecast", reason: "allowed by tools.forecast", duration_ms: 30, server: { name: "weather", command: WEATHER } },
  // Written before call events named their server: named from the session's start and other calls.
  { ts: "2026-01-01T10:02:00.000Z", session: "s1-aaaa", event: "call", tool: "delete_city", decision: "deny", rule: "default", reason: "not allowed by policy" },
  { ts: "2026-01-01T11:00:00.000Z", session: "s2-bbbb", event: "start", server: GIT },
  { ts: "2026-01-01T11:00:01.000Z", session: "s2-bbbb", event: "call", tool: "git_push", decision: "allow", rule: "tools.git_push", reason: "approved", approval: "accepted", duration_ms: 200, server: { name: "git", command: GIT } },
  { ts: "2026-01-01T11:05:00.000Z", session: "s2-bbbb", event: "call", tool: "git_push", decision: "deny", rule: "tools.git_push", reason: "declined by a human", approval: "declined", server: { name: "git", command: GIT } },
  { ts: "2026-01-01T11:06:00.000Z", session: "s2-bbbb", event: "call", tool: "git_status", decision: "allow", rule: "tools.git_status", reason: "allowed by tools.git_status", duration_ms: 5, server: { name: "git", command: GIT } },
  { ts: "2026-01-01T11:07:00.000Z", session: "s1-aaaa", event: "stop", exit_code: 0 },
];

function crafted(events: unknown[] = EVENTS): string {
  const path = join(tempDir(), "audit.jsonl");
  writeFileSync(path, lines(...events));
  return path;
}

/** The tool column of each printed line. */
function tools(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => line.split("  ")[2]!);
}

async function log(...args: string[]) {
  const run = await runGateway(["log", ...args]);
  assert.doesNotMatch(run.stdout, /\x1b\[/, "no colours when stdout is not a terminal");
  return run;
}

describe("mcpgate log", () => {
  it("prints one line per call: time, server, tool, decision, rule, reason, duration", async () => {
    const run = await log(crafted());
    assert.equal(run.code, 0);
    assert.equal(run.stderr, "");
    const printed = run.stdout.split("\n").filter((line) => line !== "");
    assert.equal(printed.length, 6);
    assert.equal(printed[0], "2026-01-01T10:00:01Z  weather  forecast  ALLOW  tools.forecast  allowed by tools.forecast  10 ms");
    assert.equal(printed[2], "2026-01-01T10:02:00Z  weather  delete_city  DENY  default  not allowed by policy  -");
    assert.equal(printed[4], "2026-01-01T11:05:00Z  git  git_push  DENY (approval: declined)  tools.git_push  declined by a human  -");
  });

  it("filters by session (or a prefix), server, tool glob, decision and time", async () => {
    const path = crafted();
    assert.deepEqual(tools((await log(path, "--session", "s2")).stdout), ["git_push", "git_push", "git_status"]);
    assert.deepEqual(tools((await log(path, "--server", "weather")).stdout), ["forecast", "forecast", "delete_city"]);
    assert.deepEqual(tools((await log(path, "--server", "git-mcp")).stdout), ["git_push", "git_push", "git_status"]);
    assert.deepEqual(tools((await log(path, "--server", "nobody")).stdout), []);
    assert.deepEqual(tools((await log(path, "--tool", "git_*")).stdout), ["git_push", "git_push", "git_status"]);
    assert.deepEqual(tools((await log(path, "--tool", "forecast")).stdout), ["forecast", "forecast"]);
    assert.deepEqual(tools((await log(path, "--decision", "deny")).stdout), ["delete_city", "git_push"]);
    assert.deepEqual(tools((await log(path, "--decision", "allow")).stdout), ["forecast", "forecast", "git_push", "git_status"]);
    assert.deepEqual(tools((await log(path, "--decision", "approve")).stdout), ["git_push", "git_push"]);
    assert.deepEqual(tools((await log(path, "--since", "2026-01-01T11:05:00Z")).stdout), ["git_push", "git_status"]);
    assert.deepEqual(tools((await log(path, "--server", "weather", "--decision", "allow", "--tool", "fore*")).stdout), ["forecast", "forecast"]);
  });

  it("--since takes a duration back from now", async () => {
    const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();
    const path = crafted([
      { ts: ago(2 * 3_600_000), session: "s", event: "call", tool: "old", decision: "allow" },
      { ts: ago(10 * 60_000), session: "s", event: "call", tool: "recent", decision: "allow" },
    ]);
    assert.deepEqual(tools((await log(path, "--since", "1h")).stdout), ["recent"]);
    assert.deepEqual(tools((await log(path, "--since", "3h")).stdout), ["old", "recent"]);
  });

  it("refuses a bad filter with a sentence saying what was expected", async () => {
    const path = crafted();
    const since = await log(path, "--since", "yesterday");
    assert.equal(since.code, 2);
    assert.match(since.stderr, /--since: expected a duration such as 30m, 1h, 2d or an ISO time .*, got "yesterday"/);
    const decision = await log(path, "--decision", "maybe");
    assert.equal(decision.code, 2);
    assert.match(decision.stderr, /--decision: expected allow, deny or approve, got "maybe"/);
    const glob = await log(path, "--tool", "[oops");
    assert.equal(glob.code, 2);
    assert.match(glob.stderr, /--tool: invalid glob/);
  });

  it("--summary prints a table per server and tool", async () => {
    const run = await log(crafted(), "--summary");
    assert.equal(run.code, 0);
    assert.equal(
      run.stdout,
      [
        "SERVER   TOOL         CALLS  ALLOWED  DENIED  APPROVED  P50_MS  P95_MS",
        "git      git_push         2        1       1         1     200     200",
        "git      git_status       1        1       0         0       5       5",
        "weather  delete_city      1        0       1         0       -       -",
        "weather  forecast         2        2       0         0      10      30",
        "",
      ].join("\n"),
    );
  });

  it("--summary --json prints the rows as a JSON array", async () => {
    const run = await log(crafted(), "--summary", "--json", "--server", "weather");
    assert.deepEqual(JSON.parse(run.stdout), [
      { server: "weather", tool: "delete_city", calls: 1, allowed: 0, denied: 1, approved: 0 },
      { server: "weather", tool: "forecast", calls: 2, allowed: 2, denied: 0, approved: 0, p50: 10, p95: 30 },
    ]);
  });

  it("--json prints the selected call events exactly as written", async () => {
    const run = await log(crafted(), "--json", "--decision", "deny");
    assert.equal(run.code, 0);
    assert.equal(run.stdout, lines(EVENTS[3], EVENTS[6]));
  });

  it("reports a malformed line with its number, skips it, and reads on", async () => {
    const path = join(tempDir(), "audit.jsonl");
    writeFileSync(path, `${JSON.stringify(EVENTS[1])}\n[1,2]\n{"ts": "2026-01-01T10:00:0\n${JSON.stringify(EVENTS[2])}\n`);
    const run = await log(path);
    assert.equal(run.code, 0);
    assert.deepEqual(tools(run.stdout), ["forecast", "forecast"]);
    assert.match(run.stderr, /^mcpgate: .*audit\.jsonl:2: expected a JSON object, got an array; skipped$/m);
    assert.match(run.stderr, /^mcpgate: .*audit\.jsonl:3: not JSON \(.*\); skipped$/m);
  });

  it("a missing file: a clear message and exit 1", async () => {
    const missing = join(tempDir(), "none.jsonl");
    const run = await log(missing);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /no audit log at .*none\.jsonl/);
  });

  it("--follow prints lines as they are appended, and after the log rotates", async () => {
    const path = crafted([EVENTS[1]]);
    const child = spawn(process.execPath, [BIN, "log", "--follow", path], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const waiters: Array<() => void> = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      for (const wake of waiters.splice(0)) wake();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const until = async (tool: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!tools(stdout).includes(tool)) {
        const left = deadline - Date.now();
        assert.ok(left > 0, `--follow did not print ${tool} within 10 s; stdout: ${stdout} stderr: ${stderr}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
    };
    const event = (tool: string) => JSON.stringify({ ts: "2026-01-01T12:00:00.000Z", session: "s", event: "call", tool, decision: "allow" }) + "\n";
    try {
      await until("forecast");
      appendFileSync(path, event("appended"));
      await until("appended");
      // Rotation as the gateway does it: rename, a last line into the renamed file, a new file.
      renameSync(path, `${path}.1`);
      appendFileSync(`${path}.1`, event("late_in_old_file"));
      writeFileSync(path, event("in_new_file"));
      await until("in_new_file");
      appendFileSync(path, event("after_rotation"));
      await until("after_rotation");
      assert.deepEqual(tools(stdout), ["forecast", "appended", "late_in_old_file", "in_new_file", "after_rotation"]);
      assert.equal(stderr, "");
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("reads a real session's log: every call, named by its server", async () => {
    const audit = join(tempDir(), "audit.jsonl");
    const policy = writePolicy('version: "1"\ndefault: deny\ntools:\n  echo: {}\n');
    const session = await runGateway(["--policy", policy, "--audit", audit, "--", ...rawServer()], lines(INIT, call(1, "echo", { text: "hi" }), call(2, "echo", { text: "again" })), {
      until: (stdout) => stdout.includes('"id":1') && stdout.includes('"id":2'),
    });
    assert.equal(session.code, 0);
    await runGateway(["--policy", policy, "--audit", audit, "--", ...rawServer()], lines(INIT, call(3, "secret")), { until: (stdout) => stdout.includes('"id":3') });
    const run = await log(audit);
    assert.equal(run.code, 0);
    const printed = run.stdout.split("\n").filter((line) => line !== "");
    assert.equal(printed.length, 3);
    for (const line of printed.slice(0, 2)) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}raw-server {2}echo {2}ALLOW {2}tools\.echo {2}allowed by tools\.echo {2}[\d.]+ ms$/);
    // Denied before its server answered initialize: named by the other session of the same command.
    assert.match(printed[2]!, /^\S+ {2}raw-server {2}secret {2}DENY {2}default {2}/);
    const summary = await log(audit, "--summary", "--server", "raw-server");
    assert.match(summary.stdout, /^raw-server +echo +2 +2 +0 +0 +[\d.]+ +[\d.]+$/m);
    assert.match(summary.stdout, /^raw-server +secret +1 +0 +1 +0 +- +-$/m);
  });
});
