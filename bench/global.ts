// The "mcpgate global" target of bench/run.ts (issue 17): the same gateway and policy as the
// "mcpgate" target, except that echo's limits (the tool every timed call goes through) have
// `scope: global` and are counted in a redis-server that the benchmark starts on a free loopback
// port and stops at the end. Every max stays as high as in policy.yaml, so nothing is denied, and
// the store is emptied before each run, so every run starts from the same counters. Its table
// sets it against the in-memory gateway: what the store's round trip adds to one call, and the
// share of the in-memory throughput kept with 64 calls in flight.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { parseDocument } from "yaml";
import { tempDir } from "../test/e2e/helpers.ts";
import { startRedis } from "../test/e2e/redis-server.ts";
import { cell, renderTable } from "./table.ts";

export const GLOBAL = "mcpgate global";
/** The issue's goal: with 64 calls in flight, at least this share of the in-memory throughput. */
const THROUGHPUT_GOAL = 0.5;

/** `text` (a policy) with echo's limits counted in the store at `url`: the same windows and maxima, `scope: global`. */
export function globalPolicy(text: string, url: string): string {
  const document = parseDocument(text);
  document.set("store", url);
  document.set("namespace", "bench");
  const limits = (document.getIn(["tools", "echo", "limits"]) as { toJSON(): unknown[] }).toJSON();
  const global = limits.map((limit) => {
    if (typeof limit !== "string") return { ...(limit as object), scope: "global" };
    // A shorthand like "100000000/hour" has no counter name, and a global limit needs one.
    const shorthand = /^(\d+)\/(\w+)$/.exec(limit);
    if (shorthand === null) throw new Error(`bench/policy.yaml: tools.echo.limits: expected N/window or a limit object, got ${JSON.stringify(limit)}`);
    return { counter: `echo_per_${shorthand[2]}`, max: Number(shorthand[1]), window: shorthand[2], scope: "global" };
  });
  document.setIn(["tools", "echo", "limits"], global);
  return document.toString();
}

/** What redis-server spent per tools/call since the last reset: running the script, and all its CPU (network included); and how many calls a script run judged (a batch, src/store/batch.ts). */
export interface StoreCost {
  scriptUs: number;
  cpuUs: number;
  callsPerRun: number;
}

export type GlobalStore = { url: string; policy: string; reset(): Promise<void>; cost(calls: number): Promise<StoreCost>; stop(): Promise<void> } | { missing: string };

/** redis-server's CPU seconds so far (INFO cpu), user and system. */
const cpuSeconds = (info: string): number => Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);

/** A redis-server on a free loopback port and the policy that counts in it, or why there is none. */
export async function startGlobalStore(policyPath: string): Promise<GlobalStore> {
  let server: Awaited<ReturnType<typeof startRedis>>;
  try {
    server = await startRedis();
  } catch (error) {
    const { message } = error as Error;
    return { missing: /not on PATH/.test(message) ? "redis-server not found" : `redis-server did not start: ${message.split("\n")[0]}` };
  }
  const policy = join(tempDir(), "policy-global.yaml");
  writeFileSync(policy, globalPolicy(readFileSync(policyPath, "utf8"), server.url));
  const admin = new Redis(server.url);
  let cpuAtReset = 0;
  return {
    url: server.url,
    policy,
    async reset() {
      await admin.flushall();
      await admin.config("RESETSTAT");
      cpuAtReset = cpuSeconds(await admin.info("cpu"));
    },
    // `calls`: the tools/calls made since the reset; one script run may judge many.
    async cost(calls) {
      const cpu = cpuSeconds(await admin.info("cpu")) - cpuAtReset;
      let runs = 0;
      let usec = 0;
      for (const [, count, spent] of (await admin.info("commandstats")).matchAll(/cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)/g)) {
        runs += Number(count);
        usec += Number(spent);
      }
      return { scriptUs: usec / calls, cpuUs: (cpu * 1e6) / calls, callsPerRun: calls / runs };
    },
    async stop() {
      admin.disconnect();
      await server.stop();
    },
  };
}

/** What the global table needs of one run of a target. */
export interface GlobalSample {
  p50Us: number;
  p99Us: number;
  /** CPU the process the client talks to spent per sequential call (the relay's own, or the server's direct). */
  cpuUs: number;
  callsPerSec: number;
  /** Calls answered with a denial (an isError result), and the first one's text. */
  denied: { count: number; first?: string };
  /** The global target's: what the store spent per call. */
  store?: StoreCost;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const times = (ratio: number): string => `${ratio.toFixed(2)}×`;

/** The lines that set the global target against the in-memory one, run by run paired; `global` is why there is none when there is none. */
export function globalReport(inMemory: GlobalSample[], global: GlobalSample[] | string, store: string): string[] {
  const header = ["", "mcpgate", GLOBAL, "global / in-memory"];
  const rows: Array<[string, (sample: GlobalSample) => number]> = [
    ["tools/call p50 (µs)", (s) => s.p50Us],
    ["tools/call p99 (µs)", (s) => s.p99Us],
    ["CPU per sequential call (µs)", (s) => s.cpuUs],
    ["pipelined calls/s (64 in flight)", (s) => s.callsPerSec],
  ];
  const med = (samples: GlobalSample[], pick: (sample: GlobalSample) => number): number => median(samples.map(pick));
  const title = `\nglobal limits: echo's limits with scope: global, counted in ${typeof global === "string" ? "redis-server" : store} (store_timeout 250 ms), against the same limits in memory:\n`;
  if (typeof global === "string") {
    const missing = `n/a (${global})`;
    const table = [header, ...rows.map(([label, pick]) => [label, cell(med(inMemory, pick)), missing, "n/a"])];
    for (const label of ["redis-server: script per call (µs)", "redis-server: CPU per call (µs)", "redis-server: calls per script run", "added p50 (µs)", "added p99 (µs)"]) table.push([label, "—", missing, "—"]);
    return [title, ...renderTable(table)];
  }
  const table = [header, ...rows.map(([label, pick]) => [label, cell(med(inMemory, pick)), cell(med(global, pick)), times(med(global, pick) / med(inMemory, pick))])];
  // What redis-server spent per call, over every call of the run (sequential and pipelined).
  const storeCost = (pick: (cost: StoreCost) => number): number => median(global.map((sample) => (sample.store === undefined ? Number.NaN : pick(sample.store))));
  table.push(["redis-server: script per call (µs)", "—", cell(storeCost((cost) => cost.scriptUs), "n/a"), "—"]);
  table.push(["redis-server: CPU per call (µs)", "—", cell(storeCost((cost) => cost.cpuUs), "n/a"), "—"]);
  table.push(["redis-server: calls per script run", "—", cell(storeCost((cost) => cost.callsPerRun), "n/a"), "—"]);
  // Added: what counting in the store adds to a call over counting in memory.
  table.push(["added p50 (µs)", "—", cell(med(global, (s) => s.p50Us) - med(inMemory, (s) => s.p50Us)), "—"]);
  table.push(["added p99 (µs)", "—", cell(med(global, (s) => s.p99Us) - med(inMemory, (s) => s.p99Us)), "—"]);
  // Paired run by run: the two targets ran one after the other in each run.
  const addedP50 = global.map((sample, run) => sample.p50Us - inMemory[run]!.p50Us);
  const share = global.map((sample, run) => sample.callsPerSec / inMemory[run]!.callsPerSec);
  const denied = global.reduce((sum, sample) => sum + sample.denied.count, 0);
  const first = global.find((sample) => sample.denied.first !== undefined)?.denied.first;
  return [
    title,
    ...renderTable(table),
    `\n${GLOBAL} against mcpgate, run by run:`,
    `  added p50: median ${cell(median(addedP50))} µs (runs: ${addedP50.map((added) => `${cell(added)}`).join(" ")})`,
    `  pipelined calls/s: median ${times(median(share))} (runs: ${share.map(times).join(" ")})`,
    `  goal (at least ${times(THROUGHPUT_GOAL)} the in-memory throughput with 64 in flight): ${median(share) >= THROUGHPUT_GOAL ? "met" : "not met"}`,
    denied === 0 ? `  calls denied: none` : `  calls denied: ${denied} (the timings above include denials; first: ${first})`,
  ];
}
