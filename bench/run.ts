// npm run bench [-- --quick]: the server direct, a minimal byte relay, a relay built on the
// SDK's stdio transports, and mcpgate with a realistic policy, each driven by the same raw
// client. Medians over several runs; ratios against the byte relay. Then mcpgate with the
// benchmark tool's limits counted in a Redis it starts (global.ts), against mcpgate in memory.
// Nothing here asserts a time: the numbers are for people (bench/README.md).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Connection, cpuUs } from "./connection.ts";
import { runDecisionBench } from "./decision.ts";
import { expectedSha, logsSha } from "./expected.ts";
import { GLOBAL, globalReport, startGlobalStore, type GlobalSample } from "./global.ts";
import { cell, renderTable } from "./table.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const quick = process.argv.includes("--quick");
/** Calls before latency is measured: `--warmup N` (default 200) to see steady state. */
const warmupAt = process.argv.indexOf("--warmup");
const WARMUP = warmupAt === -1 ? 200 : Number(process.argv[warmupAt + 1]);
/** `--runs N` (default 5): more runs narrow the medians, each run taking about two minutes. */
const runsAt = process.argv.indexOf("--runs");
const RUNS = quick ? 1 : runsAt === -1 ? 5 : Number(process.argv[runsAt + 1]);
const LATENCY_CALLS = quick ? 500 : 3000;
const THROUGHPUT_CALLS = quick ? 5_000 : 30_000;
const IN_FLIGHT = 64;
const LARGE = quick ? [16 << 20] : [16 << 20, 128 << 20];
/** `--redact`: only the redaction rows (a 16 MiB result through a tool with `redact`), with the byte relay's time for the same result. */
const redactOnly = process.argv.includes("--redact");

/**
 * `--pin` (Linux, needs taskset and 2 CPUs): the client and the relay on CPU 0, the server on
 * CPU 1. Left to itself, the kernel puts the relay on the client's core in some runs and not in
 * others, and on a small VM a hand-off between cores costs more than a relay's work: the same
 * build's added latency then moves by half from run to run. Pinned, every target gets the same
 * placement, so what differs is what sits in between.
 */
const pin = process.argv.includes("--pin");
if (pin && process.env.MCPGATE_BENCH_PINNED === undefined) {
  // The client is this process: run it again under taskset.
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const pinned = spawnSync("taskset", ["-c", "0", ...argv], { stdio: "inherit", env: { ...process.env, MCPGATE_BENCH_PINNED: "1" } });
  if (pinned.error) throw pinned.error;
  process.exit(pinned.status ?? 1);
}
const onCpu = (cpu: number, argv: string[]): string[] => (pin ? ["taskset", "-c", String(cpu), ...argv] : argv);

const SERVER = onCpu(1, [process.execPath, `${ROOT}bench/server.mjs`]);
const TARGETS: Record<string, string[]> = {
  direct: SERVER,
  "byte relay": onCpu(0, [process.execPath, `${ROOT}bench/byte-relay.mjs`, ...SERVER]),
  "sdk relay": onCpu(0, [process.execPath, `${ROOT}bench/sdk-relay.mjs`, ...SERVER]),
  mcpgate: onCpu(0, [process.execPath, `${ROOT}bin/mcpgate.js`, "--policy", `${ROOT}bench/policy.yaml`, "--no-audit", "--", ...SERVER]),
};
const only = process.env.BENCH_ONLY?.split(",");
// The same gateway with echo's limits in a redis-server of its own (not for the redaction rows: no large result has a global limit).
const store = redactOnly || (only !== undefined && !only.includes(GLOBAL)) ? undefined : await startGlobalStore(`${ROOT}bench/policy.yaml`);
if (store !== undefined && "policy" in store) TARGETS[GLOBAL] = TARGETS.mcpgate!.map((arg) => (arg === `${ROOT}bench/policy.yaml` ? store.policy : arg));

const median = (values: number[]): number =>
  values.some(Number.isNaN) ? Number.NaN : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
};

/** One large answer, each in a fresh process of the target so that its peak RSS is that transfer's. */
interface Transfer {
  label: string;
  tool: string;
  bytes: number;
  /** The sha256 of the answer the target must deliver (mcpgate redacts what bench/policy.yaml says). */
  expected(id: number, target: string): string;
}
const TRANSFERS: Transfer[] = [
  ...(redactOnly ? [] : LARGE.map((bytes): Transfer => ({ label: `${bytes >> 20} MiB result`, tool: "big", bytes, expected: (id) => expectedSha(bytes, id) }))),
  // The same 16 MiB result as big's, through a tool with redact: { secrets: true } (nothing in it to redact).
  { label: "16 MiB result, redact", tool: "big_redacted", bytes: 16 << 20, expected: (id) => expectedSha(16 << 20, id) },
  // 16 MiB of log-like text with a secret every MiB, redacted by mcpgate only.
  { label: "16 MiB log text, redact", tool: "logs", bytes: 16 << 20, expected: (id, target) => logsSha(16 << 20, id, target === "mcpgate") },
];

interface Sample extends GlobalSample {
  startupMs: number;
  large: Record<string, { ms: number; rssMiB: number; intact: boolean }>;
}

async function measure(name: string, argv: string[]): Promise<Sample> {
  const denied: Sample["denied"] = { count: 0 };
  const count = (reply: { denied?: string }): void => {
    if (reply.denied === undefined) return;
    denied.count++;
    denied.first ??= reply.denied;
  };
  if (redactOnly) {
    const none = Number.NaN;
    return { startupMs: none, p50Us: none, p99Us: none, cpuUs: none, callsPerSec: none, denied, large: await transfers(name, argv) };
  }
  const started = performance.now();
  const connection = new Connection(argv);
  await connection.initialize();
  const startupMs = performance.now() - started;

  for (let i = 0; i < WARMUP; i++) count(await connection.call("echo", { text: "warm" }));
  const rtts: number[] = [];
  const cpuBefore = cpuUs(connection.child.pid);
  for (let i = 0; i < LATENCY_CALLS; i++) {
    const t = performance.now();
    count(await connection.call("echo", { text: `call ${i}` }));
    rtts.push((performance.now() - t) * 1000);
  }
  const cpuPerCall = (cpuUs(connection.child.pid) - cpuBefore) / LATENCY_CALLS;

  const t = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < THROUGHPUT_CALLS) {
        sent++;
        const reply = await connection.call("echo", { text: "pipelined" });
        if (reply.error) throw new Error(reply.error);
        count(reply);
      }
    }),
  );
  const callsPerSec = THROUGHPUT_CALLS / ((performance.now() - t) / 1000);
  await connection.close();

  // The global target's large results would be the in-memory gateway's: no large result has a global limit.
  const large = name === GLOBAL ? {} : await transfers(name, argv);
  return { startupMs, p50Us: percentile(rtts, 50), p99Us: percentile(rtts, 99), cpuUs: cpuPerCall, callsPerSec, denied, large };
}

async function transfers(name: string, argv: string[]): Promise<Sample["large"]> {
  const large: Sample["large"] = {};
  for (const { label, tool, bytes, expected } of TRANSFERS) {
    // A fresh process per transfer, so its peak RSS is that transfer's.
    const fresh = new Connection(argv);
    await fresh.initialize();
    if (tool === "logs") await fresh.call(tool, { bytes, prepare: true });
    const begin = performance.now();
    // A relay that loses the message never answers: give up after a generous 30 s.
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([fresh.call(tool, { bytes }), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 30_000)))]);
    clearTimeout(timer);
    const ms = performance.now() - begin;
    const rssMiB = fresh.peakRssMiB();
    const intact = reply?.sha256 === expected(fresh.lastId, name);
    large[label] = { ms: intact ? ms : Number.NaN, rssMiB, intact };
    if (!intact) fresh.child.kill("SIGKILL");
    await fresh.close();
  }
  return large;
}

// The SDK relay loses large results: the redaction rows leave it out unless asked for. The global target is set against mcpgate.
const wanted = (name: string): boolean => (only === undefined ? !(redactOnly && name === "sdk relay") : only.includes(name) || (name === "mcpgate" && store !== undefined));
const names = Object.keys(TARGETS).filter((name) => wanted(name) || name === "byte relay" || name === "direct");
const samples: Record<string, Sample[]> = Object.fromEntries(names.map((name) => [name, []]));
try {
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order so no target always runs first (or last) on a warm machine.
    const order = names.map((_, i) => names[(i + run) % names.length]!);
    for (const name of order) {
      process.stderr.write(`run ${run + 1}/${RUNS}: ${name}...\n`);
      if (name === GLOBAL && store !== undefined && "reset" in store) await store.reset();
      samples[name]!.push(await measure(name, TARGETS[name]!));
      if (name === GLOBAL && store !== undefined && "cost" in store) samples[name]!.at(-1)!.store = await store.cost(WARMUP + LATENCY_CALLS + THROUGHPUT_CALLS);
    }
  }
} finally {
  if (store !== undefined && "stop" in store) await store.stop();
}
// The main table: every target but the global one, which has a table of its own.
const tableNames = names.filter((name) => name !== GLOBAL);

const med = (name: string, pick: (sample: Sample) => number): number => median(samples[name]!.map(pick));
// Each row: its label, the value of one sample, and what a value that could not be had shows as.
const rows: Array<[string, (sample: Sample) => number, string]> = [
  ...(redactOnly
    ? []
    : ([
        ["initialize response (ms)", (s) => s.startupMs, "lost"],
        ["tools/call p50 (µs)", (s) => s.p50Us, "lost"],
        ["tools/call p99 (µs)", (s) => s.p99Us, "lost"],
        ["CPU per sequential call (µs)", (s) => s.cpuUs, "n/a"],
        ["pipelined calls/s (64 in flight)", (s) => s.callsPerSec, "lost"],
      ] as Array<[string, (sample: Sample) => number, string]>)),
  ...TRANSFERS.flatMap(({ label }): Array<[string, (sample: Sample) => number, string]> => [
    [`${label} (ms)`, (s) => s.large[label]!.ms, "lost"],
    [`${label.replace(" result", "")} peak RSS (MiB)`, (s) => s.large[label]!.rssMiB, "lost"],
  ]),
];

const header = ["", ...tableNames, "mcpgate / byte relay"];
const table: string[][] = [header];
for (const [label, pick, missing] of rows) {
  const values = tableNames.map((name) => med(name, pick));
  const ratio = med("mcpgate", pick) / med("byte relay", pick);
  table.push([label, ...values.map((value) => cell(value, missing)), Number.isNaN(ratio) ? missing : `${ratio.toFixed(2)}×`]);
}
// Added latency: what each relay adds over talking to the server directly.
for (const [label, pick] of redactOnly ? [] : ([["added p50 (µs)", (s: Sample) => s.p50Us], ["added p99 (µs)", (s: Sample) => s.p99Us]] as const)) {
  const added = (name: string): number => med(name, pick) - med("direct", pick);
  table.push([label, ...tableNames.map((name) => (name === "direct" ? "—" : cell(added(name)))), `${(added("mcpgate") / added("byte relay")).toFixed(2)}×`]);
}
// The same ratios paired run by run: the medians above can come from different runs, and
// unpinned, where the kernel places the three processes changes from run to run.
const paired = (pick: (sample: Sample) => number): number[] =>
  samples.mcpgate!.map((sample, run) => (pick(sample) - pick(samples.direct![run]!)) / (pick(samples["byte relay"]![run]!) - pick(samples.direct![run]!)));
const pairedLines = samples.mcpgate === undefined || redactOnly ? [] : (["p50", "p99"] as const).map((p) => {
  const ratios = paired((sample) => (p === "p50" ? sample.p50Us : sample.p99Us));
  return `  added ${p}: median ${median(ratios).toFixed(2)}× (runs: ${ratios.map((ratio) => `${ratio.toFixed(2)}×`).join(" ")})`;
});
// A redacted result's time over the byte relay's for the same result, run by run.
const redactLines =
  samples.mcpgate === undefined
    ? []
    : TRANSFERS.filter(({ label }) => label.endsWith("redact")).map(({ label }) => {
        const ratios = samples.mcpgate!.map((sample, run) => sample.large[label]!.ms / samples["byte relay"]![run]!.large[label]!.ms);
        return `  ${label}: median ${median(ratios).toFixed(2)}× (runs: ${ratios.map((ratio) => `${ratio.toFixed(2)}×`).join(" ")})`;
      });
const lost = tableNames.filter((name) => samples[name]!.some((sample) => Object.values(sample.large).some((large) => !large.intact)));

console.log(
  `\nmcpgate benchmark: ${RUNS} run(s), medians; ${redactOnly ? "redaction rows only" : `${LATENCY_CALLS} sequential calls after ${WARMUP} warm-up calls, ${THROUGHPUT_CALLS} pipelined`}; node ${process.version}${pin ? "; pinned: client and relay on CPU 0, server on CPU 1" : ""}\n`,
);
console.log(renderTable(table).join("\n"));
if (pairedLines.length > 0) console.log(`\nmcpgate / byte relay, run by run (each run's own direct server subtracted):\n${pairedLines.join("\n")}`);
if (redactLines.length > 0) console.log(`\nredacted result time / byte relay's for the same result, run by run:\n${redactLines.join("\n")}`);
console.log(`\nlarge results arrived intact (sha256 checked) through: ${tableNames.filter((name) => !lost.includes(name)).join(", ")}${lost.length ? `; lost or corrupted by: ${lost.join(", ")}` : ""}`);

if (store !== undefined) console.log(globalReport(samples.mcpgate!, "missing" in store ? store.missing : samples[GLOBAL]!, "url" in store ? store.url : "").join("\n"));

if (!redactOnly) runDecisionBench(quick);
