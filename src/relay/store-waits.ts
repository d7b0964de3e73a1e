// Calls that wait for the shared store (SPEC §14): judged and allowed in every other way, their
// session counters already charged, held (like a call waiting for a human) until the store has
// judged their global limits — then sent to the server, or denied with what was charged given
// back. A call whose client cancelled it, or whose server went, meanwhile is not sent, and what
// it was counted is given back in both places. A call sent is given what to refund if its
// result fails (refund: on_error).
import type { ArgsField, CallAudit } from "../audit/call-event.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { denialText, type SharedCharge, type Verdict } from "../policy/decision.ts";
import { giveBack, type Taken } from "../policy/evaluate.ts";
import type { Receipt } from "../store/call.ts";
import type { InFlight, Pending, Refund } from "./in-flight.ts";
import type { LivePolicy } from "./live-policy.ts";
import type { Logger } from "./log.ts";
import { countShared, type SharedAnswer } from "./shared-counts.ts";

/** A call allowed and charged, on its way to the server. */
export interface Sending {
  tool: string;
  verdict: Verdict;
  field: ArgsField | undefined;
  /** What the call was charged in this gateway, if it may be given back (undefined: nothing to). */
  taken?: readonly Taken[];
  /** How a human allowed it, for the audit record. */
  approval?: "accepted" | "session";
}

/** A call the store must pass before it is sent; `taken` is given back if it does not. */
export interface StoreWait extends Sending {
  shared: SharedCharge;
  taken: readonly Taken[];
}

export interface StoreWaitsOptions {
  live: LivePolicy;
  inFlight: InFlight;
  now(): number;
  dryRun: boolean;
  log: Logger;
  audit: CallAudit;
  toServer(bytes: Buffer): void;
  /** Denies a call the server was not sent: logged, audited, answered under its id (if it has one). */
  deny(pending: Pending | undefined, verdict: Verdict, field: ArgsField | undefined): void;
}

/** What a sent call gives back if its result fails: its counters with refund: on_error, here and in the store. */
export function refundOf(policy: CompiledPolicy, taken: readonly Taken[], receipt?: Receipt): Refund | undefined {
  const session = taken.filter((item) => item.refundable);
  const entries = receipt?.entries.filter((entry) => policy.counters.get(entry.counter)?.refund === true) ?? [];
  if (session.length === 0 && entries.length === 0) return undefined;
  const refund: Refund = {};
  if (session.length > 0) refund.session = session;
  if (entries.length > 0) refund.store = { id: receipt!.id, entries };
  return refund;
}

export class StoreWaits {
  readonly #options: StoreWaitsOptions;

  constructor(options: StoreWaitsOptions) {
    this.#options = options;
  }

  /** Holds `bytes` (the call's line) until the store has judged it; `pending` is its request, if it has an id. */
  hold(wait: StoreWait, bytes: Buffer, pending: Pending | undefined): void {
    const policy = this.#options.live.current;
    if (pending !== undefined) pending.counting = { verdict: wait.verdict, field: wait.field };
    void countShared(this.#options.live.store, policy, wait.shared, wait.verdict).then((answer) => {
      try {
        this.#answered(wait, bytes, pending, answer);
      } catch (error) {
        // A fault here costs this call, never the session: it is not sent.
        this.#options.log.warn(`${wait.tool}: the store's answer could not be handled (${(error as Error).message}); the call was not sent`);
        giveBack(wait.taken);
      }
    });
  }

  #answered(wait: StoreWait, bytes: Buffer, pending: Pending | undefined, answer: SharedAnswer): void {
    const { inFlight, log, audit, live } = this.#options;
    if (pending !== undefined) {
      pending.counting = undefined;
      if (!inFlight.isOpen(pending)) {
        // Cancelled, or the server is gone: never sent, so nothing stays counted.
        giveBack(wait.taken);
        const receipt = answer.action === "forward" ? answer.receipt : undefined;
        const refunded = receipt === undefined || live.store === undefined ? Promise.resolve(undefined) : live.store.refund(receipt);
        void refunded.then((result) => {
          const stored = result === undefined ? "" : result.outcome === "refunded" ? " and in the store" : ` (the store's refund ${result.queued ? "is queued" : "failed"}: ${result.failure.message})`;
          if (log.verbose) log.info(`${wait.tool}: not sent (cancelled, or the server is gone); what it was counted is given back here${stored}`);
        });
        return;
      }
    }
    if (answer.action === "deny") {
      giveBack(wait.taken);
      if (!this.#options.dryRun) {
        this.#options.deny(pending, answer.verdict, wait.field);
        return;
      }
      log.warn(`dry run: would deny ${denialText(answer.verdict)} [${answer.verdict.rule}]; forwarding`);
      audit.wouldHave("deny", answer.verdict, wait.field);
      this.#options.toServer(bytes);
      return;
    }
    let verdict = wait.verdict;
    if (answer.warning !== undefined) {
      log.warn(`${wait.tool}: ${answer.warning}`);
      verdict = { ...verdict, reason: `${verdict.reason}; ${answer.warning}` };
    }
    this.send({ ...wait, verdict }, bytes, pending, answer.receipt);
  }

  /** Sends a call the server may now run: in flight from now, recorded when its answer comes, refundable if its counters say so. */
  send(call: Sending, bytes: Buffer, pending: Pending | undefined, receipt?: Receipt): void {
    if (pending !== undefined) {
      pending.started = this.#options.now();
      pending.call = { tool: call.tool, verdict: call.verdict, field: call.field, ...(call.approval === undefined ? {} : { approval: call.approval }) };
      const refund = refundOf(this.#options.live.current, call.taken ?? [], receipt);
      if (refund !== undefined) pending.refund = refund;
    }
    this.#options.toServer(bytes);
  }
}
