// One connection to the store (Redis or Valkey) through ioredis, shared by every call in flight:
// each command is written as it comes, without waiting for the replies of those before it
// (pipelining), and replies are matched in order. The connection never stalls its callers: every run() resolves within
// timeoutMs, with the reply or a typed failure, whether the store is down, slow or gone mid-reply.
// It reconnects on its own, with backoff.
import { Redis, type RedisOptions } from "ioredis";

export type FailureKind =
  /** Not connected (down, or reconnecting): nothing was sent. */
  | "unavailable"
  /** Too many commands already wait on the store: nothing was sent. */
  | "overloaded"
  /**
   * No reply within the timeout: the command may have run, or may still run; unless maybeApplied
   * is false (a consume whose time was up while it still waited for its batch: never sent).
   */
  | "timeout"
  /** The connection dropped before the reply: the command may have run. */
  | "disconnected"
  /** The store answered with an error, or with a reply of the wrong shape. */
  | "error";

export interface StoreFailure {
  kind: FailureKind;
  /** Names the store (its URL without credentials) and what went wrong. */
  message: string;
  /** Whether the command may have run (or may yet run) on the store. */
  maybeApplied: boolean;
}

export type Attempt<T> = { ok: true; value: T } | { ok: false; failure: StoreFailure };

/** What the connection went through, for the caller to log (never stdout: it carries the protocol). */
export type StoreEvent = { kind: "ready" } | { kind: "error"; message: string } | { kind: "reconnecting"; delayMs: number };

export interface ConnectionOptions {
  /** redis://[user:pass@]host:port[/db], or rediss:// for TLS. */
  url: string;
  /** Every command resolves within this many ms (default 250). */
  timeoutMs?: number;
  /** Commands waiting on the store at once; past this a command fails at once as overloaded (default 4096). */
  maxPending?: number;
  onEvent?: (event: StoreEvent) => void;
  /**
   * ioredis's auto-pipelining: the commands of one tick in one write, one batch in flight at a
   * time (default false). bench/store.ts, 64 calls in flight on one connection: writing each
   * command as it comes was faster on a quiet machine (21,600 and 38,900 calls/s in two runs,
   * against 13,700 and 26,200), and even with it under load (about 13,400 calls/s each).
   */
  autoPipelining?: boolean;
  /** Scripts to define on the client (ioredis sends EVALSHA, falling back to EVAL on NOSCRIPT). */
  scripts?: RedisOptions["scripts"];
}

export const DEFAULT_TIMEOUT_MS = 250;
const DEFAULT_MAX_PENDING = 4096;

/** The URL as it may be shown: scheme, host, port and database, never the credentials. */
export function describeStore(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Expected the store to be a URL like redis://host:6379, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TypeError(`Expected the store URL to start with redis:// or rediss://, got the scheme ${JSON.stringify(parsed.protocol)}`);
  }
  if (!/^\/(\d+)?$/.test(parsed.pathname || "/")) throw new TypeError(`Expected the store URL's path to be a database number (/0), got ${JSON.stringify(parsed.pathname)}`);
}

/** Reconnect soon after a drop, backing off to a second; jitter spreads a fleet's reconnects. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 5), 1000) + Math.floor(Math.random() * 50);
}

/** Waits for `promise`, or `ms`, whichever comes first. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([promise.then(() => undefined, () => undefined), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

export class Connection {
  readonly client: Redis;
  readonly name: string;
  readonly timeoutMs: number;
  readonly #maxPending: number;
  #pending = 0;
  #everReady = false;
  /** Whether the first connection attempt has ended, in success or failure; and when it does. */
  #firstAttemptOver = false;
  readonly #firstAttempt: Promise<void>;
  #lastError = "";
  #closed = false;

  constructor(options: ConnectionOptions) {
    checkUrl(options.url);
    this.name = describeStore(options.url);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new TypeError(`Expected \`timeoutMs\` to be a number > 0, got ${this.timeoutMs}`);
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    const onEvent = options.onEvent ?? (() => {});
    this.client = new Redis(options.url, {
      // No queue while disconnected: a call then fails at once instead of waiting for a store that is down.
      enableOfflineQueue: false,
      // A command in flight when the connection drops fails at once (it may have run: see store.ts) and is
      // never sent again behind its caller's back.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: options.autoPipelining ?? false,
      retryStrategy: reconnectDelay,
      connectTimeout: Math.max(1000, 4 * this.timeoutMs),
      // A store that sends nothing for this long while replies are owed is dropped and dialled again.
      socketTimeout: Math.max(2000, 8 * this.timeoutMs),
      // RESP2: every Redis and Valkey speaks it, and the scripts' replies are the same in RESP3.
      protocol: 2,
      connectionName: "mcpgate",
      scripts: options.scripts,
    });
    this.#firstAttempt = new Promise((resolve) => {
      for (const event of ["ready", "error", "reconnecting", "end"]) this.client.once(event, () => resolve());
    });
    this.client.on("ready", () => {
      this.#everReady = true;
      this.#firstAttemptOver = true;
      onEvent({ kind: "ready" });
    });
    // Without a listener, an error event (a refused connection) would end the process.
    this.client.on("error", (error: Error) => {
      this.#firstAttemptOver = true;
      this.#lastError = error.message;
      onEvent({ kind: "error", message: error.message });
    });
    this.client.on("reconnecting", (delayMs: number) => {
      this.#firstAttemptOver = true;
      onEvent({ kind: "reconnecting", delayMs });
    });
  }

  get ready(): boolean {
    return this.client.status === "ready";
  }

  /** Resolves once connected (at once if connected now); false if not within `ms`. */
  async whenReady(ms: number): Promise<boolean> {
    if (this.ready) return true;
    if (this.#closed) return false;
    // Not events.once: it gives up at the first error event, and reconnecting has many.
    let onReady = (): void => {};
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    this.client.once("ready", onReady);
    try {
      await within(ready, ms);
    } finally {
      this.client.off("ready", onReady);
    }
    return this.ready;
  }

  /**
   * Runs `command` within timeoutMs. While the first connection attempt is under way a command
   * waits for it (within the same time); once that attempt is over, a command while the store is
   * away fails at once. With
   * `retry`, a command whose connection dropped before the reply is sent again once reconnected,
   * within the same time: only for commands that are idempotent (the scripts of lua.ts are).
   */
  async run<T>(command: (client: Redis) => Promise<T>, retry = false): Promise<Attempt<T>> {
    const deadline = performance.now() + this.timeoutMs;
    for (let tries = 0; ; tries++) {
      const left = deadline - performance.now();
      if (!this.ready && left > 0) {
        if (tries > 0) await this.whenReady(left);
        else if (!this.#firstAttemptOver) await within(this.#firstAttempt, left);
      }
      const attempt = await this.#once(command, deadline - performance.now(), tries > 0);
      if (attempt.ok || !retry || attempt.failure.kind !== "disconnected" || this.#closed) return attempt;
    }
  }

  async #once<T>(command: (client: Redis) => Promise<T>, left: number, retried: boolean): Promise<Attempt<T>> {
    // A retried command may already have run: if it cannot be sent again, that still holds.
    if (this.#closed) return this.#fail("unavailable", "the connection is closed", retried);
    if (!this.ready || left <= 0) {
      const why = this.#everReady ? "the connection was lost" : "not connected yet";
      return this.#fail("unavailable", this.#lastError === "" ? why : `${why} (${this.#lastError})`, retried);
    }
    if (this.#pending >= this.#maxPending) return this.#fail("overloaded", `${this.#pending} commands already wait on the store`, retried);
    this.#pending++;
    const settled = command(this.client).then(
      (value): Attempt<T> => ({ ok: true, value }),
      (error: Error) => this.#failed(error),
    );
    void settled.finally(() => this.#pending--);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.#fail("timeout", `no reply within ${this.timeoutMs} ms`, true)), left);
      void settled.then((attempt) => {
        clearTimeout(timer);
        resolve(attempt);
      });
    });
  }

  #failed(error: Error): Attempt<never> {
    if (error.name === "ReplyError") return this.#fail("error", `the store answered ${error.message}`, false);
    if (/enableOfflineQueue/.test(error.message)) return this.#fail("unavailable", "the connection was lost", false);
    // Connection is closed, MaxRetriesPerRequestError: the command was written, its reply lost.
    return this.#fail("disconnected", `the connection dropped before the reply (${error.message})`, true);
  }

  #fail(kind: FailureKind, why: string, maybeApplied: boolean): Attempt<never> {
    return { ok: false, failure: { kind, message: `store ${this.name}: ${why}`, maybeApplied } };
  }

  /** Closes the connection; commands still waiting fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
