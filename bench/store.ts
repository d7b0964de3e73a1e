// node --import tsx bench/store.ts [--quick]: the shared counters (src/store) against a
// redis-server started on a free loopback port, beside the in-memory window they mirror. One
// call's latency (p50, p99, one in flight) and throughput with 64 calls in flight on one
// connection, for a counter of calls and for budgets whose logs are full (1,000 and 10,000
// entries in the window, each call folding the oldest into the next: the path where a budget's
// kept window sum is carried over rather than summed afresh). Prints numbers for people;
// asserts nothing.
import { Redis } from "ioredis";
import { SlidingLog } from "../src/limits/window.ts";
import { amountsKey, counterKey, type StoreCall } from "../src/store/call.ts";
import { CounterStore } from "../src/store/store.ts";
import { startRedis } from "../test/e2e/redis-server.ts";

const quick = process.argv.includes("--quick");
const LATENCY_CALLS = quick ? 1_000 : 5_000;
const THROUGHPUT_CALLS = quick ? 10_000 : 50_000;
/** Budgets are measured with fewer calls: a sum summed afresh reads the whole window. */
const BUDGET_CALLS = quick ? 500 : 2_000;
const WARMUP = 500;
const IN_FLIGHT = 64;
const HOUR = 3_600_000;

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** A counter of calls that never fills (every call is allowed and logged). */
const calls = (counter: string): StoreCall => ({ counters: [{ counter, amount: 1, capacity: 1e9, horizonMs: HOUR }], limits: [{ counter: 0, windowMs: HOUR, max: 1e9 }] });
/** A budget logging fractional amounts, its log `capacity` entries long. */
const budget = (counter: string, capacity: number): StoreCall => ({ counters: [{ counter, amount: 0.5, capacity, horizonMs: HOUR }], limits: [{ counter: 0, windowMs: HOUR, max: 1e12 }] });

/** Fills a budget's log to its capacity with entries of the last minute, as a busy budget would be. */
async function fill(url: string, namespace: string, counter: string, entries: number): Promise<void> {
  const admin = new Redis(url);
  const now = Date.now();
  const batch = admin.pipeline();
  batch.hset(amountsKey(namespace, counter), "*", "1");
  for (let i = 0; i < entries; i++) {
    const id = `fill.${String(i).padStart(6, "0")}`;
    batch.zadd(counterKey(namespace, counter), now - 60_000 + (i * 60_000) / entries, id);
    batch.hset(amountsKey(namespace, counter), id, "0.25");
  }
  await batch.exec();
  admin.disconnect();
}

async function latency(store: CounterStore, call: StoreCall, count: number): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(WARMUP, count); i++) await store.consume(call);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = performance.now();
    const result = await store.consume(call);
    times.push(performance.now() - at);
    if (result.outcome !== "allowed") throw new Error(`expected allowed, got ${JSON.stringify(result)}`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function throughput(store: CounterStore, call: StoreCall, total: number): Promise<number> {
  let sent = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (sent < total) {
      sent++;
      const result = await store.consume(call);
      if (result.outcome !== "allowed") {
        failed++;
        if (failed === 1) console.error(JSON.stringify(result));
      }
    }
  };
  const at = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - at) / 1000;
  if (failed > 0) throw new Error(`${failed} calls were not allowed`);
  return total / seconds;
}

function memory(): { p50: number; perSecond: number } {
  const log = new SlidingLog(1e9, HOUR);
  const times: number[] = [];
  let now = Date.now();
  for (let i = 0; i < LATENCY_CALLS; i++) {
    const at = performance.now();
    if (log.used(now, HOUR) + 1 <= 1e9) log.add(now, 1);
    times.push(performance.now() - at);
    now++;
  }
  times.sort((a, b) => a - b);
  const at = performance.now();
  for (let i = 0; i < THROUGHPUT_CALLS; i++) if (log.used(now, HOUR) + 1 <= 1e9) log.add(now++, 1);
  return { p50: percentile(times, 0.5), perSecond: THROUGHPUT_CALLS / ((performance.now() - at) / 1000) };
}

const ms = (value: number): string => `${value < 0.01 ? value.toFixed(4) : value.toFixed(3)} ms`;
const rate = (value: number): string => `${Math.round(value).toLocaleString("en")}/s`;

const server = await startRedis();
try {
  const rows: string[][] = [];
  const inMemory = memory();
  rows.push(["in memory (SlidingLog used + add)", ms(inMemory.p50), "", rate(inMemory.perSecond)]);
  for (const autoPipelining of [false, true]) {
    const namespace = `bench-${autoPipelining}`;
    const store = new CounterStore({ url: server.url, namespace, timeoutMs: 5_000, autoPipelining });
    if (!(await store.whenReady(5_000))) throw new Error(`no connection to ${server.url}`);
    const how = autoPipelining ? "ioredis auto-pipelining: a batch per tick" : "pipelined, a write per call";
    const one = await latency(store, calls("calls"), LATENCY_CALLS);
    rows.push([`store, calls (${how})`, ms(one.p50), ms(one.p99), rate(await throughput(store, calls("calls"), THROUGHPUT_CALLS))]);
    for (const entries of [1_000, 10_000]) {
      const counter = `budget-${entries}`;
      await fill(server.url, namespace, counter, entries);
      const full = await latency(store, budget(counter, entries), BUDGET_CALLS);
      rows.push([`store, budget of ${entries.toLocaleString("en")} entries (${how})`, ms(full.p50), ms(full.p99), rate(await throughput(store, budget(counter, entries), BUDGET_CALLS))]);
    }
    await store.close();
  }
  const head = ["", "p50, 1 in flight", "p99", `throughput, ${IN_FLIGHT} in flight`];
  const widths = head.map((_, column) => Math.max(...[head, ...rows].map((row) => row[column]!.length)));
  for (const row of [head, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join("  "));
  console.log(`(calls: ${LATENCY_CALLS} sequential after ${WARMUP} warm-up, ${THROUGHPUT_CALLS} for throughput; budgets: ${BUDGET_CALLS} each; redis-server on 127.0.0.1, one connection)`);
} finally {
  await server.stop();
}
