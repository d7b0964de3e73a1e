// What one call asks of the shared counters, and what the store answered, as plain data; and
// their encoding for the scripts of lua.ts. Pure: tested without a server.
import { randomBytes } from "node:crypto";

/** A counter a call charges: what it adds, and how much the store keeps of it. */
export interface CounterCharge {
  /** The counter's name; its key is counterKey(namespace, name). */
  counter: string;
  /** What the call adds: 1 for a call, or an increment_from amount (finite, >= 0; 0 adds nothing). */
  amount: number;
  /** At most this many entries are kept (SlidingLog's capacity: the largest max, or more for a budget). */
  capacity: number;
  /** The longest window of any limit on this counter (ms): older entries are pruned, and the key expires after it. */
  horizonMs: number;
}

/** One limit, judged in the order given, as policy/evaluate.ts judges an entry's limits. */
export interface LimitCheck {
  /** Index into StoreCall.counters of the counter this limit reads. */
  counter: number;
  windowMs: number;
  max: number;
}

export interface StoreCall {
  counters: readonly CounterCharge[];
  limits: readonly LimitCheck[];
  /**
   * The entry id: a retry of a call whose reply was lost passes the id of the first try and is
   * counted once. Omitted: a new id (newEntryId()).
   */
  id?: string;
  /** The time to judge at (ms). Omitted: the store's own clock (TIME), shared by every gateway. */
  now?: number;
}

/** What a call added: enough to take it back (refund). */
export interface Receipt {
  id: string;
  entries: { counter: string; amount: number }[];
}

/** How one limit stands (peek). */
export interface LimitState {
  passed: boolean;
  used: number;
  /** Milliseconds until the call's amount would fit; undefined if it fits now or never can. */
  retryAfterMs?: number;
}

export type Decision =
  /** Counted now, or (replayed) by an earlier try of the same id whose reply was lost. */
  | { outcome: "allowed"; now: number; receipt: Receipt; replayed: boolean }
  /** StoreCall.limits[limit] would be exceeded; nothing was counted. */
  | { outcome: "denied"; now: number; limit: number; used: number; retryAfterMs?: number };

/** Each entry id's length bound: short members keep a busy counter's memory small. */
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const PROCESS_PREFIX = randomBytes(6).toString("base64url");
let sequence = 0;

/**
 * A new entry id, unique across processes (a random per-process prefix) and, within one
 * process, increasing in string order: entries logged in the same millisecond then sort in the
 * order they were added, as they stand in the in-memory log.
 */
export function newEntryId(): string {
  sequence++;
  return `${PROCESS_PREFIX}.${sequence.toString(36).padStart(10, "0")}`;
}

/** The key of a counter's entries, as SPEC §14 names it; its amounts live beside it. */
export function counterKey(namespace: string, counter: string): string {
  return `mcpgate:${namespace}:${counter}`;
}

/** The key of a counter's amounts: another prefix, so no counter's name can collide with it. */
export function amountsKey(namespace: string, counter: string): string {
  return `mcpgate-amounts:${namespace}:${counter}`;
}

function describe(value: unknown): string {
  if (typeof value === "number") return `${value} (number)`;
  return typeof value === "string" ? `${JSON.stringify(value)} (string)` : typeof value;
}

function expect(ok: boolean, what: string, expected: string, got: unknown): void {
  if (!ok) throw new TypeError(`Expected \`${what}\` to be ${expected}, got ${describe(got)}`);
}

const positive = (value: unknown): boolean => typeof value === "number" && Number.isFinite(value) && value > 0;

/** Throws on a call the scripts could not judge as the in-memory counters would. */
export function validateCall(call: StoreCall): void {
  expect(call.counters.length > 0, "counters", "a non-empty list", call.counters.length);
  const names = new Set<string>();
  call.counters.forEach((charge, index) => {
    expect(typeof charge.counter === "string" && !names.has(charge.counter), `counters[${index}].counter`, "a name not yet in the call", charge.counter);
    names.add(charge.counter);
    const { amount } = charge;
    expect(typeof amount === "number" && Number.isFinite(amount) && amount >= 0, `counters[${index}].amount`, "a finite number >= 0", amount);
    expect(positive(charge.capacity), `counters[${index}].capacity`, "a number > 0", charge.capacity);
    expect(positive(charge.horizonMs), `counters[${index}].horizonMs`, "a number > 0", charge.horizonMs);
  });
  call.limits.forEach((limit, index) => {
    expect(Number.isInteger(limit.counter) && limit.counter >= 0 && limit.counter < call.counters.length, `limits[${index}].counter`, `an index below ${call.counters.length}`, limit.counter);
    expect(positive(limit.windowMs), `limits[${index}].windowMs`, "a number > 0", limit.windowMs);
    expect(typeof limit.max === "number" && Number.isFinite(limit.max) && limit.max >= 0, `limits[${index}].max`, "a finite number >= 0", limit.max);
  });
  if (call.id !== undefined) expect(ID.test(call.id), "id", "1 to 64 of A-Z a-z 0-9 _ . -", call.id);
  if (call.now !== undefined) expect(Number.isFinite(call.now), "now", "a finite number", call.now);
}

/** KEYS for a call's counters: its entries and amounts, pair by pair. */
export function keysOf(namespace: string, counters: readonly string[]): string[] {
  return counters.flatMap((counter) => [counterKey(namespace, counter), amountsKey(namespace, counter)]);
}

/** Appends one call's fields for CONSUME_LUA. A capacity is rounded up as SlidingLog rounds it. */
function pushFields(args: string[], call: StoreCall, id: string): void {
  args.push(call.now === undefined ? "" : String(call.now), id, String(call.counters.length), String(call.limits.length));
  for (const charge of call.counters) args.push(String(charge.amount), String(Math.max(1, Math.ceil(charge.capacity))), String(charge.horizonMs));
  for (const limit of call.limits) args.push(String(limit.counter + 1), String(limit.windowMs), String(limit.max));
}

/** ARGV of CONSUME_LUA for one call. */
export function consumeArgs(mode: "consume" | "peek", call: StoreCall, id: string): string[] {
  const args = [mode];
  pushFields(args, call, id);
  return args;
}

/** KEYS and ARGV of CONSUME_LUA's batch mode: the calls, judged in this order. */
export function batchCommand(namespace: string, calls: readonly { call: StoreCall; id: string }[]): { keys: string[]; args: string[] } {
  const keys: string[] = [];
  const args = ["batch", String(calls.length)];
  for (const { call, id } of calls) {
    for (const charge of call.counters) keys.push(counterKey(namespace, charge.counter), amountsKey(namespace, charge.counter));
    pushFields(args, call, id);
  }
  return { keys, args };
}

/** The script's reply was not of the shape it returns: a wrong script at that name, or a proxy in between. */
export class ReplyShapeError extends Error {}

function text(reply: unknown, index: number): string {
  const value = Array.isArray(reply) ? reply[index] : undefined;
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  throw new ReplyShapeError(`Expected a string at [${index}] of the script's reply, got ${JSON.stringify(reply)}`);
}

function number(reply: unknown, index: number): number {
  const value = Number(text(reply, index));
  if (Number.isNaN(value)) throw new ReplyShapeError(`Expected a number at [${index}] of the script's reply, got ${JSON.stringify(reply)}`);
  return value;
}

function hint(reply: unknown, index: number): number | undefined {
  return text(reply, index) === "" ? undefined : number(reply, index);
}

/** What `call` adds under `id`: the counters it charges more than 0. */
export function receiptOf(call: StoreCall, id: string): Receipt {
  return { id, entries: call.counters.filter((charge) => charge.amount > 0).map(({ counter, amount }) => ({ counter, amount })) };
}

/** A consume reply as a Decision. */
export function decodeConsume(reply: unknown, call: StoreCall, id: string): Decision {
  const outcome = text(reply, 0);
  const now = number(reply, 1);
  if (outcome === "allowed" || outcome === "replayed") return { outcome: "allowed", now, receipt: receiptOf(call, id), replayed: outcome === "replayed" };
  if (outcome !== "denied") throw new ReplyShapeError(`Expected allowed, replayed or denied from the script, got ${JSON.stringify(reply)}`);
  const decision: Decision = { outcome: "denied", now, limit: number(reply, 2) - 1, used: number(reply, 3) };
  const retryAfterMs = hint(reply, 4);
  if (retryAfterMs !== undefined) decision.retryAfterMs = retryAfterMs;
  return decision;
}

/** A batch's reply: one reply per call, in order. */
export function batchReplies(reply: unknown, count: number): unknown[] {
  if (!Array.isArray(reply) || reply.length !== count) throw new ReplyShapeError(`Expected ${count} replies from the script's batch, got ${JSON.stringify(reply)}`);
  return reply;
}

/** The message of a call's {"error", message} within a batch (the store failed to judge it), or undefined. */
export function batchError(reply: unknown): string | undefined {
  return Array.isArray(reply) && text(reply, 0) === "error" ? text(reply, 1) : undefined;
}

/** A peek reply: the time judged at, and each limit's state in call order. */
export function decodePeek(reply: unknown, call: StoreCall): { now: number; limits: LimitState[] } {
  if (text(reply, 0) !== "peek") throw new ReplyShapeError(`Expected a peek reply from the script, got ${JSON.stringify(reply)}`);
  const limits = call.limits.map((_, index): LimitState => {
    const at = 2 + 3 * index;
    const state: LimitState = { passed: text(reply, at) === "1", used: number(reply, at + 1) };
    const retryAfterMs = hint(reply, at + 2);
    if (retryAfterMs !== undefined) state.retryAfterMs = retryAfterMs;
    return state;
  });
  return { now: number(reply, 1), limits };
}
