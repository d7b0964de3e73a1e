// The shared counters against a real redis-server started for this file: the same decisions
// as the in-memory window (property), atomic under concurrent gateways, a retried id counted
// once, refunds, and a store that is down, restarted or busy never stalling a call.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { Redis } from "ioredis";
import { amountsKey, counterKey, type StoreCall } from "../../src/store/call.ts";
import { CounterStore, type ConsumeResult } from "../../src/store/store.ts";
import { needsRedis, startRedis, type RedisServer } from "./redis-server.ts";
import { CALL_AMOUNT, CALL_GAP, callsOf, debugSleep, essence, Reference, SHAPE, unit } from "./store-helpers.ts";

describe("shared counters on a real redis-server", needsRedis(), () => {
  let server: RedisServer;
  let store: CounterStore;
  let admin: Redis;
  let namespaces = 0;
  const namespace = (): string => `t${process.pid}-${namespaces++}`;
  const open = (ns: string, timeoutMs = 250): CounterStore => new CounterStore({ url: server.url, namespace: ns, timeoutMs });

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

  it("decides every sequence of calls as the in-memory window does: outcome, failing limit, use and retry hint (property)", async () => {
    const scenario = SHAPE.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        calls: fc.array(fc.record({ dt: CALL_GAP, entry: fc.nat({ max: shape.entries.length - 1 }), amounts: fc.array(CALL_AMOUNT, { minLength: 3, maxLength: 3 }) }), { maxLength: 60 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ shape, calls }) => {
        const storeCallOf = callsOf(shape, namespace());
        const reference = new Reference();
        let now = 1_700_000_000_000;
        for (const [step, call] of calls.entries()) {
          now += call.dt;
          const storeCall = storeCallOf(call, now);
          const expected = reference.decide(storeCall);
          const got = await store.consume(storeCall);
          assert.deepEqual(essence(got), expected, `call ${step} at +${now - 1_700_000_000_000} ms: ${JSON.stringify(storeCall)}`);
        }
      }),
      { numRuns: 300, includeErrorInReport: true },
    );
  });

  it("keeps a budget's window sums as summing afresh would, through folds, refunds, ties and times out of order (property)", async () => {
    const op = fc.record({
      refund: fc.boolean(),
      pick: fc.nat(),
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 700 }), fc.integer({ min: -300, max: 1_500 })),
      amount: fc.constantFrom(0, 0.1, 0.25, 0.5, 1, 1.5, 2.2),
      // Ids of several gateways: entries of one millisecond sort by id, not by arrival.
      gateway: fc.constantFrom("a", "m", "z"),
    });
    const shape = fc.record({ capacity: fc.integer({ min: 2, max: 4 }), max: fc.integer({ min: 2, max: 5 }), ops: fc.array(op, { maxLength: 30 }) });
    await fc.assert(
      fc.asyncProperty(shape, async ({ capacity, max, ops }) => {
        const run = namespace();
        const [cached, fresh] = [`${run}.cached`, `${run}.fresh`];
        const call = (counter: string, amount: number, now: number, id: string): StoreCall => ({
          counters: [{ counter, amount, capacity, horizonMs: 5_000 }],
          limits: [{ counter: 0, windowMs: 1_000, max }, { counter: 0, windowMs: 5_000, max: max * 2 }],
          now,
          id,
        });
        const receipts: { id: string; amount: number }[] = [];
        let now = 1_700_000_000_000;
        for (const [step, { refund, pick, dt, amount, gateway }] of ops.entries()) {
          now += dt;
          await admin.hdel(amountsKey("main", fresh), "*sums");
          if (refund && receipts.length > 0) {
            const { id, amount: spent } = receipts[pick % receipts.length]!;
            const [a, b] = [await store.refund({ id, entries: [{ counter: cached, amount: spent }] }), await store.refund({ id, entries: [{ counter: fresh, amount: spent }] })];
            assert.deepEqual(a, b, `refund at step ${step}`);
            continue;
          }
          const id = `${gateway}.${step}`;
          const [a, b] = [await store.consume(call(cached, amount, now, id)), await store.consume(call(fresh, amount, now, id))];
          assert.deepEqual(essence(a), essence(b), `consume at step ${step}`);
          if (a.outcome === "allowed") receipts.push({ id, amount });
        }
      }),
      { numRuns: 500, includeErrorInReport: true },
    );
  });

  it("counts atomically across gateways: 4 connections x 50 concurrent calls against max 37 allow exactly 37", async () => {
    const ns = namespace();
    const gateways = Array.from({ length: 4 }, () => open(ns, 5_000));
    try {
      for (const gateway of gateways) assert.equal(await gateway.whenReady(5_000), true);
      const results = await Promise.all(gateways.flatMap((gateway) => Array.from({ length: 50 }, () => gateway.consume(unit("shared", 37)))));
      assert.deepEqual(
        results.map((result) => result.outcome).reduce<Record<string, number>>((counts, outcome) => ({ ...counts, [outcome]: (counts[outcome] ?? 0) + 1 }), {}),
        { allowed: 37, denied: 163 },
      );
      assert.equal(await admin.zcard(counterKey(ns, "shared")), 37);
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.close()));
    }
  });

  it("shares a budget between two gateways: what they spend together never passes max, and is what the store holds", async () => {
    const ns = namespace();
    const gateways = [open(ns, 5_000), open(ns, 5_000)];
    try {
      for (const gateway of gateways) assert.equal(await gateway.whenReady(5_000), true);
      const amounts = Array.from({ length: 60 }, (_, index) => [0.5, 1, 2.5, 4, 7][index % 5]!);
      const budget = (amount: number): StoreCall => ({ counters: [{ counter: "spend", amount, capacity: 10_000, horizonMs: 86_400_000 }], limits: [{ counter: 0, windowMs: 86_400_000, max: 100 }] });
      const results = await Promise.all(amounts.map((amount, index) => gateways[index % 2]!.consume(budget(amount))));
      const spent = results.reduce((sum, result, index) => sum + (result.outcome === "allowed" ? amounts[index]! : 0), 0);
      assert.ok(spent <= 100 && spent > 90, `spent ${spent}`);
      const peeked = await gateways[0]!.peek(budget(0));
      assert.equal(peeked.outcome === "peeked" && peeked.limits[0]!.used, spent);
      // Each denial was right by the use the store reported for it.
      results.forEach((result, index) => result.outcome === "denied" && assert.ok(result.used + amounts[index]! > 100, `${amounts[index]} denied at ${result.used} used`));
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.close()));
    }
  });

  it("counts a retried id once: the retry is replayed, not counted, even when the counter is full", async () => {
    const counter = `${namespace()}.retry`;
    const call = { ...unit(counter, 2), id: "retry-1" };
    const first = await store.consume(call);
    assert.deepEqual([first.outcome, first.outcome === "allowed" && first.replayed], ["allowed", false]);
    const again = await store.consume(call);
    assert.deepEqual([again.outcome, again.outcome === "allowed" && again.replayed], ["allowed", true]);
    assert.equal((await store.consume(unit(counter, 2))).outcome, "allowed");
    assert.equal((await store.consume(unit(counter, 2))).outcome, "denied");
    const whenFull = await store.consume(call);
    assert.deepEqual([whenFull.outcome, whenFull.outcome === "allowed" && whenFull.replayed], ["allowed", true]);
    assert.equal(await admin.zcard(counterKey("main", counter)), 2);
  });

  it("a reply lost after the script ran: the timed-out call was counted once the store woke, and its retry by id is not counted again", async () => {
    const counter = `${namespace()}.lost`;
    const quick = open("main", 100);
    try {
      assert.equal(await quick.whenReady(5_000), true);
      const sleeping = await debugSleep(server.port, 0.4);
      const lost = await quick.consume(unit(counter, 5));
      assert.equal(lost.outcome, "failed");
      assert.deepEqual(lost.outcome === "failed" && [lost.failure.kind, lost.failure.maybeApplied], ["timeout", true]);
      await sleeping.done;
      // Sent on the same connection after the first try, the retry runs after it.
      const retry = await quick.consume({ ...unit(counter, 5), id: lost.outcome === "failed" ? lost.receipt.id : "" });
      assert.deepEqual([retry.outcome, retry.outcome === "allowed" && retry.replayed], ["allowed", true]);
      assert.equal(await admin.zcard(counterKey("main", counter)), 1);
    } finally {
      await quick.close();
    }
  });

  it("refunds exactly what a call added, once: the room comes back, a second refund takes nothing", async () => {
    const counter = `${namespace()}.refund`;
    const first = await store.consume(unit(counter, 2));
    assert.equal((await store.consume(unit(counter, 2))).outcome, "allowed");
    assert.equal((await store.consume(unit(counter, 2))).outcome, "denied");
    assert.equal(first.outcome, "allowed");
    if (first.outcome !== "allowed") return;
    assert.deepEqual(await store.refund(first.receipt), { outcome: "refunded", removed: 1 });
    assert.equal((await store.consume(unit(counter, 2))).outcome, "allowed");
    assert.deepEqual(await store.refund(first.receipt), { outcome: "refunded", removed: 0 });
    assert.equal(await admin.zcard(counterKey("main", counter)), 2);
  });

  it("refunds a call on every counter it charged, by its amounts", async () => {
    const run = namespace();
    const call: StoreCall = {
      counters: [
        { counter: `${run}.calls`, amount: 1, capacity: 5, horizonMs: 60_000 },
        { counter: `${run}.spend`, amount: 2.5, capacity: 10_000, horizonMs: 60_000 },
      ],
      limits: [
        { counter: 0, windowMs: 60_000, max: 5 },
        { counter: 1, windowMs: 60_000, max: 10 },
      ],
    };
    assert.equal((await store.consume(call)).outcome, "allowed");
    const second = await store.consume(call);
    assert.equal(second.outcome, "allowed");
    if (second.outcome !== "allowed") return;
    assert.deepEqual(second.receipt.entries, [
      { counter: `${run}.calls`, amount: 1 },
      { counter: `${run}.spend`, amount: 2.5 },
    ]);
    assert.deepEqual(await store.refund(second.receipt), { outcome: "refunded", removed: 2 });
    const peeked = await store.peek(call);
    assert.deepEqual(peeked.outcome === "peeked" && peeked.limits.map((limit) => limit.used), [1, 2.5]);
  });

  it("a refund of a budget entry that absorbed older ones (a full log) keeps what they used", async () => {
    const counter = `${namespace()}.folded`;
    const spend = (amount: number): StoreCall => ({ counters: [{ counter, amount, capacity: 2, horizonMs: 60_000 }], limits: [{ counter: 0, windowMs: 60_000, max: 10 }], now: 1_000 });
    assert.equal((await store.consume(spend(0.5))).outcome, "allowed");
    const second = await store.consume(spend(0.25));
    // The third entry makes the log drop the first, folding its 0.5 into the second: 0.75.
    assert.equal((await store.consume(spend(2))).outcome, "allowed");
    assert.equal(second.outcome, "allowed");
    if (second.outcome !== "allowed") return;
    assert.deepEqual(await store.refund(second.receipt), { outcome: "refunded", removed: 1 });
    assert.deepEqual(await store.refund(second.receipt), { outcome: "refunded", removed: 0 });
    const peeked = await store.peek(spend(0));
    assert.deepEqual(peeked.outcome === "peeked" && peeked.limits[0]!.used, 2.5);
  });

  it("peeks without counting: every limit's use and retry hint", async () => {
    const counter = `${namespace()}.peek`;
    const call: StoreCall = { counters: [{ counter, amount: 1, capacity: 3, horizonMs: 60_000 }], limits: [{ counter: 0, windowMs: 1_000, max: 3 }, { counter: 0, windowMs: 60_000, max: 2 }], now: 10_000 };
    assert.equal((await store.consume(call)).outcome, "allowed");
    assert.equal((await store.consume({ ...call, now: 10_500 })).outcome, "allowed");
    const peeked = await store.peek({ ...call, now: 10_600 });
    assert.deepEqual(peeked, { outcome: "peeked", now: 10_600, limits: [{ passed: true, used: 2 }, { passed: false, used: 2, retryAfterMs: 59_400 }] });
    assert.equal(await admin.zcard(counterKey("main", counter)), 2);
  });

  it("judges at the store's clock when the call gives no time, and the keys expire with the longest window", async () => {
    const counter = `${namespace()}.clock`;
    const before = Date.now();
    const result = await store.consume({ counters: [{ counter, amount: 0.5, capacity: 10, horizonMs: 30_000 }], limits: [{ counter: 0, windowMs: 30_000, max: 10 }] });
    const after = Date.now();
    assert.equal(result.outcome, "allowed");
    // The same machine's clock: the store's time falls between the two readings (to the millisecond).
    assert.ok(result.now >= before - 1 && result.now <= after + 1, `${before} <= ${result.now} <= ${after}`);
    assert.equal(Number(await admin.zscore(counterKey("main", counter), result.outcome === "allowed" ? result.receipt.id : "")), result.now);
    for (const key of [counterKey("main", counter), amountsKey("main", counter)]) {
      const ttl = await admin.pttl(key);
      assert.ok(ttl > 25_000 && ttl <= 30_000, `${key} expires in ${ttl} ms`);
    }
  });

  it("loads its script again after SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)", async () => {
    const counter = `${namespace()}.flush`;
    assert.equal((await store.consume(unit(counter, 5))).outcome, "allowed");
    await admin.script("FLUSH");
    assert.equal((await store.consume(unit(counter, 5))).outcome, "allowed");
    assert.equal(await admin.zcard(counterKey("main", counter)), 2);
  });

  it("a store that answers with an error (a key of another type) is a typed failure, not a throw", async () => {
    const counter = `${namespace()}.wrongtype`;
    await admin.set(counterKey("main", counter), "not a sorted set");
    const result = await store.consume(unit(counter, 5));
    assert.equal(result.outcome, "failed");
    assert.deepEqual(result.outcome === "failed" && [result.failure.kind, result.failure.maybeApplied], ["error", false]);
    assert.match(result.outcome === "failed" ? result.failure.message : "", /^store redis:\/\/127\.0\.0\.1:\d+: the store answered .*WRONGTYPE/);
  });

  it("a busy store (DEBUG SLEEP 1) fails calls within the timeout, long before it wakes, and answers again after", async () => {
    const counter = `${namespace()}.busy`;
    const gateway = open("main", 250);
    try {
      assert.equal(await gateway.whenReady(5_000), true);
      const sleeping = await debugSleep(server.port, 1);
      let woke = false;
      void sleeping.done.then(() => (woke = true));
      const timed = async (): Promise<{ result: ConsumeResult; ms: number }> => {
        const at = performance.now();
        const result = await gateway.consume(unit(counter, 1_000));
        return { result, ms: performance.now() - at };
      };
      const first = await Promise.all(Array.from({ length: 10 }, timed));
      const second = await Promise.all(Array.from({ length: 10 }, timed));
      assert.equal(woke, false, "the store woke before both rounds of calls had resolved");
      for (const { result, ms } of [...first, ...second]) {
        assert.deepEqual(result.outcome === "failed" && [result.failure.kind, result.failure.maybeApplied], ["timeout", true]);
        assert.ok(ms < 250 + 250, `a call resolved after ${ms} ms`);
      }
      await sleeping.done;
      assert.equal((await gateway.consume(unit(counter, 1_000))).outcome, "allowed");
    } finally {
      await gateway.close();
    }
  });

  it("a store never reached fails each call within the timeout", async () => {
    const nowhere = new CounterStore({ url: "redis://127.0.0.1:1", namespace: "nowhere", timeoutMs: 200 });
    try {
      const at = performance.now();
      const results = await Promise.all(Array.from({ length: 5 }, () => nowhere.consume(unit("x", 1))));
      const ms = performance.now() - at;
      for (const result of results) {
        assert.deepEqual(result.outcome === "failed" && [result.failure.kind, result.failure.maybeApplied], ["unavailable", false]);
        assert.match(result.outcome === "failed" ? result.failure.message : "", /^store redis:\/\/127\.0\.0\.1:1: not connected yet \(.*ECONNREFUSED/);
      }
      assert.ok(ms < 200 + 250, `resolved after ${ms} ms`);
    } finally {
      await nowhere.close();
    }
  });


  it("a call whose connection drops before the reply is sent again, with its id, once the store is back within the timeout", async () => {
    // A long timeout: a loaded machine may take seconds to start the server again.
    const gateway = open(namespace(), 10_000);
    try {
      assert.equal(await gateway.whenReady(5_000), true);
      // The sleeping server is killed: its DEBUG never answers.
      void (await debugSleep(server.port, 10)).done.catch(() => {});
      const pending = gateway.consume(unit("dropped", 10));
      // The store dies with the call unanswered (it may have run: here it had not), and comes back empty.
      await server.stop("SIGKILL");
      await server.restart();
      const result = await pending;
      assert.deepEqual([result.outcome, result.outcome === "allowed" && result.replayed], ["allowed", false]);
    } finally {
      await gateway.close();
    }
  });

  // These two stop and restart the server: they come last.
  it("a store that goes down fails every call within the timeout; once restarted it reconnects, counting resumes and queued refunds go out", async () => {
    const ns = namespace();
    const gateway = open(ns, 250);
    try {
      assert.equal(await gateway.whenReady(5_000), true);
      const counted = await gateway.consume(unit("x", 10));
      assert.equal(counted.outcome, "allowed");
      await server.stop();
      const at = performance.now();
      const results = await Promise.all(Array.from({ length: 20 }, () => gateway.consume(unit("x", 10))));
      const ms = performance.now() - at;
      for (const result of results) {
        assert.equal(result.outcome, "failed");
        if (result.outcome === "failed") assert.match(result.failure.kind, /^(unavailable|disconnected)$/);
      }
      assert.ok(ms < 250 + 250, `resolved after ${ms} ms`);
      const refund = counted.outcome === "allowed" ? await gateway.refund(counted.receipt) : undefined;
      assert.deepEqual(refund?.outcome === "failed" && refund.queued, true);
      assert.deepEqual(gateway.refundBacklog, { queued: 1, dropped: 0 });

      await server.restart();
      assert.equal(await gateway.whenReady(10_000), true);
      await gateway.flushRefunds();
      assert.deepEqual(gateway.refundBacklog, { queued: 0, dropped: 0 });
      const resumed = await Promise.all(Array.from({ length: 12 }, () => gateway.consume(unit("x", 10))));
      assert.deepEqual(resumed.map((result) => result.outcome), [...Array(10).fill("allowed"), "denied", "denied"]);
    } finally {
      await gateway.close();
    }
  });
});
