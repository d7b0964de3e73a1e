// When handling a line throws, the fault is mcpgate's own, not the peer's: it goes to stderr and
// the audit log, the line is not forwarded, and the request it carries (or answers) is answered
// with an error when its id can still be read from the bytes that just failed, so no request is
// left waiting for an answer that will never come. The router's try/catch wrappers end here.
import type { Approvals } from "../approval/coordinator.ts";
import type { CallAudit } from "../audit/call-event.ts";
import { contentEnd } from "../wire/framing.ts";
import type { Id, Message } from "../wire/message.ts";
import { errorReply, INTERNAL_ERROR } from "../wire/reply.ts";
import type { Answers } from "./answers.ts";
import { idOfLine } from "./intake.ts";
import { notSent, type InFlight } from "./in-flight.ts";
import { preview, type Logger } from "./log.ts";

const INTERNAL = "mcpgate: internal error while handling this request; it was not forwarded";

export interface FaultsOptions {
  log: Logger;
  inFlight: InFlight;
  approvals: Approvals;
  audit: CallAudit;
  /** Forwarded requests whose answer will not reach the client are failed through it. */
  answers: Answers;
  /** Sends one of mcpgate's own messages to the client. */
  send(bytes: Buffer): void;
}

export class Faults {
  readonly #options: FaultsOptions;

  constructor(options: FaultsOptions) {
    this.#options = options;
  }

  /** Handling a client line threw: its request gets an error, unless the server was sent it. */
  clientLine(line: Buffer, error: unknown): void {
    this.#record("a client message", line, error);
    const id = safely(() => idOfLine(line, contentEnd(line)));
    const pending = id === undefined ? undefined : this.#options.inFlight.get(id.key);
    // In flight and not held, it was forwarded, and the server's answer is on its way.
    if (id !== undefined && (pending === undefined || notSent(pending))) this.#options.send(this.#failedRequest(id));
  }

  /** Handling an element of a client batch threw: it is never forwarded; a request is answered with this error. */
  clientElement(element: Buffer, message: Message, error: unknown): Buffer | undefined {
    this.#record("an element of a client batch", element, error);
    return message.kind === "request" ? this.#failedRequest(message.id) : undefined;
  }

  /**
   * Handling a server line threw: not forwarded (it may be a list that was to be filtered); the
   * request it answers, if one can be told, gets an error instead.
   */
  serverLine(line: Buffer, error: unknown): void {
    this.#record("a server message", line, error);
    const pending = safely(() => {
      const id = idOfLine(line, contentEnd(line));
      return id === undefined ? undefined : this.#options.inFlight.get(id.key);
    });
    if (pending !== undefined && !notSent(pending)) this.#options.answers.fail(pending, INTERNAL_ERROR, "mcpgate: internal error while handling the server's answer; it was not forwarded");
  }

  /** Handling the request `id` threw before it was forwarded: it leaves the table, and gets this error. */
  #failedRequest(id: Id): Buffer {
    const { inFlight, approvals } = this.#options;
    const pending = inFlight.get(id.key);
    if (pending !== undefined) {
      inFlight.close(pending);
      if (pending.approval !== undefined) approvals.withdraw(pending.approval, "mcpgate failed while handling the call");
    }
    return errorReply(id, INTERNAL_ERROR, INTERNAL);
  }

  #record(what: string, bytes: Buffer, error: unknown): void {
    const message = (error as Error)?.message ?? String(error);
    this.#options.log.warn(`internal error while handling ${what} (${message}); not forwarded: ${preview(bytes, 200)}`);
    this.#options.audit.fault(what, message);
  }
}

/** `fn`'s result, or undefined if it throws: for what a fault handler tries on bytes that just failed. */
function safely<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
