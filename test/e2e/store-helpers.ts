// What the store tests share: the in-memory reference the store must decide as, a decision
// without what only the store has, a one-counter call, a store put to sleep, and random calls
// (their shapes and the store calls they make) for the property tests.
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { once } from "node:events";
import { SlidingLog } from "../../src/limits/window.ts";
import fc from "fast-check";
import type { CounterCharge, LimitCheck, StoreCall } from "../../src/store/call.ts";
import type { ConsumeResult } from "../../src/store/store.ts";

/** What the in-memory counters decide, as policy/evaluate.ts judges and charges with SlidingLog. */
export class Reference {
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
export function essence(result: ConsumeResult): unknown {
  if (result.outcome === "failed") return { outcome: "failed", failure: result.failure };
  if (result.outcome === "allowed") return { outcome: "allowed" };
  const { outcome, limit, used, retryAfterMs } = result;
  return retryAfterMs === undefined ? { outcome, limit, used } : { outcome, limit, used, retryAfterMs };
}

export const unit = (counter: string, max: number, windowMs = 60_000): Pick<StoreCall, "counters" | "limits"> => ({
  counters: [{ counter, amount: 1, capacity: max, horizonMs: windowMs }],
  limits: [{ counter: 0, windowMs, max }],
});

/** Sends DEBUG SLEEP on a connection of its own; resolves once the command is on its way, with its reply to come. */
export async function debugSleep(port: number, seconds: number): Promise<{ done: Promise<void> }> {
  const socket = createConnection({ port, host: "127.0.0.1" });
  await once(socket, "connect");
  // A PONG first: the server has accepted this connection and reads it, so the DEBUG below is
  // read before commands that other connections send after it (a connection not yet accepted
  // is read a turn later).
  socket.write("*1\r\n$4\r\nPING\r\n");
  const [pong] = (await once(socket, "data")) as [Buffer];
  assert.equal(String(pong), "+PONG\r\n");
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

/** Windows a random limit may have. */
const WINDOWS = fc.constantFrom(1_000, 1_500, 2_000, 5_000, 60_000);
/** Budgets: mostly whole calls, with fractions that fill a log past its max, and any double. */
export const CALL_AMOUNT = fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constantFrom(0, 0.1, 0.25, 0.5, 2, 3) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 4, noNaN: true }) });
/** Gaps: the same millisecond, a little later, exactly a window later, or long after. */
export const CALL_GAP = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 400 }), fc.constantFrom(1_000, 1_500, 2_000, 5_000), fc.integer({ min: 0, max: 6_000 }));
/** 1–3 counters (weighted or not, with room beyond their max) and 1–3 entries of 1–3 limits on them. */
export const SHAPE = fc.record({
  counters: fc.array(fc.record({ weighted: fc.boolean(), extra: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 3 }),
  entries: fc.array(fc.array(fc.record({ counter: fc.nat(), windowMs: WINDOWS, max: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
});

export type Shape = typeof SHAPE extends fc.Arbitrary<infer T> ? T : never;

/** For a random shape and a run's counter prefix: the store call of one random call (its entry, amounts, time). */
export function callsOf(shape: Shape, run: string): (call: { entry: number; amounts: number[] }, now: number) => StoreCall & { now: number } {
  const entries = shape.entries.map((limits) => limits.map((limit) => ({ ...limit, counter: limit.counter % shape.counters.length })));
  // As compile.ts sizes a counter: its longest window, and room for its largest max (or more).
  const specs = shape.counters.map((counter, index) => {
    const on = entries.flat().filter((limit) => limit.counter === index);
    return { ...counter, capacity: Math.max(1, ...on.map((limit) => limit.max)) + counter.extra, horizonMs: Math.max(1_000, ...on.map((limit) => limit.windowMs)) };
  });
  return (call, now) => {
    const limits = entries[call.entry]!;
    const used = [...new Set(limits.map((limit) => limit.counter))];
    const counters: CounterCharge[] = used.map((index) => ({ counter: `${run}.c${index}`, amount: specs[index]!.weighted ? call.amounts[index]! : 1, capacity: specs[index]!.capacity, horizonMs: specs[index]!.horizonMs }));
    const checks: LimitCheck[] = limits.map((limit) => ({ counter: used.indexOf(limit.counter), windowMs: limit.windowMs, max: limit.max }));
    return { counters, limits: checks, now };
  };
}
