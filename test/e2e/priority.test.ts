// The gateway's helper threads run at the lowest priority once it relays; its main thread and
// the server it started keep the priority mcpgate was given (src/relay/threads.ts).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { constants, getPriority } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN, call, INIT, lines, rawServer, tempDir, writePolicy } from "./helpers.ts";

/** The niceness of each thread of process `pid`, by thread id (field 19 of its stat line). */
function niceness(pid: number): Map<number, number> {
  const threads = new Map<number, number>();
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, "utf8");
    threads.set(Number(thread), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
  }
  return threads;
}

const LOWEST = constants.priority.PRIORITY_LOW;
const skip = process.platform !== "linux" ? "per-thread priorities are set on Linux only" : getPriority() === LOWEST ? "the tests already run at the lowest priority" : false;

describe("thread priorities", { skip }, () => {
  it("lowers every thread of the gateway but the main one, and leaves the server alone", async () => {
    const ours = getPriority();
    const pidFile = join(tempDir(), "server.pid");
    const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy('version: "1"\ndefault: allow\n'), "--no-audit", "--", ...rawServer()], {
      env: { ...process.env, PIDFILE: pidFile },
      stdio: ["pipe", "pipe", "inherit"],
    });
    let stdout = "";
    const answered = new Promise<void>((resolve, reject) => {
      gateway.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        if (stdout.split("\n").length > 2) resolve();
      });
      gateway.on("close", (code) => reject(new Error(`the gateway exited (${code}) before answering: ${stdout}`)));
    });
    gateway.stdin.write(lines(INIT, call(1, "echo")));
    try {
      await answered;
      const threads = niceness(gateway.pid!);
      assert.equal(threads.get(gateway.pid!), ours, "the main thread relays every message");
      const helpers = [...threads].filter(([id]) => id !== gateway.pid);
      assert.ok(helpers.length > 0, "a Node process has helper threads");
      for (const [id, nice] of helpers) assert.equal(nice, LOWEST, `thread ${id}`);
      for (const nice of niceness(Number(readFileSync(pidFile, "utf8"))).values()) assert.equal(nice, ours, "the server");
    } finally {
      gateway.stdin.end();
      await once(gateway, "close");
    }
  });
});
