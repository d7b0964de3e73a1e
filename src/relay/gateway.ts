// A session: the wrapped server's process, the two byte pumps around the router (pumps.ts:
// backpressure both ways), line framing on each side, and the lifecycle from start to exit.
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";
import type { AuditLog } from "../audit/log.ts";
import { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { LineSplitter, MAX_CLIENT_LINE_BYTES, MAX_LINE_BYTES } from "../wire/framing.ts";
import { NULL_ID } from "../wire/message.ts";
import { errorReply, INVALID_REQUEST } from "../wire/reply.ts";
import type { Approver } from "../approval/answer.ts";
import { EXIT_NOT_STARTED } from "../cli/exit-codes.ts";
import type { Reloaded } from "./live-policy.ts";
import type { SharedStore } from "./shared-counts.ts";
import { Router, type Logger } from "./router.ts";
import { Coalescer, Throttle, writer } from "./pumps.ts";
import { describeExit, spawnServer, stopChild } from "./server-process.ts";
import { cannotStartMessage } from "./start-error.ts";
import type { PinStore } from "../pins/store.ts";

// Re-exported: code written before src/relay/server-process.ts existed imports them from here.
export { describeExit, stopChild };

export interface GatewayOptions {
  command: string;
  args: string[];
  policy: CompiledPolicy;
  audit: AuditLog;
  log: Logger;
  dryRun?: boolean;
  /** Asks a human about calls that need approval, instead of the client's elicitation. */
  approver?: Approver;
  stdin?: Readable;
  stdout?: Writable;
  /** How long the server gets after its stdin closes, and again after SIGTERM. */
  graceMs?: number;
  now?: () => number;
  /** Where the servers' tool pins are kept (SPEC §13). */
  pins?: PinStore;
  /** The shared store of the policy's global counters (SPEC §14). */
  store?: SharedStore;
}

export interface Gateway {
  /** Resolves with the exit code: the server's, 128+signal if it was killed, 127 if it never started. */
  exited: Promise<number>;
  /** Closes the server's stdin, then SIGTERM, then SIGKILL, each after the grace period. */
  shutdown(why: string): void;
  /** Puts a new policy in force between two messages (SPEC §11); see Router.reload. */
  reload(policy: CompiledPolicy, store?: SharedStore): Reloaded;
}

/** Server lines longer than this are streamed rather than held whole. */
const STREAM_AFTER = 1024 * 1024;

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal === null ? undefined : constants.signals[signal];
  return number === undefined ? 1 : 128 + number;
}

export function startGateway(options: GatewayOptions): Gateway {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const graceMs = options.graceMs ?? 2_000;
  const now = options.now ?? ((): number => performance.now());
  const { log, audit } = options;

  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));

  let child: ChildProcess;
  try {
    child = spawnServer(options.command, options.args, graceMs, log.warn);
  } catch (error) {
    log.warn(cannotStartMessage(options.command, error as Error));
    resolveExit(EXIT_NOT_STARTED);
    return { exited, shutdown() {}, reload: () => ({ hideChanged: false }) };
  }
  const childIn = child.stdin!;
  const childOut = child.stdout!;

  const clientInput = new Throttle(stdin);
  const toClient = new Coalescer(stdout, writer(stdout, [new Throttle(childOut), clientInput]));
  const toServer = new Coalescer(childIn, writer(childIn, [clientInput]));
  const router = new Router({
    policy: options.policy,
    counters: new Counters(options.policy.counters),
    toServer: toServer.push,
    toClient: toClient.push,
    audit,
    server: [options.command, ...options.args],
    log,
    now,
    dryRun: options.dryRun ?? false,
    ...(options.approver === undefined ? {} : { approver: options.approver }),
    ...(options.pins === undefined ? {} : { pins: options.pins }),
    ...(options.store === undefined ? {} : { store: options.store }),
  });

  const fromClient = new LineSplitter({
    line: (bytes) => router.fromClient(bytes),
    oversize: (bytes) => {
      log.warn(`client sent a message of ${bytes} bytes, over the limit; dropped`);
      router.sendToClient(errorReply(NULL_ID, INVALID_REQUEST, `mcpgate: message of ${bytes} bytes is over the limit and was dropped`));
    },
  }, MAX_CLIENT_LINE_BYTES);
  // Server lines past STREAM_AFTER are forwarded as they arrive (see Router.serverStreamStart),
  // so a large result costs neither its size in memory nor a second pass before it is sent.
  const fromServer = new LineSplitter(
    {
      line: (bytes) => router.fromServer(bytes),
      oversize: (bytes) => log.warn(`server sent a message of ${bytes} bytes, over the limit; dropped`),
      stream: (head) => router.serverStreamStart(head),
      more: (bytes) => router.serverStreamMore(bytes),
      done: (tail) => router.serverStreamDone(tail),
    },
    MAX_LINE_BYTES,
    STREAM_AFTER,
  );

  // What one chunk produces goes out together, merged where it can be (see Coalescer).
  const routing = (splitter: LineSplitter) => (chunk: Buffer) => {
    toServer.hold();
    toClient.hold();
    splitter.push(chunk);
    toServer.release();
    toClient.release();
  };
  stdin.on("data", routing(fromClient));
  childOut.on("data", routing(fromServer));

  let stopping = false;
  /** Whether the client side asked for the stop, so the server's exit is expected. */
  let stopRequested = false;
  const shutdown = (why: string, requested = true): void => {
    stopRequested ||= requested;
    if (stopping) return;
    stopping = true;
    log.info(`${why}; stopping the server`);
    stopChild(child, graceMs);
  };

  childOut.on("end", () => {
    fromServer.end();
    // A server that closes its stdout can answer nothing more, even if its process lives on.
    // Stopping it is harmless if it is exiting anyway; what waits is answered once it has.
    shutdown("the server closed its stdout", false);
  });
  stdin.on("end", () => {
    fromClient.end();
    shutdown("the client closed its input");
  });
  stdin.on("error", () => shutdown("the client's input failed"));
  stdout.on("error", (error: NodeJS.ErrnoException) => {
    // EPIPE: the client is gone. Nobody is left to answer; stop the server.
    clientInput.stop();
    shutdown(`the client stopped reading (${error.code ?? error.message})`);
  });
  childIn.on("error", (error: NodeJS.ErrnoException) => {
    // The server closed its stdin or died; its exit is handled below.
    log.info(`server input closed (${error.code ?? error.message})`);
  });

  let started = false;
  child.on("spawn", () => {
    started = true;
  });
  child.on("error", (error: NodeJS.ErrnoException) => {
    if (started) {
      log.warn(`MCP server process error: ${error.message}`);
      return;
    }
    log.warn(cannotStartMessage(options.command, error));
    clientInput.stop();
    resolveExit(EXIT_NOT_STARTED);
  });
  child.on("close", (code, signal) => {
    if (!started) return;
    fromServer.end();
    const description = describeExit(code, signal);
    if (!stopRequested) log.warn(`the MCP server ${description}`);
    router.serverExited(description);
    clientInput.stop();
    resolveExit(exitCode(code, signal));
  });

  // Called from a watcher's own tick, never from inside a chunk's routing: between two messages.
  return { exited, shutdown: (why) => shutdown(why), reload: (policy, store) => router.reload(policy, store) };
}
