// npm run bench:startup [-- --rounds N]: time from spawn to the `initialize` response, for the
// byte relay and for mcpgate with and without Node's compile cache (NODE_DISABLE_COMPILE_CACHE=1
// turns off what bin/mcpgate.js enables), in alternating rounds, under the Node that runs this.
// The cache lives in a fresh TMPDIR, filled by one untimed start. Nothing asserted: numbers are
// for people (bench/README.md).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const roundsAt = process.argv.indexOf("--rounds");
const ROUNDS = roundsAt === -1 ? 20 : Number(process.argv[roundsAt + 1]);
const SERVER = [process.execPath, `${ROOT}bench/server.mjs`];
const cacheHome = mkdtempSync(join(tmpdir(), "mcpgate-startup-"));

const TARGETS: Record<string, { argv: string[]; env: NodeJS.ProcessEnv }> = {
  "byte relay": { argv: [process.execPath, `${ROOT}bench/byte-relay.mjs`, ...SERVER], env: {} },
  "mcpgate, compile cache": { argv: [process.execPath, `${ROOT}bin/mcpgate.js`, "--policy", `${ROOT}bench/policy.yaml`, "--no-audit", "--", ...SERVER], env: {} },
  "mcpgate, no compile cache": {
    argv: [process.execPath, `${ROOT}bin/mcpgate.js`, "--policy", `${ROOT}bench/policy.yaml`, "--no-audit", "--", ...SERVER],
    env: { NODE_DISABLE_COMPILE_CACHE: "1" },
  },
};

/** Milliseconds from spawn to the first line on stdout, the answer to `initialize`. */
async function startup(target: { argv: string[]; env: NodeJS.ProcessEnv }): Promise<number> {
  const started = performance.now();
  const child = spawn(target.argv[0]!, target.argv.slice(1), { stdio: ["pipe", "pipe", "ignore"], env: { ...process.env, TMPDIR: cacheHome, ...target.env } });
  child.stdin.write(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n`);
  let out = "";
  const ms = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (out.includes("\n")) resolve(performance.now() - started);
    });
    child.on("close", (code) => reject(new Error(`expected an initialize response, the process exited (${code}) after: ${out}`)));
  });
  const closed = new Promise((resolve) => child.on("close", resolve));
  child.stdin.end();
  await closed;
  return ms;
}

const names = Object.keys(TARGETS);
await startup(TARGETS["mcpgate, compile cache"]!); // fills the cache
const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length]!;
    samples[name]!.push(await startup(TARGETS[name]!));
  }
}
rmSync(cacheHome, { recursive: true, force: true });

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
const quantile = (values: number[], q: number): number => sorted(values)[Math.min(values.length - 1, Math.floor(values.length * q))]!;
console.log(`\nstart-up to the initialize response, ${ROUNDS} alternating rounds, node ${process.version}\n`);
console.log("| target | median (ms) | quartiles (ms) |\n|---|---:|---:|");
for (const name of names) {
  const values = samples[name]!;
  console.log(`| ${name} | ${quantile(values, 0.5).toFixed(1)} | ${quantile(values, 0.25).toFixed(1)}–${quantile(values, 0.75).toFixed(1)} |`);
}
const saved = samples["mcpgate, no compile cache"]!.map((off, round) => off - samples["mcpgate, compile cache"]![round]!);
const overRelay = samples["mcpgate, compile cache"]!.map((on, round) => on - samples["byte relay"]![round]!);
console.log(`\ncompile cache saves, round by round: median ${quantile(saved, 0.5).toFixed(1)} ms (quartiles ${quantile(saved, 0.25).toFixed(1)}–${quantile(saved, 0.75).toFixed(1)})`);
console.log(`mcpgate (compile cache) over the byte relay, round by round: median ${quantile(overRelay, 0.5).toFixed(1)} ms`);
