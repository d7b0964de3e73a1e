// Broken servers and a broken environment: each gets a clear answer, and the gateway's exit
// code says what happened. Fixture: test/fixtures/servers/raw-server.mjs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { once } from "node:events";
import { alive, BIN, call, connect, INIT, lines, rawServer, runGateway, tempDir, text, writePolicy } from "./helpers.ts";

const ALLOW_ALL = 'version: "1"\ndefault: allow\n';

describe("a server that pollutes stdout", () => {
  it("moves its log lines to stderr; the client sees only protocol messages", async () => {
    const gate = await connect(writePolicy(ALLOW_ALL), rawServer("noisy"));
    // The response and the log line before it travel on different pipes: the line may arrive
    // after the response, but before the gateway's stderr ends.
    const logged = gate.stderrMatching(/\[debug\] handling tools\/call/);
    try {
      const result = await gate.client.callTool({ name: "echo", arguments: { text: "hi" } });
      assert.equal(text(result), 'echo: {"text":"hi"}');
    } finally {
      await gate.close();
    }
    const stderr = await logged;
    assert.match(stderr, /server stdout \(not JSON-RPC, not forwarded\): Server starting\.\.\. \(this line is not JSON-RPC\)/);
    assert.match(stderr, /server stdout \(not JSON-RPC, not forwarded\): \[debug\] handling tools\/call/);
  });

  it("never writes a non-protocol byte to stdout", async () => {
    const run = await runGateway(["--policy", writePolicy(ALLOW_ALL), "--no-audit", "--", ...rawServer("noisy")], lines(INIT, call(1, "echo", { text: "x" })), {
      until: (stdout) => stdout.includes('"id":1'),
    });
    assert.equal(run.lines.length, 2);
    for (const line of run.lines) assert.equal((JSON.parse(line) as { jsonrpc: string }).jsonrpc, "2.0");
  });
});

describe("a server that crashes mid-call", () => {
  it("answers the pending call with an error naming the exit, drops the half-written line, and exits with the server's code", async () => {
    const run = await runGateway(["--policy", writePolicy(ALLOW_ALL), "--no-audit", "--", ...rawServer("crash-on-call")], lines(INIT, call(5, "crash")), {
      until: () => false,
    });
    assert.equal(run.code, 3);
    const last = JSON.parse(run.lines.at(-1)!) as { id: number; error: { code: number; message: string } };
    assert.deepEqual(last, { jsonrpc: "2.0", id: 5, error: { code: -32000, message: "mcpgate: the MCP server exited with code 3 before answering tools/call" } });
    assert.match(run.stderr, /server stdout \(not JSON-RPC, not forwarded\): \{"jsonrpc":"2\.0","id":/);
  });
});

describe("a server that exits on its own", () => {
  it("makes the gateway exit with the same code", async () => {
    const run = await runGateway(["--policy", writePolicy(ALLOW_ALL), "--no-audit", "--", ...rawServer("exit-after-init=7")], lines(INIT), { until: () => false });
    assert.equal(run.code, 7);
    assert.equal((JSON.parse(run.lines[0]!) as { id: number }).id, 0);
    assert.match(run.stderr, /the MCP server exited with code 7/);
  });
});

describe("a server command that does not exist", () => {
  it("exits 127 with one clear line naming the command, and no stack trace", async () => {
    const run = await runGateway(["--policy", writePolicy(ALLOW_ALL), "--no-audit", "--", "mcpgate-no-such-server", "--flag"], lines(INIT), { until: () => false });
    assert.equal(run.code, 127);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^mcpgate: cannot start the MCP server "mcpgate-no-such-server": command not found \(PATH=.*\)\n$/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});

describe("shutdown", () => {
  it("escalates to SIGKILL for a server that ignores stdin EOF and SIGTERM, leaving no orphan", async () => {
    const pidFile = join(tempDir(), "pid");
    const started = Date.now();
    const run = await runGateway(
      ["--policy", writePolicy(ALLOW_ALL), "--no-audit", "--shutdown-grace", "150", "--", ...rawServer("stubborn")],
      lines(INIT),
      { env: { PIDFILE: pidFile }, until: (stdout) => stdout.includes('"id":0') },
    );
    assert.equal(run.code, 137, run.stderr);
    assert.ok(Date.now() - started >= 300, "SIGKILL came before two grace periods");
    assert.equal(alive(Number(readFileSync(pidFile, "utf8"))), false);
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    it(`stops the server when the gateway gets ${signal}`, async () => {
      const pidFile = join(tempDir(), "pid");
      const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(ALLOW_ALL), "--no-audit", "--", ...rawServer()], {
        env: { ...process.env, PIDFILE: pidFile },
        stdio: ["pipe", "pipe", "pipe"],
      });
      gateway.stdin.write(lines(INIT));
      await once(gateway.stdout, "data");
      const pid = Number(readFileSync(pidFile, "utf8"));
      gateway.kill(signal);
      const [code] = (await once(gateway, "close")) as [number | null];
      // The server exits 0 when its stdin closes, the first step of the ladder.
      assert.equal(code, 0);
      assert.equal(alive(pid), false);
    });
  }
});

describe("policy problems stop the gateway before any server starts", () => {
  const marker = (): { path: string; server: string[] } => {
    const path = join(tempDir(), "server-ran");
    return { path, server: [process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(path)}, "ran")`] };
  };

  it("an invalid policy: every problem as FILE:LINE:COL, exit 1", async () => {
    const policy = writePolicy('version: "1"\ndefault: maybe\ntools:\n  run:\n    limits: [{ window: minit, max: 3 }]\n    actoin: deny\n');
    const { path, server } = marker();
    const run = await runGateway(["--policy", policy, "--no-audit", "--", ...server]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.split("\n").slice(0, 3).join("\n"),
      [
        `${policy}:2:10: default: expected allow|deny, got "maybe"`,
        `${policy}:5:24: tools.run.limits[0].window: expected second|minute|hour|day or a duration like 30s, got "minit"`,
        `${policy}:6:5: tools.run.actoin: unknown key "actoin" (did you mean "action"?)`,
      ].join("\n"),
    );
    assert.equal(existsSync(path), false);
  });

  it("no policy at all: exit 2 and say how to give one", async () => {
    const { path, server } = marker();
    const env = { MCPGATE_POLICY: "" };
    const run = await runGateway(["--no-audit", "--", ...server], "", { env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no policy given: pass --policy FILE or set MCPGATE_POLICY/);
    assert.match(run.stderr, /mcpgate init -o policy\.yaml -- COMMAND \[ARGS\.\.\.\]/, "it says how to make one");
    assert.equal(existsSync(path), false);
  });

  it("a policy file that does not exist: exit 1", async () => {
    const { path, server } = marker();
    const run = await runGateway(["--policy", "/nonexistent/policy.yaml", "--", ...server]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^\/nonexistent\/policy\.yaml:1:1: cannot read policy: no such file$/m);
    assert.equal(existsSync(path), false);
  });

  it("MCPGATE_POLICY is used when --policy is not given", async () => {
    const policy = writePolicy('version: "1"\ndefault: deny\n');
    const run = await runGateway(["--no-audit", "--", ...rawServer()], lines(INIT, call(1, "echo")), {
      env: { MCPGATE_POLICY: policy },
      until: (stdout) => stdout.includes('"id":1'),
    });
    assert.match(run.stdout, /\[POLICY DENIED\] echo: not allowed by policy/);
  });
});
