// The shared counters against a real redis-server started for this file: the same decisions
// as the in-memory window (property), atomic under concurrent gateways, a retried id counted
// once, refunds, and a store that is down, restarted or busy never stalling a call.
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { Redis } from "ioredis";
import { SlidingLog } from "../../src/limits/window.ts";
import { amountsKey, counterKey, type CounterCharge, type LimitCheck, type StoreCall } from "../../src/store/call.ts";
import { CounterStore, type ConsumeResult } from "../../src/store/store.ts";
import { needsRedis, startRedis, type RedisServer } from "./redis-server.ts";

/** What the in-memory counters decide, as policy/evaluate.ts judges and charges with SlidingLog. */
class Reference {
  readonly #logs = new Map<string, SlidingLog>();

  decide(call: StoreCall & { now: number }): { outcome: "allowed" } | { outcome: "denied"; limit: number; used: number; retryAfterMs?: number } {
    const logs = call.counters.map((charge) => {
      let log = this.#logs.get(charge.counter);
      if (log === undefined) this.#logs.set(charge.counter, (log = new SlidingLog(charge.capacity, charge.horizonMs)));
      return log;
    });
    for (const [index, limit] of call.limits.entries()) {
      const log = logs[limit.counter]!;
      const amount = call.counters[limit.counter]!.amount;
      const used = log.used(call.now, limit.windowMs);
      if (used + amount <= limit.max) continue;
      const { retryAfterMs } = log.check(call.now, limit.windowMs, limit.max, amount);
      return retryAfterMs === undefined ? { outcome: "denied", limit: index, used } : { outcome: "denied", limit: index, used, retryAfterMs };
    }
    call.counters.forEach((charge, index) => logs[index]!.add(call.now, charge.amount));
    return { outcome: "allowed" };
  }
}

/** The decision without what only the store has (its time, the receipt). */
function essence(result: ConsumeResult): unknown {
  if (result.outcome === "failed") return { outcome: "failed", failure: result.failure };
  if (result.outcome === "allowed") return { outcome: "allowed" };
  const { outcome, limit, used, retryAfterMs } = result;
  return retryAfterMs === undefined ? { outcome, limit, used } : { outcome, limit, used, retryAfterMs };
}

const unit = (counter: string, max: number, windowMs = 60_000): Pick<StoreCall, "counters" | "limits"> => ({
  counters: [{ counter, amount: 1, capacity: max, horizonMs: windowMs }],
  limits: [{ counter: 0, windowMs, max }],
});

/** Sends DEBUG SLEEP on a connection of its own; resolves once the command is on its way, with its reply to come. */
async function debugSleep(port: number, seconds: number): Promise<{ done: Promise<void> }> {
  const socket = createConnection({ port, host: "127.0.0.1" });
  await once(socket, "connect");
  const arg = String(seconds);
  await new Promise<void>((resolve) => socket.write(`*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$${arg.length}\r\n${arg}\r\n`, () => resolve()));
  const done = once(socket, "data").then(([chunk]) => {
    socket.destroy();
    assert.equal(String(chunk), "+OK\r\n");
  });
  // The server reads the command at its next turn; ours go out after this one.
  await new Promise((resolve) => setImmediate(resolve));
  return { done };
}

describe("shared counters on a real redis-server", needsRedis(), () => {
  let server: RedisServer;
  let store: CounterStore;
  let admin: Redis;
  let namespaces = 0;
  const namespace = (): string => `t${process.pid}-${namespaces++}`;
  const open = (ns: string, timeoutMs = 250): CounterStore => new CounterStore({ url: server.url, namespace: ns, timeoutMs });

  before(async () => {
    server = await startRedis();
    store = open("main", 1000);
    admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
    assert.equal(await store.whenReady(5000), true);
  });

  after(async () => {
    await store?.close();
    admin?.disconnect();
    await server?.stop();
  });

  it("decides every sequence of calls as the in-memory window does: outcome, failing limit, use and retry hint (property)", async () => {
    const windows = fc.constantFrom(1_000, 1_500, 2_000, 5_000, 60_000);
    // Budgets: mostly whole calls, with fractions that fill a log past its max, and any double.
    const amount = fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constantFrom(0, 0.1, 0.25, 0.5, 2, 3) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 4, noNaN: true }) });
    // Gaps: the same millisecond, a little later, exactly a window later, or long after.
    const gap = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 }), fc.constantFrom(1_000, 1_500, 2_000, 5_000), fc.integer({ min: 0, max: 6_000 }));
    const scenario = fc
      .record({
        counters: fc.array(fc.record({ weighted: fc.boolean(), extra: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 3 }),
        entries: fc.array(fc.array(fc.record({ counter: fc.nat(), windowMs: windows, max: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
      })
      .chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          calls: fc.array(fc.record({ dt: gap, entry: fc.nat({ max: shape.entries.length - 1 }), amounts: fc.array(amount, { minLength: 3, maxLength: 3 }) }), { maxLength: 60 }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ shape, calls }) => {
        const run = namespace();
        const entries = shape.entries.map((limits) => limits.map((limit) => ({ ...limit, counter: limit.counter % shape.counters.length })));
        // As compile.ts sizes a counter: its longest window, and room for its largest max (or more).
        const specs = shape.counters.map((counter, index) => {
          const on = entries.flat().filter((limit) => limit.counter === index);
          return { ...counter, capacity: Math.max(1, ...on.map((limit) => limit.max)) + counter.extra, horizonMs: Math.max(1_000, ...on.map((limit) => limit.windowMs)) };
        });
        const reference = new Reference();
        let now = 1_700_000_000_000;
        for (const [step, call] of calls.entries()) {
          now += call.dt;
          const limits = entries[call.entry]!;
          const used = [...new Set(limits.map((limit) => limit.counter))];
          const counters: CounterCharge[] = used.map((index) => ({ counter: `${run}.c${index}`, amount: specs[index]!.weighted ? call.amounts[index]! : 1, capacity: specs[index]!.capacity, horizonMs: specs[index]!.horizonMs }));
          const checks: LimitCheck[] = limits.map((limit) => ({ counter: used.indexOf(limit.counter), windowMs: limit.windowMs, max: limit.max }));
          const storeCall = { counters, limits: checks, now };
          const expected = reference.decide(storeCall);
          const got = await store.consume(storeCall);
          assert.deepEqual(essence(got), expected, `call ${step} at +${now - 1_700_000_000_000} ms: ${JSON.stringify(storeCall)}`);
        }
      }),
      { numRuns: 300, includeErrorInReport: true },
    );
  });
});
