// Consume calls that wait at the same time go to the store as one script run (a batch): one
// command, one script start and one reply for many calls, for the store and for the gateway. A
// call made while fewer than MAX_IN_FLIGHT batches are in flight goes out at the end of the
// current turn, with any made in the same turn (no added wait when idle); calls made while
// MAX_IN_FLIGHT are in flight wait for one of them to answer (or fail) and then go out together
// as the next batch, at most MAX_BATCH at a time. The script judges a batch's calls in order, each exactly as it
// would judge the call alone (lua.ts), so a call sees what those before it counted.
//
// Every call resolves within the timeout measured from its own consume(), whatever its batch
// does: one still waiting for its turn when its time is up fails without having been sent
// (maybeApplied false); one sent fails as a timeout that may have run. A batch whose connection
// dropped before the reply is sent again once reconnected (by Connection.run), with only the
// calls whose time is not up: a call its caller was told about is never sent again behind its
// back, so a refund it made stays after its last send on the connection.
import type { Redis } from "ioredis";
import { batchCommand, batchError, batchReplies, decodeConsume, receiptOf, type StoreCall } from "./call.ts";
import type { Attempt, Connection, StoreFailure } from "./connection.ts";
import type { ConsumeResult } from "./store.ts";

/** The most calls one script run judges: it keeps the store from other work for that long. */
export const MAX_BATCH = 256;
/**
 * Batches in flight at once: the store judges one while the gateway handles another's answers.
 * With one at a time the two took turns. Pipelined calls through the gateway (64 in flight, a
 * busy 2-core VM, alternating rounds): 11,500–14,100 calls/s with 1 (median of 6: 12,500),
 * 12,600–16,200 with 2, 12,700–15,100 with 4 (median of 5: 14,400), 12,900–17,100 with 8.
 */
export const MAX_IN_FLIGHT = 4;

interface Waiting {
  call: StoreCall;
  id: string;
  /** performance.now() at which the call's time is up. */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (result: ConsumeResult) => void;
  /** Written to the store at least once: it may have been counted. */
  sent: boolean;
  done: boolean;
}

type BatchRunner = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

/** What the command returns when every call of the batch was answered before a retry could send it. */
const NOTHING_SENT = Symbol("nothing sent");

export class ConsumeBatcher {
  readonly #connection: Connection;
  readonly #namespace: string;
  readonly #maxWaiting: number;
  /** Calls waiting for their turn, oldest first. */
  #queue: Waiting[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(connection: Connection, namespace: string, maxWaiting: number) {
    this.#connection = connection;
    this.#namespace = namespace;
    this.#maxWaiting = maxWaiting;
  }

  /** Judges `call` under `id` in the next batch; resolves within the connection's timeout. */
  consume(call: StoreCall, id: string): Promise<ConsumeResult> {
    if (this.#queue.length >= this.#maxWaiting) {
      return Promise.resolve(this.#failed(call, id, "overloaded", `${this.#queue.length} calls already wait for the store`, false));
    }
    const timeoutMs = this.#connection.timeoutMs;
    return new Promise((resolve) => {
      const waiting: Waiting = { call, id, deadline: performance.now() + timeoutMs, timer: undefined, resolve, sent: false, done: false };
      waiting.timer = setTimeout(() => this.#expire(waiting), timeoutMs);
      this.#queue.push(waiting);
      if (this.#inFlight >= MAX_IN_FLIGHT || this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        void this.#send();
      });
    });
  }

  async #send(): Promise<void> {
    if (this.#inFlight >= MAX_IN_FLIGHT) return;
    const batch = this.#queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.#inFlight++;
    // The calls of the last try; if none was made (not connected, overloaded), all of them, unsent.
    let sent = batch;
    const command = (client: Redis): Promise<unknown> => {
      const at = performance.now();
      sent = batch.filter((waiting) => !waiting.done && at < waiting.deadline);
      if (sent.length === 0) return Promise.resolve(NOTHING_SENT);
      for (const waiting of sent) waiting.sent = true;
      const { keys, args } = batchCommand(this.#namespace, sent);
      return (client as unknown as { mcpgateConsume: BatchRunner }).mcpgateConsume(keys.length, ...keys, ...args);
    };
    let attempt: Attempt<unknown>;
    try {
      attempt = await this.#connection.run(command, true);
    } finally {
      this.#inFlight--;
    }
    this.#answer(sent, attempt);
    if (this.#queue.length > 0) void this.#send();
  }

  #answer(sent: Waiting[], attempt: Attempt<unknown>): void {
    if (!attempt.ok) {
      for (const waiting of sent) this.#settle(waiting, { outcome: "failed", failure: attempt.failure, receipt: receiptOf(waiting.call, waiting.id) });
      return;
    }
    if (attempt.value === NOTHING_SENT) return;
    let replies: unknown[];
    try {
      replies = batchReplies(attempt.value, sent.length);
    } catch (error) {
      for (const waiting of sent) this.#settle(waiting, this.#failed(waiting.call, waiting.id, "error", (error as Error).message, true));
      return;
    }
    sent.forEach((waiting, index) => this.#settle(waiting, this.#decode(replies[index], waiting)));
  }

  #decode(reply: unknown, { call, id }: Waiting): ConsumeResult {
    try {
      const error = batchError(reply);
      // The script stopped judging this call at an error reply: as for a call run alone, nothing of it is taken as counted.
      if (error !== undefined) return this.#failed(call, id, "error", `the store answered ${error}`, false);
      return decodeConsume(reply, call, id);
    } catch (error) {
      return this.#failed(call, id, "error", (error as Error).message, true);
    }
  }

  /** The call's own time is up before its batch answered. */
  #expire(waiting: Waiting): void {
    if (waiting.done) return;
    if (waiting.sent) {
      this.#settle(waiting, this.#failed(waiting.call, waiting.id, "timeout", `no reply within ${this.#connection.timeoutMs} ms`, true));
      return;
    }
    const at = this.#queue.indexOf(waiting);
    if (at !== -1) this.#queue.splice(at, 1);
    const why = `no reply within ${this.#connection.timeoutMs} ms: the call waited behind an earlier batch and was not sent`;
    this.#settle(waiting, this.#failed(waiting.call, waiting.id, this.#connection.ready ? "timeout" : "unavailable", why, false));
  }

  #settle(waiting: Waiting, result: ConsumeResult): void {
    if (waiting.done) return;
    waiting.done = true;
    clearTimeout(waiting.timer);
    waiting.resolve(result);
  }

  #failed(call: StoreCall, id: string, kind: StoreFailure["kind"], why: string, maybeApplied: boolean): ConsumeResult {
    return { outcome: "failed", failure: { kind, message: `store ${this.#connection.name}: ${why}`, maybeApplied }, receipt: receiptOf(call, id) };
  }
}
