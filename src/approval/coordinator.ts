// Calls held until a human answers. A held call's question goes out by the approver command
// (when set) or as mcpgate's own elicitation/create to the client; whichever answer comes
// first — the human's, the clock's, a withdrawal — settles it, once. What an answer does to
// the call (forward it, deny it) is the caller's: `answered` is told.
import type { ArgsField } from "../audit/call-event.ts";
import type { Verdict } from "../policy/decision.ts";
import type { Logger } from "../relay/log.ts";
import type { Pending } from "../relay/in-flight.ts";
import { idKey } from "../wire/message.ts";
import type { ApprovalAnswer, ApprovalRequest, Approver } from "./answer.ts";
import { elicitationAnswer, elicitationRequest, PrivateIds } from "./elicitation.ts";

/** A call held until a human answers. */
export interface Held {
  request: ApprovalRequest;
  /** The verdict that asked for a human (effect "approve"). */
  verdict: Verdict;
  /** The call's exact bytes, as one line: what the server gets if the answer is yes. */
  bytes: Buffer;
  /** Its arguments as the audit log records them, while auditing. */
  field: ArgsField | undefined;
  /** Its entry among the requests in flight; none for a call sent as a notification. */
  pending?: Pending;
  /** Our elicitation/create's id, while the client has not answered it. */
  elicitationId?: string;
  settled: boolean;
  /** Cancels the timeout and withdraws the question (ends an approver command). */
  stop(): void;
}

/** How a wait for a human ended, as the audit log records it. */
export type Outcome = Extract<ApprovalAnswer, { approved: false }>["outcome"] | "accepted";

export interface ApprovalsOptions {
  /** An approval channel outside the protocol (--approver); preferred over elicitation. */
  approver?: Approver;
  /** Runs `fn` after `ms`; returns a function that cancels it. Injected so tests need no clock. */
  setTimer?(ms: number, fn: () => void): () => void;
  /** Sends one of mcpgate's own messages to the client. */
  send(bytes: Buffer): void;
  log: Logger;
  /** The policy's approval settings in force. */
  settings(): { timeoutMs: number; offerSession: boolean };
  /** A held call got its answer (settled and withdrawn already). */
  answered(held: Held, answer: ApprovalAnswer): void;
}

/** A timer that does not keep the process alive; returns its cancel. */
export function defaultTimer(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export class Approvals {
  readonly #options: ApprovalsOptions;
  readonly #ids = new PrivateIds();
  /** Our elicitation requests the client has not answered, by id key. */
  readonly #asking = new Map<string, Held>();
  /** Every call waiting for a human, with or without an id. */
  readonly #held = new Set<Held>();

  constructor(options: ApprovalsOptions) {
    this.#options = options;
  }

  /** How many calls wait for a human. */
  get count(): number {
    return this.#held.size;
  }

  /** Whether a response id (its key) answers one of our prompts, however late. */
  owns(key: string): boolean {
    return this.#ids.owns(key);
  }

  /** Holds a call and asks a human about it: the approver command if set, else the client. */
  ask(verdict: Verdict, args: Record<string, unknown>, bytes: Buffer, field: ArgsField | undefined, pending: Pending | undefined): Held {
    const { approver, log } = this.#options;
    const { timeoutMs, offerSession } = this.#options.settings();
    const request: ApprovalRequest = { tool: verdict.tool, args, reason: verdict.reason, rule: verdict.rule };
    const controller = new AbortController();
    const held: Held = { request, verdict, bytes, field, settled: false, stop: () => {} };
    if (pending !== undefined) {
      held.pending = pending;
      pending.approval = held;
    }
    this.#held.add(held);
    const cancelTimer = (this.#options.setTimer ?? defaultTimer)(timeoutMs, () =>
      this.#answer(held, { approved: false, outcome: "timeout", reason: `nobody answered within ${formatSeconds(timeoutMs)}` }),
    );
    held.stop = () => {
      cancelTimer();
      controller.abort();
      if (held.elicitationId !== undefined) this.#asking.delete(idKey(held.elicitationId));
    };
    log.warn(`asking a human about ${verdict.tool} [${verdict.rule}] via ${approver !== undefined ? "the approver command" : "the client (elicitation)"}`);
    if (approver !== undefined) {
      approver(request, controller.signal).then(
        (answer) => this.#answer(held, answer),
        (error: unknown) => this.#answer(held, { approved: false, outcome: "error", reason: `the approver failed (${(error as Error).message})` }),
      );
      return held;
    }
    const id = this.#ids.next();
    held.elicitationId = id;
    this.#asking.set(idKey(id), held);
    this.#options.send(elicitationRequest(id, request, timeoutMs, offerSession));
    return held;
  }

  /** The client answered one of our elicitation/create requests (perhaps too late). */
  clientAnswered(buf: Buffer, key: string): void {
    const held = this.#asking.get(key);
    if (held === undefined) {
      this.#options.log.info("a late answer to an approval prompt arrived; ignored");
      return;
    }
    this.#asking.delete(key);
    held.elicitationId = undefined;
    let response: unknown;
    try {
      response = JSON.parse(buf.toString("utf8"));
    } catch {
      response = { error: { message: "the answer could not be decoded" } };
    }
    this.#answer(held, elicitationAnswer(response));
  }

  /** Ends a wait without an answer: the timer stops, the prompt is withdrawn from the client. */
  withdraw(held: Held, why: string): void {
    if (held.settled) return;
    held.settled = true;
    const prompt = held.elicitationId;
    held.stop();
    this.#held.delete(held);
    if (prompt !== undefined) {
      const cancel = { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: prompt, reason: why } };
      this.#options.send(Buffer.from(`${JSON.stringify(cancel)}\n`));
    }
  }

  /** Withdraws every wait (the server is gone); returns what was held. */
  withdrawAll(why: string): Held[] {
    const all = [...this.#held];
    for (const held of all) this.withdraw(held, why);
    return all;
  }

  #answer(held: Held, answer: ApprovalAnswer): void {
    if (held.settled) return;
    this.withdraw(held, answer.approved ? "answered" : answer.reason);
    this.#options.answered(held, answer);
  }
}
