// The store's calls and replies as data, without a server: what a malformed call is told, how a
// call is encoded for the script, how replies are read, and the ids that make retries safe.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { amountsKey, batchCommand, batchError, batchReplies, consumeArgs, counterKey, decodeConsume, decodePeek, keysOf, newEntryId, ReplyShapeError, validateCall, type StoreCall } from "../../src/store/call.ts";
import { Connection, describeStore } from "../../src/store/connection.ts";

const call: StoreCall = {
  counters: [
    { counter: "counter:shell", amount: 1, capacity: 10, horizonMs: 3_600_000 },
    { counter: "counter:spend", amount: 0.1, capacity: 10_000, horizonMs: 86_400_000 },
  ],
  limits: [
    { counter: 0, windowMs: 60_000, max: 10 },
    { counter: 1, windowMs: 86_400_000, max: 500 },
    { counter: 0, windowMs: 3_600_000, max: 5 },
  ],
};

describe("store calls", () => {
  it("names a counter's keys by namespace and name; its amounts under another prefix, so no name collides with them", () => {
    assert.equal(counterKey("team", "counter:shell"), "mcpgate:team:counter:shell");
    assert.equal(amountsKey("team", "counter:shell"), "mcpgate-amounts:team:counter:shell");
    assert.deepEqual(keysOf("team", ["a", "b"]), ["mcpgate:team:a", "mcpgate-amounts:team:a", "mcpgate:team:b", "mcpgate-amounts:team:b"]);
  });

  it("encodes a call for the script: mode, time, id, sizes, each counter, then each limit in order (1-based counters)", () => {
    assert.deepEqual(consumeArgs("consume", { ...call, now: 1_700_000_000_123 }, "id-1"), [
      "consume", "1700000000123", "id-1", "2", "3",
      "1", "10", "3600000",
      "0.1", "10000", "86400000",
      "1", "60000", "10",
      "2", "86400000", "500",
      "1", "3600000", "5",
    ]);
    // No time: the store's clock. A capacity is rounded up as SlidingLog rounds it.
    const args = consumeArgs("peek", { counters: [{ counter: "c", amount: 2, capacity: 2.5, horizonMs: 1_000 }], limits: [] }, "p");
    assert.deepEqual(args, ["peek", "", "p", "1", "0", "2", "3", "1000"]);
  });

  it("encodes a batch: its size, then each call's fields as for one call without the mode; KEYS each call's pairs in turn", () => {
    const one = { counters: [{ counter: "c", amount: 1, capacity: 2, horizonMs: 1_000 }], limits: [{ counter: 0, windowMs: 1_000, max: 2 }] };
    assert.deepEqual(batchCommand("team", [{ call: { ...one, now: 5 }, id: "a" }, { call: { ...call, now: 6 }, id: "b" }, { call: one, id: "c" }]), {
      keys: [...keysOf("team", ["c"]), ...keysOf("team", ["counter:shell", "counter:spend"]), ...keysOf("team", ["c"])],
      args: ["batch", "3", ...consumeArgs("consume", { ...one, now: 5 }, "a").slice(1), ...consumeArgs("consume", { ...call, now: 6 }, "b").slice(1), "", "c", "1", "1", "1", "2", "1000", "1", "1000", "2"],
    });
  });

  it("reads a batch's replies: one per call, or an error naming what came; a call the store failed to judge", () => {
    assert.deepEqual(batchReplies([["allowed", "1"], ["error", "WRONGTYPE x"]], 2), [["allowed", "1"], ["error", "WRONGTYPE x"]]);
    assert.throws(() => batchReplies([["allowed", "1"]], 2), { name: "Error", message: 'Expected 2 replies from the script\'s batch, got [["allowed","1"]]' });
    assert.throws(() => batchReplies("OK", 1), ReplyShapeError);
    assert.equal(batchError(["error", "WRONGTYPE x"]), "WRONGTYPE x");
    assert.equal(batchError(["allowed", "1"]), undefined);
  });

  it("sends every amount so that the script reads back the very same double", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e15, noNaN: true }), (amount) => {
        const [, , , , , sent] = consumeArgs("consume", { counters: [{ counter: "c", amount, capacity: 1, horizonMs: 1 }], limits: [] }, "x");
        assert.equal(Number(sent), amount);
      }),
    );
  });

  it("tells a malformed call what was expected and what came", () => {
    const cases: [StoreCall, string][] = [
      [{ counters: [], limits: [] }, "Expected `counters` to be a non-empty list, got 0 (number)"],
      [{ counters: [call.counters[0]!, call.counters[0]!], limits: [] }, 'Expected `counters[1].counter` to be a name not yet in the call, got "counter:shell" (string)'],
      [{ counters: [{ ...call.counters[0]!, amount: -1 }], limits: [] }, "Expected `counters[0].amount` to be a finite number >= 0, got -1 (number)"],
      [{ counters: [{ ...call.counters[0]!, amount: Number.NaN }], limits: [] }, "Expected `counters[0].amount` to be a finite number >= 0, got NaN (number)"],
      [{ counters: [{ ...call.counters[0]!, capacity: 0 }], limits: [] }, "Expected `counters[0].capacity` to be a number > 0, got 0 (number)"],
      [{ counters: [{ ...call.counters[0]!, horizonMs: Infinity }], limits: [] }, "Expected `counters[0].horizonMs` to be a number > 0, got Infinity (number)"],
      [{ counters: [call.counters[0]!], limits: [{ counter: 1, windowMs: 1, max: 1 }] }, "Expected `limits[0].counter` to be an index below 1, got 1 (number)"],
      [{ counters: [call.counters[0]!], limits: [{ counter: 0, windowMs: 0, max: 1 }] }, "Expected `limits[0].windowMs` to be a number > 0, got 0 (number)"],
      [{ counters: [call.counters[0]!], limits: [{ counter: 0, windowMs: 1, max: Infinity }] }, "Expected `limits[0].max` to be a finite number >= 0, got Infinity (number)"],
      [{ ...call, id: "has space" }, 'Expected `id` to be 1 to 64 of A-Z a-z 0-9 _ . -, got "has space" (string)'],
      [{ ...call, id: "x~" }, 'Expected `id` to be 1 to 64 of A-Z a-z 0-9 _ . -, got "x~" (string)'],
      [{ ...call, now: Number.NaN }, "Expected `now` to be a finite number, got NaN (number)"],
    ];
    for (const [bad, message] of cases) assert.throws(() => validateCall(bad), { name: "TypeError", message });
    validateCall({ ...call, id: newEntryId(), now: 0 });
  });

  it("makes ids unique to this process and increasing in string order, so same-millisecond entries sort as they were added", () => {
    const ids = Array.from({ length: 2_000 }, newEntryId);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    for (const id of ids) validateCall({ ...call, id });
  });

  it("reads the script's replies: allowed (with what to refund), replayed, denied with and without a retry hint", () => {
    assert.deepEqual(decodeConsume(["allowed", "1700000000123"], call, "id-1"), {
      outcome: "allowed",
      now: 1_700_000_000_123,
      replayed: false,
      receipt: { id: "id-1", entries: [{ counter: "counter:shell", amount: 1 }, { counter: "counter:spend", amount: 0.1 }] },
    });
    const zero: StoreCall = { ...call, counters: [call.counters[0]!, { ...call.counters[1]!, amount: 0 }] };
    assert.deepEqual(decodeConsume(["replayed", "5"], zero, "id-2"), { outcome: "allowed", now: 5, replayed: true, receipt: { id: "id-2", entries: [{ counter: "counter:shell", amount: 1 }] } });
    assert.deepEqual(decodeConsume(["denied", "5", "3", "5", "1200"], call, "x"), { outcome: "denied", now: 5, limit: 2, used: 5, retryAfterMs: 1_200 });
    assert.deepEqual(decodeConsume(["denied", "5", "2", "499.90000000000003", ""], call, "x"), { outcome: "denied", now: 5, limit: 1, used: 499.90000000000003 });
  });

  it("reads a peek: each limit's state in call order", () => {
    const reply = ["peek", "7", "1", "3", "", "1", "0.5", "", "0", "5", "60000"];
    assert.deepEqual(decodePeek(reply, call), {
      now: 7,
      limits: [
        { passed: true, used: 3 },
        { passed: true, used: 0.5 },
        { passed: false, used: 5, retryAfterMs: 60_000 },
      ],
    });
  });

  it("refuses a reply of another shape, saying what came", () => {
    assert.throws(() => decodeConsume(["maybe", "1"], call, "x"), { name: "Error", message: 'Expected allowed, replayed or denied from the script, got ["maybe","1"]' });
    assert.throws(() => decodeConsume(3, call, "x"), ReplyShapeError);
    assert.throws(() => decodeConsume(["denied", "1", "one", "0", ""], call, "x"), { message: 'Expected a number at [2] of the script\'s reply, got ["denied","1","one","0",""]' });
    assert.throws(() => decodePeek(["allowed", "1"], call), { message: 'Expected a peek reply from the script, got ["allowed","1"]' });
  });
});

describe("store URLs", () => {
  it("shows a store without its credentials", () => {
    assert.equal(describeStore("redis://user:secret@cache.internal:6380/2"), "redis://cache.internal:6380/2");
    assert.equal(describeStore("rediss://:secret@cache.internal"), "rediss://cache.internal");
  });

  it("refuses what is not a redis:// or rediss:// URL to a database number, before connecting", () => {
    const cases: [string, string][] = [
      ["localhost:6379", 'Expected the store URL to start with redis:// or rediss://, got the scheme "localhost:"'],
      ["not a url", 'Expected the store to be a URL like redis://host:6379, got "not a url"'],
      ["http://cache:6379", 'Expected the store URL to start with redis:// or rediss://, got the scheme "http:"'],
      ["redis://cache:6379/zero", 'Expected the store URL\'s path to be a database number (/0), got "/zero"'],
    ];
    for (const [url, message] of cases) assert.throws(() => new Connection({ url }), { name: "TypeError", message });
    assert.throws(() => new Connection({ url: "redis://cache:6379", timeoutMs: 0 }), { name: "TypeError", message: "Expected `timeoutMs` to be a number > 0, got 0" });
  });
});
