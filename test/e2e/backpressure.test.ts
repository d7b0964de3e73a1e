// Backpressure on what mcpgate writes itself: a client that sends calls mcpgate denies (so the
// server never sees them) and never reads its stdout must not grow mcpgate's memory. mcpgate
// stops reading the client until its replies drain; once the client reads, every call gets
// exactly one reply.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { BIN, INIT, rawServer, writePolicy } from "./helpers.ts";

const CALLS = 100_000;
/** Each call carries 1 KiB of padding: about 100 MiB in all. */
const PAD = "p".repeat(1024);

function status(pid: number, field: "VmHWM" | "VmRSS"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/** Bytes the process has read so far (all its reads: stdin above all). */
function bytesRead(pid: number): number {
  return Number(/rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))![1]);
}

describe("backpressure on mcpgate's own replies", () => {
  it(`a client that sends ${CALLS} denied calls (about 100 MiB) without reading stays bounded, then gets every reply once`, { timeout: 180_000 }, async () => {
    const policy = writePolicy('version: "1"\ndefault: deny\ntools:\n  echo: {}\n');
    // stderr goes nowhere: every denial is also logged there, and an unread pipe would block it.
    const gateway = spawn(process.execPath, [BIN, "--policy", policy, "--no-audit", "--", ...rawServer()], { stdio: ["pipe", "pipe", "ignore"] });
    gateway.stdout.pause();
    const pid = gateway.pid!;
    // A failed assertion must not leave a gateway behind, blocked on a pipe nobody reads.
    after(() => gateway.kill("SIGKILL"));
    const lines = [INIT];
    for (let id = 1; id <= CALLS; id++) lines.push(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"nope","arguments":{"pad":"${PAD}"}}}`);
    const input = Buffer.from(`${lines.join("\n")}\n`);
    let written = false;
    gateway.stdin.on("error", () => {});
    gateway.stdin.write(input, () => (written = true));

    // Nothing signals that a process has stopped reading: watch what it has read until it stops
    // moving (or all of it was taken, as a gateway without backpressure would).
    let last = -1;
    let still = 0;
    while (!written && still < 10) {
      await delay(100);
      const read = bytesRead(pid);
      still = read === last ? still + 1 : 0;
      last = read;
    }
    const stalledRss = status(pid, "VmRSS");
    assert.equal(written, false, "the gateway read all the input while its replies were not read");

    const seen = new Set<number>();
    let duplicates = 0;
    let peak = 0;
    let rest = "";
    gateway.stdout.on("data", (chunk: Buffer) => {
      const text = rest + chunk.toString("utf8");
      const parts = text.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        const id = (JSON.parse(line) as { id: number }).id;
        if (seen.has(id)) duplicates++;
        seen.add(id);
      }
      if (seen.size === CALLS + 1) {
        peak = status(pid, "VmHWM");
        gateway.stdin.end();
      }
    });
    gateway.stdout.resume();
    await once(gateway, "close");
    assert.equal(duplicates, 0);
    assert.equal(seen.size, CALLS + 1, "one reply for initialize and for each call");
    console.log(`# gateway RSS ${stalledRss.toFixed(0)} MiB while the client was not reading; peak ${peak.toFixed(0)} MiB over the session`);
    assert.ok(stalledRss < 150, `gateway held ${stalledRss} MiB while the client was not reading`);
    assert.ok(peak < 150, `gateway peak RSS ${peak} MiB`);
  });
});
