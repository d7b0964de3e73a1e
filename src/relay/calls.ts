// A tools/call from decoding to what happens to it: decoded (wire/tools-call.ts), judged by the
// policy, then forwarded, denied under its id, or held for a human — and, once the human has
// answered, judged again and forwarded or denied. A call under global limits is held for the
// shared store before it goes (store-waits.ts). In protocol 2026-07-28 (judged per request,
// by its _meta) a human is asked by an MRTR round instead of holding the call, and a retry that
// carries a requestState goes to retries.ts. Every call is recorded in the audit log.
import type { ApprovalAnswer } from "../approval/answer.ts";
import type { Approvals, Held, Outcome } from "../approval/coordinator.ts";
import type { SessionAllowances } from "../approval/allowances.ts";
import type { Rounds } from "../approval/rounds.ts";
import type { CallAudit } from "../audit/call-event.ts";
import { denialResult, denialText, type Verdict } from "../policy/decision.ts";
import { chargeForward, evaluate, evaluateApproved } from "../policy/evaluate.ts";
import { afterApproval, afterRefusal, outcomeOf, type Outcome as Judgement } from "../policy/verdict.ts";
import type { Id } from "../wire/message.ts";
import { errorReply, INVALID_PARAMS, resultReply } from "../wire/reply.ts";
import { PROTOCOL_VERSION_META, type RequestFrame } from "../wire/request-frame.ts";
import type { Span } from "../wire/scan.ts";
import { decodeToolCall } from "../wire/tools-call.ts";
import type { BatchReplies, ElementOutcome } from "./batch.ts";
import { takesTasks, type DeniedTasks } from "./denied-tasks.ts";
import { modernCall, type InFlight, type Pending } from "./in-flight.ts";
import { refundOf, StoreWaits } from "./store-waits.ts";
import { asLine, forwarding, type Judged } from "./judged.ts";
import type { Retries } from "./retries.ts";
import type { LivePolicy } from "./live-policy.ts";
import type { Logger } from "./log.ts";
import type { ClientSession } from "./session.ts";
import type { PinFacts } from "../pins/facts.ts";
import type { PinTracker } from "../pins/tracker.ts";

export interface CallsOptions {
  /** The policy in force and its counters, read at each use: a reload may swap them. */
  live: LivePolicy;
  /** Monotonic milliseconds; windows and durations are measured on it. */
  now(): number;
  dryRun: boolean;
  log: Logger;
  audit: CallAudit;
  session: ClientSession;
  /** Whether an approver command (--approver) is set: a channel whatever the client can do. */
  approverSet: boolean;
  inFlight: InFlight;
  approvals: Approvals;
  allowances: SessionAllowances;
  /** MRTR rounds (2026-07-28): mcpgate's approval rounds and the server's, wrapped. */
  rounds: Rounds;
  retries: Retries;
  deniedTasks: DeniedTasks;
  toServer(bytes: Buffer): void;
  /** Sends one of mcpgate's own messages to the client. */
  send(bytes: Buffer): void;
  /** A request of a batch is settled: its batch's own answers may go out. */
  settle(pending: Pending): void;
  /** The server's tool pins: what they say about a tool is an input of its call's judgement. */
  pins?: PinTracker;
}

/** What the scanner found in a message: its top-level members and how many keys it holds. */
interface Scanned {
  members: Span[];
  keys: number;
}

export class Calls {
  readonly #options: CallsOptions;
  readonly #waits: StoreWaits;

  constructor(options: CallsOptions) {
    this.#options = options;
    const { live, inFlight, now, dryRun, log, audit, toServer } = options;
    this.#waits = new StoreWaits({ live, inFlight, now, dryRun, log, audit, toServer, deny: (pending, verdict, field) => this.#deny(pending, verdict, field) });
  }

  /** A tools/call request: forwarded (and now in flight), held for a human, or answered here. */
  request(buf: Buffer, id: Id, scanned: Scanned, batch: BatchReplies | undefined): ElementOutcome {
    const { inFlight, now } = this.#options;
    const judged = this.#judge(buf, id, scanned);
    if (judged.action === "refuse") {
      inFlight.rememberDenied(id.key);
      return judged.reply;
    }
    const pending = inFlight.open(id, "tools/call", now(), batch);
    pending.tool = judged.tool;
    if (judged.modern !== undefined) pending.modern = judged.modern;
    if (judged.action === "ask" || judged.action === "count") {
      if (judged.task === true) pending.task = true;
      if (judged.action === "ask") this.#options.approvals.ask(judged.verdict, judged.args, asLine(buf), judged.field, pending);
      else this.#waits.hold(judged, judged.bytes ?? asLine(buf), pending);
      return "held";
    }
    if (judged.verdict !== undefined) {
      pending.call = { tool: judged.verdict.tool, verdict: judged.verdict, field: judged.field };
      if (judged.approval !== undefined) pending.call.approval = judged.approval;
    }
    if (judged.taken !== undefined) {
      const refund = refundOf(this.#options.live.current, judged.taken);
      if (refund !== undefined) pending.refund = refund;
    }
    return judged.bytes === undefined ? "forward" : { forward: judged.bytes };
  }

  /** A tools/call sent as a notification still runs on the server: judged, dropped if denied. */
  notification(buf: Buffer, scanned: Scanned): "forward" | undefined {
    const judged = this.#judge(buf, undefined, scanned);
    // A retry's bytes are edited; a notification continues no round and is dropped (#judge said why).
    if (judged.action === "forward" && judged.bytes !== undefined) return undefined;
    if (judged.action === "ask") this.#options.approvals.ask(judged.verdict, judged.args, asLine(buf), judged.field, undefined);
    else if (judged.action === "count") this.#waits.hold(judged, asLine(buf), undefined);
    return judged.action === "forward" ? "forward" : undefined;
  }

  /** A human (or the clock) answered: forward the held call, or deny it with the reason. */
  answered(held: Held, answer: ApprovalAnswer): void {
    const { pending, request, bytes } = held;
    const { live, now, log } = this.#options;
    // The policy in force now, which may not be the one that held the call (SPEC §11).
    const { current: policy, counters } = live;
    const at = now();
    if (!answer.approved) {
      this.#denyHeld(held, afterRefusal(held.verdict, answer.reason), answer.outcome);
      return;
    }
    // Limits are checked again and consumed now: other calls may have used them meanwhile.
    const judged = afterApproval(held.verdict, evaluateApproved(policy, { name: request.tool, args: request.args }, at, counters, this.#pinFacts(request.tool)));
    if (judged.action !== "forward") {
      this.#denyHeld(held, judged, "accepted");
      return;
    }
    const taken = chargeForward(counters, judged.charge, at, judged.shared, policy.refunds);
    // Only when the form offered it (approval.offer_session): an answer cannot add what was not asked.
    const session = answer.session === true && policy.approval.offerSession;
    if (session) this.#options.allowances.add(request.tool, bytes);
    log.warn(`a human approved ${request.tool} [${held.verdict.rule}]${session ? ", and identical calls for the rest of this session" : ""}`);
    if (pending !== undefined) pending.approval = undefined;
    const call = { tool: request.tool, verdict: judged.verdict, field: held.field, approval: "accepted" as const };
    if (judged.shared !== undefined) this.#waits.hold({ ...call, shared: judged.shared, taken: taken! }, bytes, pending);
    else this.#waits.send({ ...call, ...(taken === undefined ? {} : { taken }) }, bytes, pending);
  }

  /** Decodes and judges a tools/call; see Judged. */
  #judge(buf: Buffer, id: Id | undefined, { members, keys }: Scanned): Judged {
    const decoded = decodeToolCall(buf, members, keys);
    if (!decoded.ok) return this.#refuse(id, decoded.code, decoded.message);
    const { name, args, frame } = decoded;
    const { live, now, dryRun, log, audit, session, approverSet, allowances } = this.#options;
    const era = session.eraOf(frame);
    if ("problem" in era) {
      const message = `Invalid _meta envelope for protocol revision ${String(frame.protocolVersion)}: ${era.key}: ${era.problem}`;
      return this.#refuse(id, INVALID_PARAMS, message, { envelope: { key: era.key, problem: era.problem }, [PROTOCOL_VERSION_META]: frame.protocolVersion });
    }
    const field = audit.field(buf, args);
    // A client that asked for a task gets its denial as a task (denied-tasks.ts).
    const task = era.modern ? takesTasks(frame.capabilities) : frame.task !== undefined;
    if (frame.requestState !== undefined) return this.#retry(buf, id, name, args, frame, field, era.modern, task);
    const { current: policy, counters } = live;
    const at = now();
    const evaluation = evaluate(policy, { name, args }, at, counters, this.#pinFacts(name));
    // Canonical arguments cost a pass over the bytes: only for a call that needs a human.
    const sessionAllowed = evaluation.verdict.effect === "approve" && allowances.has(name, buf);
    // A 2026-07-28 client is asked by an MRTR round, which needs a request to answer.
    const elicit = era.elicitForm && (id !== undefined || !era.modern);
    const { action, verdict, charge: due, shared } = outcomeOf(evaluation, { sessionAllowed, channel: approverSet ? "approver" : elicit ? "elicitation" : "none", dryRun });
    switch (action) {
      case "forward": {
        // Kept to be given back if the store denies the call, or its result fails (refund: on_error).
        const taken = chargeForward(counters, due, at, shared, policy.refunds);
        if (log.verbose) log.info(`allow ${name} (${verdict.rule})`);
        return forwarding({ tool: name, verdict, field, task, ...(sessionAllowed ? { approval: "session" } : {}), ...(era.modern ? { modern: modernCall(buf, name, verdict.rule) } : {}) }, shared, taken);
      }
      case "ask":
        if (era.modern && !approverSet && id !== undefined) {
          log.warn(`asking a human about ${name} [${verdict.rule}] via the client (an input_required round)`);
          return { action: "refuse", reply: resultReply(id, this.#options.rounds.approval(verdict, args, buf, field)) };
        }
        return { action: "ask", tool: name, verdict, args, field, task, ...(era.modern ? { modern: modernCall(buf, name, verdict.rule) } : {}) };
      case "dry-run-forward": {
        const would = verdict.effect === "approve" ? "approve" : "deny";
        log.warn(would === "approve" ? `dry run: would ask a human about ${name} [${verdict.rule}]; forwarding` : `dry run: would deny ${denialText(verdict)} [${verdict.rule}]; forwarding`);
        audit.wouldHave(would, verdict, field);
        return { action: "forward", tool: name, ...(era.modern ? { modern: modernCall(buf, name, verdict.rule) } : {}) };
      }
      case "deny":
        log.warn(`${denialText(verdict)} [${verdict.rule}]`);
        audit.denied(verdict, field);
        return id === undefined ? { action: "refuse" } : { action: "refuse", reply: resultReply(id, this.#denial(verdict, era.modern, task)) };
    }
  }

  /** What the pins say about `tool`, when the policy pins (read only then). */
  #pinFacts(tool: string): PinFacts | undefined {
    return this.#options.live.current.pins === undefined ? undefined : this.#options.pins?.facts(tool);
  }

  /** A retry after an MRTR round; see retries.ts. */
  #retry(buf: Buffer, id: Id | undefined, name: string, args: Record<string, unknown>, frame: RequestFrame, field: Held["field"], modern: boolean, task: boolean): Judged {
    const { log, retries } = this.#options;
    if (id === undefined) {
      log.warn(`dropped a tools/call notification for ${name} that carries a requestState: only a request can continue a round`);
      return { action: "refuse" };
    }
    const outcome = retries.judge(buf, name, args, frame, field);
    if (outcome.action === "deny") {
      log.warn(`${denialText(outcome.verdict)} [${outcome.verdict.rule}]`);
      return { action: "refuse", reply: resultReply(id, this.#denial(outcome.verdict, modern, task)) };
    }
    const { bytes, verdict, approval, rule, digest, shared, taken } = outcome;
    return forwarding({ tool: name, bytes, verdict, field, task, ...(approval === undefined ? {} : { approval }), modern: { tool: name, digest, rule } }, shared, taken);
  }

  /** The result that denies a call: a task of ours for a call that asked for one. */
  #denial(verdict: Verdict, modern: boolean, task: boolean): object {
    return task ? this.#options.deniedTasks.created(verdict, modern) : denialResult(verdict, modern);
  }

  #refuse(id: Id | undefined, code: number, message: string, data?: unknown): Judged {
    this.#options.log.warn(`refused a tools/call: ${message}`);
    return id === undefined ? { action: "refuse" } : { action: "refuse", reply: errorReply(id, code, message, data) };
  }

  #denyHeld(held: Held, { verdict }: Judgement, outcome: Outcome): void {
    this.#deny(held.pending, verdict, held.field, { approval: outcome });
  }

  /** Denies a call the server was not sent (held for a human or the store): logged, audited, answered if it has an id. */
  #deny(pending: Pending | undefined, verdict: Verdict, field: Held["field"], extra?: { approval: Outcome }): void {
    const { log, audit, inFlight } = this.#options;
    log.warn(`${denialText(verdict)} [${verdict.rule}]`);
    audit.denied(verdict, field, extra);
    if (pending === undefined || !inFlight.isOpen(pending)) return;
    inFlight.close(pending);
    inFlight.rememberDenied(pending.id.key);
    const reply = resultReply(pending.id, this.#denial(verdict, pending.modern !== undefined, pending.task === true));
    if (pending.batch === undefined) {
      this.#options.send(reply);
      return;
    }
    pending.batch.replies.push(reply);
    this.#options.settle(pending);
  }
}
