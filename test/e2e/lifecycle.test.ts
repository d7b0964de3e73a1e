// The server never outlives the gateway, however the gateway ends: SIGKILLed (the watchdog
// stops the server's process group), failing with an internal error (the stop ladder runs, then
// exit 70), or a normal end (no watchdog left behind, nothing of the server's group either).
// Fixtures: test/fixtures/servers/raw-server.mjs and the preload test/fixtures/crash-on-signal.mjs.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { alive, BIN, FIXTURES, INIT, lines, rawServer, tempDir, writePolicy } from "./helpers.ts";

const ALLOW_ALL = 'version: "1"\ndefault: allow\n';
/** How long a process may take to go once it should, on a loaded machine. */
const SLACK_MS = 5_000;
const posixOnly = { skip: process.platform === "win32" ? "Windows: no process groups, no watchdog (README, Lifecycle)" : false };

interface Session {
  gateway: ChildProcessWithoutNullStreams;
  /** The server's pid, then its grandchild's (mode grandchild). */
  pids: number[];
  stdout(): string;
  stderr(): string;
}

/** Starts the gateway around raw-server `modes`, sends initialize, and resolves once it is answered. */
async function start(modes: string[], options: { grace: number; env?: Record<string, string>; detached?: boolean }): Promise<Session> {
  const pidFile = join(tempDir(), "pid");
  const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(ALLOW_ALL), "--no-audit", "--shutdown-grace", String(options.grace), "--", ...rawServer(...modes)], {
    env: { ...process.env, PIDFILE: pidFile, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let stdout = "";
  let stderr = "";
  gateway.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const answered = new Promise<void>((resolve, reject) => {
    gateway.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (stdout.includes("\n")) resolve();
    });
    gateway.once("exit", (code, signal) => reject(new Error(`the gateway exited (${code ?? signal}) before answering initialize: ${stderr}`)));
  });
  gateway.stdin.on("error", () => {});
  gateway.stdin.write(lines(INIT));
  await answered;
  // The server wrote its pid file before reading initialize, so it is there now.
  const pids = readFileSync(pidFile, "utf8").split(" ").map(Number);
  return { gateway, pids, stdout: () => stdout, stderr: () => stderr };
}

/** Resolves once none of `pids` runs, with the milliseconds since `since`; rejects after `withinMs`. */
async function gone(pids: number[], since: number, withinMs: number): Promise<number> {
  // No event tells one process of another's death: poll, with a deadline.
  while (pids.some(alive)) {
    if (performance.now() - since > withinMs) throw new Error(`still running ${withinMs} ms later: ${pids.filter(alive).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - since;
}

/** The command lines of `pid`'s children, by pid (`ps -A`: also on macOS, which has no --ppid). */
function children(pid: number): Map<number, string> {
  const found = new Map<number, string>();
  for (const line of execFileSync("ps", ["-A", "-o", "pid=,ppid=,args="], { encoding: "utf8" }).split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (match !== null && Number(match[2]) === pid) found.set(Number(match[1]), match[3]!);
  }
  return found;
}

describe("a gateway killed with SIGKILL", posixOnly, () => {
  it("leaves no server behind: one that ignores stdin EOF gets SIGTERM from the watchdog at once", async () => {
    const grace = 10_000;
    const session = await start(["ignore-eof"], { grace });
    const [server] = session.pids as [number];
    const killed = performance.now();
    session.gateway.kill("SIGKILL");
    await once(session.gateway, "exit");
    // Well within the grace: SIGTERM came first, not SIGKILL after waiting.
    const took = await gone([server], killed, SLACK_MS);
    assert.ok(took < grace, `gone after ${took} ms`);
  });

  it("leaves no server behind, nor its child, when both ignore stdin EOF and SIGTERM: SIGKILL after the grace", async () => {
    const grace = 200;
    const session = await start(["ignore-eof", "ignore-term", "grandchild"], { grace });
    assert.equal(session.pids.length, 2);
    const [server, grandchild] = session.pids as [number, number];
    assert.ok(alive(server) && alive(grandchild));
    const killed = performance.now();
    session.gateway.kill("SIGKILL");
    // (Not "close": the server and its child share the gateway's stderr until they die.)
    await once(session.gateway, "exit");
    const took = await gone([server, grandchild], killed, grace + SLACK_MS);
    assert.ok(took >= grace, `SIGTERM was not ignored, or SIGKILL came before the grace: gone after ${took} ms`);
  });
});

describe("an internal error in the gateway", posixOnly, () => {
  const preload = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${pathToFileURL(join(FIXTURES, "crash-on-signal.mjs")).href}`.trim() };

  for (const [kind, modes, message] of [
    ["an uncaught exception", ["ignore-eof", "ignore-term"], "Error: test crash"],
    ["an unhandled rejection", ["ignore-eof"], "Error: test crash (rejection)"],
  ] as const) {
    it(`${kind}: the stop ladder runs to its end, one stderr line, exit 70`, async () => {
      const grace = 150;
      const session = await start([...modes], { grace, env: { ...preload, ...(kind === "an unhandled rejection" ? { CRASH: "reject" } : {}) } });
      const [server] = session.pids as [number];
      const closed = once(session.gateway, "close");
      const failed = performance.now();
      session.gateway.kill("SIGUSR2");
      const [code] = (await once(session.gateway, "exit")) as [number | null];
      const took = performance.now() - failed;
      // The watchdog acts only once the gateway is gone: a server already dead here was stopped by the gateway.
      assert.equal(alive(server), false, "the server outlived the gateway");
      assert.equal(code, 70, session.stderr());
      // Stdin closed, then SIGTERM after the grace; the one that ignores SIGTERM gets SIGKILL a grace later.
      assert.ok(took >= (modes.length === 2 ? 2 * grace : grace), `the ladder took ${took} ms`);
      await closed;
      const errorLines = session.stderr().split("\n").filter((line) => line.includes("internal error"));
      assert.equal(errorLines.length, 1, session.stderr());
      assert.match(errorLines[0]!, new RegExp(`^mcpgate: internal error: ${message.replace(/[()]/g, "\\$&")} \\(at .*crash-on-signal\\.mjs:\\d+:\\d+\\)$`));
      assert.doesNotMatch(session.stderr(), /\n\s+at /, "no stack trace");
      for (const line of session.stdout().split("\n").filter((line) => line !== "")) {
        assert.equal((JSON.parse(line) as { jsonrpc: string }).jsonrpc, "2.0");
      }
    });
  }
});

describe("a normal end", posixOnly, () => {
  it("exits with the server's code and leaves no watchdog behind", async () => {
    const grace = 10_000;
    const session = await start(["eof-exit=5"], { grace });
    const [server] = session.pids as [number];
    const watchdogs = [...children(session.gateway.pid!)].filter(([, args]) => args.includes("mcpgate-watchdog"));
    assert.equal(watchdogs.length, 1, `children: ${JSON.stringify([...children(session.gateway.pid!)])}`);
    const [[watchdog, args]] = watchdogs as [[number, string]];
    assert.match(args, new RegExp(` ${server} 200$`), "it watches the server's group, with a grace of 200 steps of 50 ms");
    const closed = performance.now();
    session.gateway.stdin.end();
    const [code] = (await once(session.gateway, "exit")) as [number | null];
    assert.equal(code, 5);
    assert.equal(alive(server), false);
    // Well within the grace: with the server's group gone there was nothing to wait for.
    const took = await gone([watchdog], closed, SLACK_MS);
    assert.ok(took < grace, `the watchdog lasted ${took} ms`);
  });

  it("stops what the server left running in its group", async () => {
    const grace = 200;
    const session = await start(["grandchild"], { grace });
    const [server, grandchild] = session.pids as [number, number];
    const closed = performance.now();
    session.gateway.stdin.end();
    const [code] = (await once(session.gateway, "exit")) as [number | null];
    assert.equal(code, 0);
    // It ignores SIGTERM: SIGKILL comes a grace after the server exited.
    await gone([server, grandchild], closed, grace + SLACK_MS);
  });

  it("a SIGINT to the gateway's process group (Ctrl-C in a terminal) reaches the gateway alone, which stops the server by the ladder", async () => {
    // The gateway leads a group, as a shell's foreground job does; a terminal's Ctrl-C signals the whole group.
    const session = await start(["eof-exit=5"], { grace: 10_000, detached: true });
    process.kill(-session.gateway.pid!, "SIGINT");
    const [code] = (await once(session.gateway, "exit")) as [number | null];
    // A server that got the SIGINT itself would have died of it (130); this one saw its stdin close.
    assert.equal(code, 5, session.stderr());
  });
});
