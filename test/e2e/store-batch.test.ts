// Consume calls made at the same time go to the store as one script run (src/store/batch.ts),
// against a real redis-server started for this file: calls judged together decide as the
// in-memory window decides them one by one in the order they were made (property), a batch's
// calls each resolve within their own timeout while the store sleeps, an id twice in one batch
// is counted once, and a call the store fails to judge costs only itself.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { Redis } from "ioredis";
import { counterKey, type StoreCall } from "../../src/store/call.ts";
import { MAX_IN_FLIGHT } from "../../src/store/batch.ts";
import { CounterStore, type ConsumeResult } from "../../src/store/store.ts";
import { needsRedis, startRedis, type RedisServer } from "./redis-server.ts";
import { CALL_AMOUNT, CALL_GAP, callsOf, debugSleep, essence, Reference, SHAPE, unit } from "./store-helpers.ts";

describe("batched consume calls on a real redis-server", needsRedis(), () => {
  let server: RedisServer;
  let store: CounterStore;
  let admin: Redis;
  let namespaces = 0;
  const namespace = (): string => `b${process.pid}-${namespaces++}`;
  const open = (ns: string, timeoutMs: number): CounterStore => new CounterStore({ url: server.url, namespace: ns, timeoutMs });
  /** How many times redis-server has run a script so far (EVAL and EVALSHA). */
  const scriptRuns = async (): Promise<number> => {
    let runs = 0;
    for (const [, calls] of (await admin.info("commandstats")).matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)) runs += Number(calls);
    return runs;
  };

  before(async () => {
    server = await startRedis();
    // Generous: these tests are about decisions, and a loaded machine can stall a reply for a while.
    store = open("main", 5_000);
    admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
    assert.equal(await store.whenReady(5000), true);
  });

  after(async () => {
    await store?.close();
    admin?.disconnect();
    await server?.stop();
  });

  it("decides calls made at the same time, some while a batch is in flight, as the in-memory window decides them one by one in the order they were made (property)", async () => {
    // Each call: its own time and entry; `step` starts a new group of calls made together (the
    // previous group all answered); `later` makes it after a turn of the event loop, while the
    // batch of those before it may still be in flight, so that it waits for the next batch.
    const scenario = SHAPE.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        calls: fc.array(
          fc.record({ dt: CALL_GAP, entry: fc.nat({ max: shape.entries.length - 1 }), amounts: fc.array(CALL_AMOUNT, { minLength: 3, maxLength: 3 }), step: fc.nat({ max: 4 }).map((pick) => pick === 0), later: fc.nat({ max: 3 }).map((pick) => pick === 0) }),
          { maxLength: 60 },
        ),
      }),
    );
    let made = 0;
    const runsBefore = await scriptRuns();
    await fc.assert(
      fc.asyncProperty(scenario, async ({ shape, calls }) => {
        const storeCallOf = callsOf(shape, namespace());
        const reference = new Reference();
        let now = 1_700_000_000_000;
        let group: { storeCall: StoreCall; expected: unknown; got: Promise<ConsumeResult> }[] = [];
        const check = async (): Promise<void> => {
          const results = await Promise.all(group.map(({ got }) => got));
          results.forEach((result, index) => assert.deepEqual(essence(result), group[index]!.expected, `call ${index} of its group: ${JSON.stringify(group[index]!.storeCall)}`));
          group = [];
        };
        for (const call of calls) {
          if (call.step) await check();
          else if (call.later) await new Promise((resolve) => setImmediate(resolve));
          now += call.dt;
          const storeCall = storeCallOf(call, now);
          // The store judges in the order consume() was called: the reference does too.
          const expected = reference.decide(storeCall);
          group.push({ storeCall, expected, got: store.consume(storeCall) });
          made++;
        }
        await check();
      }),
      { numRuns: 300, includeErrorInReport: true },
    );
    // Calls made together went in fewer script runs than calls.
    const runs = (await scriptRuns()) - runsBefore;
    assert.ok(runs < made * 0.75, `${made} calls in ${runs} script runs`);
  });

  it("each call of a batch resolves within its own timeout while the store sleeps, not its batch's", async () => {
    const ns = namespace();
    const gateway = open(ns, 300);
    const counter = "sleepy";
    try {
      assert.equal(await gateway.whenReady(5_000), true);
      const runsBefore = await scriptRuns();
      const sleeping = await debugSleep(server.port, 1.5);
      const timed = (id: string): Promise<{ id: string; result: ConsumeResult; ms: number }> => {
        const at = performance.now();
        return gateway.consume({ ...unit(counter, 100), id }).then((result) => ({ id, result, ms: performance.now() - at }));
      };
      const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
      // The a calls go at once, each in a batch of its own, as many as may be in flight; b and c
      // wait behind them and go together when they time out (at 300 ms). Their batch would time
      // out at 600 ms; each of them does at its own 300 ms: b at 400, c at 500.
      const a: ReturnType<typeof timed>[] = [];
      for (let index = 0; index < MAX_IN_FLIGHT; index++) {
        a.push(timed(`a${index}`));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await pause(100);
      const b = Array.from({ length: 4 }, (_, index) => timed(`b${index}`));
      await pause(100);
      const c = Array.from({ length: 3 }, (_, index) => timed(`c${index}`));
      const all = await Promise.all([...a, ...b, ...c]);
      for (const { id, result, ms } of all) {
        assert.ok(ms < 300 + 150, `${id} resolved after ${ms} ms`);
        // Sent, so each may have run (and will: the store only sleeps).
        assert.deepEqual(result.outcome === "failed" && [result.failure.kind, result.failure.maybeApplied], ["timeout", true], `${id}: ${JSON.stringify(result)}`);
      }
      await sleeping.done;
      // Once awake, the store runs what was sent (the a batches, then the batch of b and c); a call after them on the same connection sees them counted.
      const peeked = await gateway.peek(unit(counter, 100));
      assert.equal(peeked.outcome === "peeked" && peeked.limits[0]!.used, MAX_IN_FLIGHT + 7);
      // The a batches, one batch of b and c, the peek.
      assert.equal((await scriptRuns()) - runsBefore, MAX_IN_FLIGHT + 2);
      for (const id of ["a0", "b0", "b3", "c2"]) assert.notEqual(await admin.zscore(counterKey(ns, counter), id), null, id);
    } finally {
      await gateway.close();
    }
  });

  it("counts an id twice in one batch once: the second is replayed, and later calls of the batch see one entry", async () => {
    const counter = `${namespace()}.twice`;
    const runsBefore = await scriptRuns();
    const results = await Promise.all([
      store.consume({ ...unit(counter, 2), id: "twice-1" }),
      store.consume({ ...unit(counter, 2), id: "twice-1" }),
      store.consume(unit(counter, 2)),
      store.consume(unit(counter, 2)),
    ]);
    assert.equal((await scriptRuns()) - runsBefore, 1, "the four calls went in one script run");
    assert.deepEqual(
      results.map((result) => [result.outcome, result.outcome === "allowed" && result.replayed]),
      [["allowed", false], ["allowed", true], ["allowed", false], ["denied", false]],
    );
    assert.equal(await admin.zcard(counterKey("main", counter)), 2);
    // Set once in the run, the key still expires with the window.
    const ttl = await admin.pttl(counterKey("main", counter));
    assert.ok(ttl > 55_000 && ttl <= 60_000, `expires in ${ttl} ms`);
  });

  it("a call of a batch the store fails to judge (a key of another type) fails alone, as not counted; the others are judged", async () => {
    const ns = namespace();
    await admin.set(counterKey("main", `${ns}.wrong`), "not a sorted set");
    const [before, wrong, after] = await Promise.all([store.consume(unit(`${ns}.ok`, 5)), store.consume(unit(`${ns}.wrong`, 5)), store.consume(unit(`${ns}.ok`, 5))]);
    assert.deepEqual([before.outcome, after.outcome], ["allowed", "allowed"]);
    assert.deepEqual(wrong.outcome === "failed" && [wrong.failure.kind, wrong.failure.maybeApplied], ["error", false]);
    assert.match(wrong.outcome === "failed" ? wrong.failure.message : "", /^store redis:\/\/127\.0\.0\.1:\d+: the store answered .*WRONGTYPE/);
    assert.equal(await admin.zcard(counterKey("main", `${ns}.ok`)), 2);
  });
});
