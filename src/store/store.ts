// Counters shared across gateways (SPEC §14): check-and-consume, peek and refund on a Redis or
// Valkey store, with the semantics of the in-memory counters (src/limits/window.ts as
// src/policy/evaluate.ts uses it). Every operation resolves within the connection's timeout,
// with a decision or a typed failure; the caller chooses what a failure means (store_failure).
//
// Lost replies: a call's entry id is chosen here, before the script runs, and the script treats
// an id already logged as a call already counted ("replayed"). A consume whose connection drops
// before the reply is sent again with the same id once reconnected (within the same timeout), and
// a caller may retry a timed-out consume with its receipt's id: either way it is counted once.
// A caller that gives up on a consume that may have run (maybeApplied) and denies the call refunds
// its receipt; refunds are idempotent, and one that fails is kept and sent again on reconnect.
import { CONSUME_LUA, REFUND_LUA } from "./lua.ts";
import { ConsumeBatcher } from "./batch.ts";
import { consumeArgs, decodePeek, keysOf, newEntryId, validateCall, type Decision, type LimitState, type Receipt, type StoreCall } from "./call.ts";
import { Connection, type Attempt, type ConnectionOptions, type StoreFailure } from "./connection.ts";

export interface CounterStoreOptions extends Omit<ConnectionOptions, "scripts"> {
  /** Gateways share a counter when they share the store, the namespace and the counter's name. */
  namespace: string;
  /** Refunds kept for a later try while the store is away (default 10 000); past that the oldest are dropped. */
  maxQueuedRefunds?: number;
}

/** A decision of the store, or why there is none: the receipt says what to refund if the call is denied anyway. */
export type ConsumeResult = Decision | { outcome: "failed"; failure: StoreFailure; receipt: Receipt };

export type PeekResult = { outcome: "peeked"; now: number; limits: LimitState[] } | { outcome: "failed"; failure: StoreFailure };

export type RefundResult = { outcome: "refunded"; removed: number } | { outcome: "failed"; failure: StoreFailure; queued: boolean };

type ScriptRunner = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;
interface WithScripts {
  mcpgateConsume: ScriptRunner;
  mcpgateRefund: ScriptRunner;
}

const DEFAULT_MAX_QUEUED_REFUNDS = 10_000;
/** Consume calls waiting for their batch at once; past this a call fails at once as overloaded (as the connection's maxPending). */
const DEFAULT_MAX_WAITING = 4096;

export class CounterStore {
  readonly #connection: Connection;
  readonly #batcher: ConsumeBatcher;
  readonly #namespace: string;
  readonly #maxQueuedRefunds: number;
  /** Refunds that failed, by entry id, oldest first: sent again when the store is back. */
  readonly #queuedRefunds = new Map<string, Receipt>();
  #droppedRefunds = 0;
  #flushing: Promise<void> | undefined;

  constructor(options: CounterStoreOptions) {
    if (typeof options.namespace !== "string" || options.namespace === "") {
      throw new TypeError(`Expected \`namespace\` to be a non-empty string, got ${JSON.stringify(options.namespace)}`);
    }
    this.#namespace = options.namespace;
    this.#maxQueuedRefunds = options.maxQueuedRefunds ?? DEFAULT_MAX_QUEUED_REFUNDS;
    const onEvent = options.onEvent;
    this.#connection = new Connection({
      ...options,
      scripts: { mcpgateConsume: { lua: CONSUME_LUA }, mcpgateRefund: { lua: REFUND_LUA } },
      onEvent: (event) => {
        if (event.kind === "ready") void this.flushRefunds();
        onEvent?.(event);
      },
    });
    this.#batcher = new ConsumeBatcher(this.#connection, this.#namespace, options.maxPending ?? DEFAULT_MAX_WAITING);
  }

  /** The store's URL without credentials, for reasons and logs. */
  get name(): string {
    return this.#connection.name;
  }

  get timeoutMs(): number {
    return this.#connection.timeoutMs;
  }

  get ready(): boolean {
    return this.#connection.ready;
  }

  /** Refunds waiting for the store, and how many were dropped for want of room. */
  get refundBacklog(): { queued: number; dropped: number } {
    return { queued: this.#queuedRefunds.size, dropped: this.#droppedRefunds };
  }

  /** Resolves true once connected (at once if connected now), false if not within `ms`. */
  whenReady(ms: number): Promise<boolean> {
    return this.#connection.whenReady(ms);
  }

  /**
   * Judges every limit of `call` and, only if all pass, logs the call in each of its counters,
   * atomically. A call with an id the store already logged is not counted again. Calls waiting
   * at the same time are judged in one script run, in the order consume() was called (batch.ts).
   * @throws TypeError on a malformed call (a bug of the caller, not a store fault).
   */
  async consume(call: StoreCall): Promise<ConsumeResult> {
    validateCall(call);
    return this.#batcher.consume(call, call.id ?? newEntryId());
  }

  /** Judges every limit of `call` without counting it: how each stands now. */
  async peek(call: StoreCall): Promise<PeekResult> {
    validateCall(call);
    const names = call.counters.map((charge) => charge.counter);
    const attempt = await this.#script("mcpgateConsume", names, consumeArgs("peek", call, "peek"), true);
    if (!attempt.ok) return { outcome: "failed", failure: attempt.failure };
    try {
      return { outcome: "peeked", ...decodePeek(attempt.value, call) };
    } catch (error) {
      return { outcome: "failed", failure: { kind: "error", message: `store ${this.name}: ${(error as Error).message}`, maybeApplied: false } };
    }
  }

  /**
   * Takes back exactly what the call of `receipt` added (nothing if it was never counted, or
   * already refunded). A refund that fails for want of the store is queued and sent again when
   * it is back, unless `queue` is false.
   */
  async refund(receipt: Receipt, queue = true): Promise<RefundResult> {
    if (receipt.entries.length === 0) return { outcome: "refunded", removed: 0 };
    const names = receipt.entries.map((entry) => entry.counter);
    const args = [receipt.id, ...receipt.entries.map((entry) => String(entry.amount))];
    const attempt = await this.#script("mcpgateRefund", names, args, true);
    if (attempt.ok) {
      this.#queuedRefunds.delete(receipt.id);
      return { outcome: "refunded", removed: Number(attempt.value) };
    }
    const queued = queue && attempt.failure.kind !== "error";
    if (queued) this.#queue(receipt);
    return { outcome: "failed", failure: attempt.failure, queued };
  }

  /** Sends the queued refunds now (as on every reconnect); resolves when done or the store is away again. */
  flushRefunds(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** Closes the connection. Queued refunds are dropped. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #script(name: keyof WithScripts, counters: string[], args: string[], retry: boolean): Promise<Attempt<unknown>> {
    const keys = keysOf(this.#namespace, counters);
    return this.#connection.run((client) => (client as unknown as WithScripts)[name](keys.length, ...keys, ...args), retry);
  }

  #queue(receipt: Receipt): void {
    this.#queuedRefunds.delete(receipt.id);
    this.#queuedRefunds.set(receipt.id, receipt);
    while (this.#queuedRefunds.size > this.#maxQueuedRefunds) {
      this.#queuedRefunds.delete(this.#queuedRefunds.keys().next().value!);
      this.#droppedRefunds++;
    }
  }

  /** Sends the queued refunds, a few at a time, until done or the store is away again. */
  async #flush(): Promise<void> {
    while (this.#queuedRefunds.size > 0 && this.ready) {
      const batch = [...this.#queuedRefunds.values()].slice(0, 64);
      const results = await Promise.all(batch.map((receipt) => this.refund(receipt, false)));
      for (const [index, result] of results.entries()) {
        // A refund the store refused (an error reply) would fail again: let it go.
        if (result.outcome === "refunded" || result.failure.kind === "error") this.#queuedRefunds.delete(batch[index]!.id);
      }
      if (results.some((result) => result.outcome === "failed" && result.failure.kind !== "error")) return;
    }
  }
}
