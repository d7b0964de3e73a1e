// Routes every line between client and server, by message kind, and does nothing else. Each
// line is scanned and classified from its bytes (intake.ts); a tools/call goes to calls.ts to be
// judged before the server can see it; server answers go to answers.ts to be matched to what the
// server was sent; everything else is forwarded exactly as received. Batches are split and
// merged in batch.ts, a line whose handling threw is answered by faults.ts, a dead server's
// requests by server-exit.ts, a reload is live-policy.ts's. The router does no I/O of its own —
// its sinks and clock are injected — so it can be driven directly in tests.
import { contentEnd } from "../wire/framing.ts";
import { classify, NULL_ID, type Message } from "../wire/message.ts";
import { errorReply, INVALID_REQUEST } from "../wire/reply.ts";
import { scanJson, type Span } from "../wire/scan.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { assemble, type Parts, type RouterOptions } from "./assemble.ts";
import { DROP, mergeServerBatch, routeClientBatch, type BatchReplies, type ClientBatchRoute, type ElementAnswer, type ElementOutcome } from "./batch.ts";
import { cancel } from "./cancellation.ts";
import { intake } from "./intake.ts";
import { reload, type Reloaded } from "./live-policy.ts";
import { serverExited } from "./server-exit.ts";
import type { SharedStore } from "./shared-counts.ts";
import { preview } from "./log.ts";

export type { Logger } from "./log.ts";
export type { RouterOptions } from "./assemble.ts";
export { MAX_CLIENT_DEPTH } from "./intake.ts";

export class Router {
  readonly #options: RouterOptions;
  readonly #parts: Parts;
  readonly #batchRoute: ClientBatchRoute;

  constructor(options: RouterOptions) {
    this.#options = options;
    const parts = (this.#parts = assemble(options));
    this.#batchRoute = {
      handle: (element, message, batch) => this.#clientMessage(element, message, batch),
      failed: (element, message, error) => parts.faults.clientElement(element, message, error),
      toServer: (bytes) => options.toServer(bytes),
      send: (bytes) => parts.outbox.send(bytes),
    };
  }

  get pendingCount(): number {
    return this.#parts.inFlight.size;
  }

  /** How many calls wait for a human. */
  get heldCount(): number {
    return this.#parts.approvals.count;
  }

  /**
   * Puts a new policy in force (SPEC §11; see live-policy.ts reload), between two messages: call
   * it outside fromClient and fromServer, never from inside them.
   */
  reload(policy: CompiledPolicy, store?: SharedStore): Reloaded {
    return reload(this.#parts, policy, store);
  }

  /** A message of the gateway's own (not the router's) for the client, kept whole like ours. */
  sendToClient(bytes: Buffer): void {
    this.#parts.outbox.send(bytes);
  }

  // ---- client → server -------------------------------------------------------------------

  fromClient(line: Buffer): void {
    try {
      this.#fromClient(line);
    } catch (error) {
      this.#parts.faults.clientLine(line, error);
    }
  }

  #fromClient(line: Buffer): void {
    const end = contentEnd(line);
    if (end === 0) {
      this.#options.toServer(line);
      return;
    }
    const taken = intake(line, end);
    if (taken.kind === "refused") {
      this.#options.log.warn(`refused a client line, ${taken.why}; answered with an error, not forwarded: ${preview(line.subarray(0, end), 200)}`);
      this.#parts.outbox.send(taken.reply);
    } else if (taken.kind === "batch") {
      routeClientBatch(line, taken.elements, this.#batchRoute);
    } else {
      const outcome = this.#clientMessage(line, taken.message, undefined);
      if (outcome === "forward") this.#options.toServer(line);
      else if (Buffer.isBuffer(outcome)) this.#parts.outbox.send(outcome);
      else if (outcome !== undefined && outcome !== "held") this.#options.toServer(outcome.forward);
    }
  }

  /** Handles one message, alone or in a batch: forward it, it waits for a human, our reply, or nothing. */
  #clientMessage(buf: Buffer, message: Message, batch: BatchReplies | undefined): ElementOutcome {
    switch (message.kind) {
      case "invalid":
        return errorReply(message.id ?? NULL_ID, INVALID_REQUEST, `Invalid Request: ${message.reason}`);
      case "response":
        // The answer to one of our approval prompts is ours; the server never asked.
        if (!this.#parts.approvals.owns(message.id.key)) return "forward";
        this.#parts.approvals.clientAnswered(buf, message.id.key);
        return undefined;
      case "notification":
        if (message.method === "tools/call") return this.#parts.calls.notification(buf, message);
        if (message.method === "notifications/cancelled" && cancel(buf, message.members, this.#parts.cancelContext)) return undefined;
        return "forward";
      case "request": {
        const refusal = this.#parts.inFlight.refusal(message.id);
        if (refusal !== undefined) return refusal;
        if (message.method === "tools/call") return this.#parts.calls.request(buf, message.id, message, batch);
        if (message.method.startsWith("tasks/")) {
          // A task of mcpgate's (a denial) is answered here; the server never had it.
          const own = this.#parts.deniedTasks.request(buf, message.id, message.method, message.members);
          if (own !== undefined) return own;
        }
        if (message.method === "initialize") this.#parts.session.initialize(buf, message.members);
        const pending = this.#parts.inFlight.open(message.id, message.method, this.#options.now(), batch);
        if (message.method.startsWith("tasks/") && (this.#parts.taskCalls.waiting || this.#parts.taskTools.size > 0)) this.#parts.answers.follow(pending, buf, message.members);
        return "forward";
      }
    }
  }

  // ---- server → client -------------------------------------------------------------------

  fromServer(line: Buffer): void {
    try {
      this.#fromServer(line);
    } catch (error) {
      this.#parts.faults.serverLine(line, error);
    }
  }

  #fromServer(line: Buffer): void {
    const end = contentEnd(line);
    if (end === 0) {
      this.#parts.outbox.send(line);
      return;
    }
    const scan = scanJson(line, {}, 0, end);
    if (scan.ok && scan.type === "array") {
      const merged = mergeServerBatch(line, scan.members, (element, message, own) =>
        message.kind === "response" ? this.#parts.answers.response(element, message, own) : message.kind === "notification" ? this.#serverNotification(element, message.method, message.members) : undefined,
      );
      if (merged !== undefined) this.#parts.outbox.send(merged);
      return;
    }
    const message = scan.ok && scan.type === "object" ? classify(line, scan) : undefined;
    if (message === undefined || message.kind === "invalid") {
      this.#options.log.warn(`server stdout (not JSON-RPC, not forwarded): ${preview(line.subarray(0, end))}`);
      return;
    }
    if (message.kind === "notification" && this.#parts.taskCalls.waiting) this.#parts.answers.notification(line, message.method, message.members);
    const answer = message.kind === "response" ? this.#parts.answers.response(line, message) : message.kind === "notification" ? this.#serverNotification(line, message.method, message.members) : undefined;
    if (answer !== DROP) this.#parts.outbox.send(answer === undefined ? line : Buffer.isBuffer(answer) ? answer : Buffer.from(`${answer}\n`));
  }

  /** A server notification: a log message redacted, a task's that may carry a redacted tool's result dropped. */
  #serverNotification(buf: Buffer, method: string, members: Span[]): ElementAnswer {
    if (this.#parts.taskTools.size > 0 && this.#parts.answers.taskNotification(buf, method, members) === DROP) return DROP;
    return this.#parts.redactions.logMessage(buf, method, members);
  }

  /** A server line has passed the streaming threshold; see server-stream.ts. */
  serverStreamStart(head: Buffer[]): boolean {
    return this.#parts.stream.start(head);
  }

  serverStreamMore(bytes: Buffer): void {
    this.#parts.stream.more(bytes);
  }

  serverStreamDone(tail: Buffer | undefined): void {
    // A line held whole for redaction (see server-stream.ts) is routed like any other.
    const whole = this.#parts.stream.done(tail);
    if (whole !== undefined) this.fromServer(whole);
  }

  /** The server is gone: every request still waiting gets an error naming why. */
  serverExited(description: string): void {
    serverExited(description, this.#parts);
  }
}
