// The client's requests in flight, by id key: what the server was sent (or what waits for a
// human), so that each answer is matched to its request and every request is answered once.
// Also the bounded memories that answers and cancellations are checked against: ids of calls
// mcpgate denied, and requests the client cancelled after they were sent.
import type { Held } from "../approval/coordinator.ts";
import type { ArgsField, CallRecord } from "../audit/call-event.ts";
import type { Verdict } from "../policy/decision.ts";
import type { Taken } from "../policy/evaluate.ts";
import type { Receipt } from "../store/call.ts";
import { idKey, type Id } from "../wire/message.ts";
import { errorReply, INVALID_REQUEST, SERVER_ERROR } from "../wire/reply.ts";
import type { BatchReplies } from "./batch.ts";

export interface Pending {
  id: Id;
  method: string;
  started: number;
  /** The call forwarded under this id, as the audit log records it when its answer comes. */
  call?: CallRecord;
  batch?: BatchReplies;
  /** Set while the call waits for a human; the server has not seen it. */
  approval?: Held;
  /** Set while the call waits for the shared store's count (shared-counts.ts); the server has not seen it. */
  counting?: Counting;
  /** What to give back if the call fails (refund: on_error): its refundable charges here and in the store. */
  refund?: Refund;
  /** A call of protocol 2026-07-28: our answers carry resultType, and a round the server opens is wrapped. */
  modern?: ModernCall;
  /** A task-augmented call: a denial is a task of mcpgate's (denied-tasks.ts). */
  task?: true;
  /** For a tasks/* request while some call's record waits for its task: the task it names. */
  taskId?: string;
  /** For a tools/call: the tool it calls, whatever was decided (its result may need redacting). */
  tool?: string;
}

/** A call waiting for the store: the verdict that allowed it so far, and its audit field. */
export interface Counting {
  verdict: Verdict;
  field: ArgsField | undefined;
}

/** What a call consumed that a failed result gives back (SPEC §3, refund: on_error). */
export interface Refund {
  session?: readonly Taken[];
  store?: Receipt;
}

/** Whether the server has not been sent this request: it waits for a human or for the store. */
export function notSent(pending: Pending): boolean {
  return pending.approval !== undefined || pending.counting !== undefined;
}

/**
 * What wrapping a round the server opens for a forwarded 2026-07-28 call binds: the call (the
 * digest of its canonical arguments, known for a retry, else made from its line only if the
 * server does open a round: most calls never need it), and the rule that judged it.
 */
export interface ModernCall {
  tool: string;
  rule: string;
  digest?: string;
  line?: Buffer;
}

/** What is kept of a request the client cancelled after it was sent: enough to pass its late answer. */
export interface Cancelled {
  method: string;
  tool?: string;
}

/** Past this, a call's line is kept as it is rather than copied (it is a buffer of its own by then). */
const COPIED = 64 * 1024;

/**
 * What a 2026-07-28 call binds for a round the server may open: its line, whose canonical
 * arguments are digested only if the server does (18.9 µs for a 150-byte call, 33 ms for
 * 1.3 MiB: too much for every call), and its rule. A small line is copied, so the chunk it
 * arrived in is not kept while the call is in flight.
 */
export function modernCall(buf: Buffer, tool: string, rule: string): ModernCall {
  return { tool, rule, line: buf.length <= COPIED ? Buffer.from(buf) : buf };
}

const DEFAULT_MAX_PENDING = 65_536;
/** How many denied ids and cancelled requests are remembered; past this, the oldest go. */
const MEMORY = 1_024;

export class InFlight {
  readonly #pending = new Map<string, Pending>();
  /** Ids of calls mcpgate denied, so a later notifications/cancelled for them is not forwarded. */
  readonly #denied = new Set<string>();
  /** Requests the server was sent and the client then cancelled: a late answer still passes. */
  readonly #cancelled = new Map<string, Cancelled>();
  readonly #max: number;

  constructor(max = DEFAULT_MAX_PENDING) {
    this.#max = max;
  }

  get size(): number {
    return this.#pending.size;
  }

  get(key: string): Pending | undefined {
    return this.#pending.get(key);
  }

  values(): IterableIterator<Pending> {
    return this.#pending.values();
  }

  /** The error a new request with `id` gets instead of being sent: its id is in use, or the table is full. */
  refusal(id: Id): Buffer | undefined {
    if (this.#pending.has(id.key)) return errorReply(id, INVALID_REQUEST, `Invalid Request: id ${id.raw} is already in use by a request in flight`);
    if (this.#pending.size >= this.#max) return errorReply(id, SERVER_ERROR, `mcpgate: too many requests in flight (${this.#max})`);
    return undefined;
  }

  open(id: Id, method: string, started: number, batch: BatchReplies | undefined): Pending {
    const pending: Pending = { id, method, started };
    if (batch !== undefined) pending.batch = batch;
    this.#pending.set(id.key, pending);
    return pending;
  }

  /** Whether `pending` is still the request in flight under its id. */
  isOpen(pending: Pending): boolean {
    return this.#pending.get(pending.id.key) === pending;
  }

  close(pending: Pending): void {
    if (this.isOpen(pending)) this.#pending.delete(pending.id.key);
  }

  /** Every request in flight, removed: the server is gone. */
  drain(): Pending[] {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    return all;
  }

  rememberDenied(key: string): void {
    remember(this.#denied, key);
  }

  wasDenied(key: string): boolean {
    return this.#denied.has(key);
  }

  /** The client cancelled `pending` after it was sent: the server may still answer it, once. */
  rememberCancelled(pending: Pending): void {
    this.#cancelled.set(pending.id.key, pending.tool === undefined ? { method: pending.method } : { method: pending.method, tool: pending.tool });
    if (this.#cancelled.size > MEMORY) this.#cancelled.delete(this.#cancelled.keys().next().value as string);
  }

  /** The request sent and then cancelled under `key`, forgotten as it is returned. */
  takeCancelled(key: string): Cancelled | undefined {
    const cancelled = this.#cancelled.get(key);
    if (cancelled !== undefined) this.#cancelled.delete(key);
    return cancelled;
  }

  /** Whether a tools/list in flight has an id a client would take `id` for, once numbers and strings are confused. */
  listUnder(id: Id): boolean {
    const loose = looseKey(id);
    for (const pending of this.#pending.values()) if (pending.method === "tools/list" && looseKey(pending.id) === loose) return true;
    return false;
  }
}

function remember(set: Set<string>, key: string): void {
  set.add(key);
  if (set.size > MEMORY) set.delete(set.values().next().value as string);
}

/** An id's key once a string that reads as a number is taken as that number, as JavaScript clients do. */
function looseKey(id: Id): string {
  if (!id.key.startsWith("s")) return id.key;
  const number = Number(id.key.slice(1));
  return Number.isFinite(number) ? idKey(number) : id.key;
}
