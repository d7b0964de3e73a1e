// npm run bench:memory: the gateway's peak RSS while a client reads at 1 MiB/s, and while a
// 128 MiB result passes through. Backpressure should keep the first near the idle footprint.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SERVER = [process.execPath, `${ROOT}test/fixtures/servers/raw-server.mjs`];
const POLICY = `${ROOT}bench/policy.yaml`;
const MiB = 1 << 20;

function peakRss(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

async function run(label: string, call: object, readBytesPerSecond: number | undefined, done: (text: string) => boolean): Promise<void> {
  const gateway = spawn(process.execPath, [`${ROOT}bin/mcpgate.js`, "--policy", POLICY, "--no-audit", "--", ...SERVER], { stdio: ["pipe", "pipe", "inherit"] });
  const init = { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "m", version: "1" } } };
  gateway.stdin.write(`${JSON.stringify(init)}\n${JSON.stringify(call)}\n`);
  const started = performance.now();
  let received = 0;
  let tail = "";
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, peakRss(gateway.pid!))), 100);
  gateway.stdout.on("data", (chunk: Buffer) => {
    received += chunk.length;
    tail = (tail + chunk.toString("latin1", Math.max(0, chunk.length - 200))).slice(-400);
    if (done(tail)) gateway.stdin.end();
    if (readBytesPerSecond !== undefined) {
      gateway.stdout.pause();
      setTimeout(() => gateway.stdout.resume(), (chunk.length / readBytesPerSecond) * 1000);
    }
  });
  await once(gateway.stdout, "end");
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label.padEnd(52)} ${(received / MiB).toFixed(1)} MiB in ${seconds.toFixed(1)} s, gateway peak RSS ${peak.toFixed(0)} MiB`);
  await once(gateway, "close");
}

const flood = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "flood", arguments: { count: 24, bytes: MiB } } };
await run("client reading at 1 MiB/s, 24 × 1 MiB notifications", flood, MiB, (tail) => tail.includes("flooded 24"));
const big = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "big", arguments: { bytes: 128 * MiB } } };
await run("client reading at full speed, one 128 MiB result", big, undefined, (tail) => tail.includes('"}]}}'));
