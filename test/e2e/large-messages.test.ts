// Messages of hundreds of MiB: relayed intact, and what a judged one costs in memory. Apart from
// hardening.test.ts so that each file stays within the test runner's time budget on 2 cores.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN, call, INIT, rawServer, tempDir, writePolicy } from "./helpers.ts";

const POLICY = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n  big: {}\n';

function peakRssMiB(child: { pid?: number }): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;
}

describe("large messages", () => {
  for (const mib of [128, 256]) {
    it(`relays a ${mib} MiB request and its ${mib} MiB result intact`, { timeout: 300_000 }, async () => {
      const text = "z".repeat(mib << 20);
      const request = `${JSON.stringify(call(1, "echo", { text }))}\n`;
      const expected = createHash("sha256")
        .update(`${JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: `echo: ${JSON.stringify({ text })}` }] } })}`)
        .digest("hex");
      const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], { stdio: ["pipe", "pipe", "inherit"] });
      gateway.stdin.write(`${INIT}\n`);
      gateway.stdin.write(request);
      const hash = createHash("sha256");
      let size = 0;
      let seenInit = false;
      for await (const chunk of gateway.stdout as AsyncIterable<Buffer>) {
        let body = chunk;
        if (!seenInit) {
          const newline = body.indexOf(10);
          if (newline === -1) continue;
          seenInit = true;
          body = body.subarray(newline + 1);
        }
        const newline = body.indexOf(10);
        hash.update(newline === -1 ? body : body.subarray(0, newline));
        size += newline === -1 ? body.length : newline;
        if (newline !== -1) break;
      }
      gateway.stdin.end();
      await once(gateway, "close");
      assert.ok(size > mib << 20, `${size} bytes`);
      assert.equal(hash.digest("hex"), expected);
    });
  }

});

describe("memory for a large call", () => {
  it("a judged 128 MiB tools/call peaks below 5 times its size (SECURITY.md), audit on", { timeout: 120_000 }, async (t) => {
    const size = 128 << 20;
    const scratch = tempDir();
    const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(POLICY), "--audit", join(scratch, "audit.jsonl"), "--", ...rawServer()], { stdio: ["pipe", "pipe", "inherit"] });
    const head = `${INIT}\n{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big","arguments":{"bytes":1,"pad":"`;
    const tail = '"}}}\n';
    gateway.stdin.write(head);
    gateway.stdin.write(Buffer.alloc(size - tail.length, 0x61));
    gateway.stdin.write(tail);
    let output = "";
    for await (const chunk of gateway.stdout as AsyncIterable<Buffer>) {
      output += chunk.toString("utf8");
      if (output.includes('"id":1,')) break;
    }
    const peak = peakRssMiB(gateway);
    gateway.stdin.end();
    await once(gateway, "close");
    assert.match(output, /"id":1,"result":\{"content":\[\{"type":"text","text":"x"\}\]\}/);
    // The figure SECURITY.md quotes, printed on every run so a regression shows before it fails.
    t.diagnostic(`gateway peak RSS (VmHWM) ${peak.toFixed(0)} MiB for a 128 MiB call: ${(peak / 128).toFixed(2)}x its size`);
    assert.ok(peak < 5 * 128, `gateway peak RSS ${peak} MiB for a 128 MiB call`);
  });
});

