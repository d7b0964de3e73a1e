// What the store tests share: the in-memory reference the store must decide as, a decision
// without what only the store has, a one-counter call, and a store put to sleep.
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { once } from "node:events";
import { SlidingLog } from "../../src/limits/window.ts";
import type { StoreCall } from "../../src/store/call.ts";
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
