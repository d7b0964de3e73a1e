// Routes every line between client and server. Messages are classified from their bytes;
// tools/call is parsed and judged before the server can see it; a tools/list response loses
// hidden tools; everything else is forwarded exactly as received. The router does no I/O of
// its own — its sinks and clock are injected — so it can be driven directly in tests.
import { argsField, type ArgsField } from "../audit/call-event.ts";
import type { AuditLog } from "../audit/log.ts";
import type { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { consume, decide, denialResult, denialText, type Decision } from "../policy/decide.ts";
import { contentEnd } from "../wire/framing.ts";
import { classify, classifyElement, decodeSpan, member, NULL_ID, parseId, type Id, type Message } from "../wire/message.ts";
import { batchReply, errorReply, INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, resultReply, SERVER_ERROR } from "../wire/reply.ts";
import { lineProblem } from "../wire/line-check.ts";
import { scanJson, type ScanOptions, type Span } from "../wire/scan.ts";
import { JsonStream } from "../wire/stream.ts";
import { canonicalArguments, decodeToolCall } from "../wire/tools-call.ts";
import type { ApprovalAnswer, ApprovalRequest, Approver } from "../approval/answer.ts";
import { canElicitForm, elicitationAnswer, elicitationRequest, PrivateIds } from "../approval/elicitation.ts";
import { withoutHiddenTools } from "./rewrite.ts";

export interface Logger {
  /** Whether info() prints: callers skip building messages nobody will read. */
  verbose: boolean;
  warn(message: string): void;
  info(message: string): void;
}

export interface RouterOptions {
  policy: CompiledPolicy;
  counters: Counters;
  toServer(bytes: Buffer): void;
  toClient(bytes: Buffer): void;
  audit: AuditLog;
  log: Logger;
  /** Monotonic milliseconds; windows and durations are measured on it. */
  now(): number;
  dryRun?: boolean;
  /** Requests awaiting the server's answer; past this, new ones are refused. */
  maxPending?: number;
  /** An approval channel outside the protocol (--approver); preferred over elicitation. */
  approver?: Approver;
  /** Runs `fn` after `ms`; returns a function that cancels it. Injected so tests need no clock. */
  setTimer?(ms: number, fn: () => void): () => void;
}

/** A call held until a human answers. */
interface Approval {
  request: ApprovalRequest;
  /** The decision that asked for a human (effect "approve"). */
  decision: Decision;
  /** The call's exact bytes, as one line: what the server gets if the answer is yes. */
  bytes: Buffer;
  /** Its arguments as the audit log records them, while auditing. */
  field: ArgsField | undefined;
  /** Its entry among the requests in flight; none for a call sent as a notification. */
  pending?: Pending;
  channel: "elicitation" | "approver";
  /** Our elicitation/create's id, while the client has not answered it. */
  elicitationId?: string;
  settled: boolean;
  /** Cancels the timeout and withdraws the question (ends an approver command). */
  stop(): void;
}

/** How a wait for a human ended, as the audit log records it. */
type Outcome = Extract<ApprovalAnswer, { approved: false }>["outcome"] | "accepted";

/** Our own answers to some requests of a batch, sent with the server's answers to the rest. */
interface BatchReplies {
  replies: Buffer[];
  awaiting: number;
}

/** What the scanner found in a message: its top-level members and how many keys it holds. */
interface Scanned {
  members: Span[];
  keys: number;
}

interface Pending {
  id: Id;
  method: string;
  started: number;
  /** The call forwarded under this id, as the audit log records it (the field only while auditing). */
  call?: { tool: string; decision: Decision; field: ArgsField | undefined; approval?: "accepted" | "session" };
  batch?: BatchReplies;
  /** Set while the call waits for a human; the server has not seen it. */
  approval?: Approval;
}

const DEFAULT_MAX_PENDING = 65_536;
/**
 * How deep a client message may nest. Nothing in MCP comes near it, and every structure mcpgate
 * decodes (a call's arguments: hashed, shown to a human) stays far from any stack limit.
 */
export const MAX_CLIENT_DEPTH = 128;
const CLIENT_SCAN: ScanOptions = { maxDepth: MAX_CLIENT_DEPTH };
/** Ids of calls we denied, so a later notifications/cancelled for them is not forwarded. */
const DENIED_MEMORY = 1_024;
const ISERROR = Buffer.from('"isError"');
const NEWLINE = Buffer.from("\n");
/** A server response that answers no request the server was sent: not forwarded. */
const DROP = Symbol("drop");
const ENVELOPE_KEYS = new Set(["jsonrpc", "id", "method", "params", "result", "error"]);
/** Calls a human allowed "for the rest of this session"; past this, the oldest is forgotten. */
const SESSION_ALLOWANCES = 4_096;

function defaultTimer(ms: number, fn: () => void): () => void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** A private copy of one message as a line, to forward later. */
function asLine(bytes: Buffer): Buffer {
  return bytes[bytes.length - 1] === 0x0a ? Buffer.from(bytes) : Buffer.concat([bytes, NEWLINE]);
}

function preview(bytes: Buffer, limit = 500): string {
  const text = bytes.toString("utf8", 0, Math.min(bytes.length, limit));
  return bytes.length > limit ? `${text}… (${bytes.length} bytes)` : text;
}

export class Router {
  readonly #options: RouterOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #denied = new Set<string>();
  /** Requests the server was sent and the client then cancelled, with their methods: a late answer still passes. */
  readonly #cancelledSent = new Map<string, string>();
  readonly #maxPending: number;
  #client: { name?: string; version?: string } = {};
  /** Whether the client declared it can show form-mode elicitation at initialize. */
  #elicitForm = false;
  readonly #ids = new PrivateIds();
  /** Our elicitation requests the client has not answered, by id key. */
  readonly #asking = new Map<string, Approval>();
  /** Every call waiting for a human, with or without an id. */
  readonly #held = new Set<Approval>();
  /** Tool and canonical arguments of calls a human allowed for the rest of the session. */
  readonly #sessionAllowed = new Set<string>();
  /** A large server line being forwarded as it arrives; see serverStreamStart(). */
  #stream: JsonStream | undefined;
  /** The request the streamed line answers, once its id has named one. */
  #streamFor: Pending | undefined;
  /** The streamed line was cut off: the rest of it is not forwarded. */
  #streamCut = false;
  /** Our own messages to the client, held while a streamed line is in the middle of stdout. */
  #deferred: Buffer[] = [];

  constructor(options: RouterOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends one of our own messages: never into the middle of a line being streamed. */
  #toClient(bytes: Buffer): void {
    if (this.#stream === undefined) this.#options.toClient(bytes);
    else this.#deferred.push(bytes);
  }

  /** A message of the gateway's own (not the router's) for the client, kept whole like ours. */
  sendToClient(bytes: Buffer): void {
    this.#toClient(bytes);
  }

  // ---- client → server -------------------------------------------------------------------

  fromClient(line: Buffer): void {
    try {
      this.#fromClient(line);
    } catch (error) {
      this.#clientFault(line, error);
    }
  }

  #fromClient(line: Buffer): void {
    // Spans index into the line itself; its terminator is whitespace to every JSON parser.
    const end = contentEnd(line);
    if (end === 0) {
      this.#options.toServer(line);
      return;
    }
    const scan = scanJson(line, CLIENT_SCAN, 0, end);
    if (!scan.ok) {
      const id = scan.tooDeep ? idOf(line, scan.members) : undefined;
      this.#options.log.warn(`client sent a line that is not ${scan.tooDeep ? "acceptable" : "JSON"} (${scan.error} at byte ${scan.at}); answered with an error, not forwarded: ${preview(line.subarray(0, end), 200)}`);
      this.#toClient(scan.tooDeep ? errorReply(id ?? NULL_ID, INVALID_REQUEST, `Invalid Request: ${scan.error}`) : errorReply(NULL_ID, PARSE_ERROR, `Parse error: ${scan.error} at byte ${scan.at}`));
      return;
    }
    const message = scan.type === "object" ? classify(line, scan) : undefined;
    // What the server's framing or decoder could read as other messages is refused whole.
    const problem = message?.kind === "invalid" ? undefined : lineProblem(line, end);
    if (problem !== undefined) {
      const where = problem.at === undefined ? "" : ` at byte ${problem.at}`;
      this.#options.log.warn(`refused a client line: ${problem.reason}${where}; not forwarded`);
      const id = message?.kind === "request" ? message.id : undefined;
      this.#toClient(errorReply(id ?? NULL_ID, PARSE_ERROR, `Parse error: ${problem.reason}${where}; refused so the server cannot read a message other than the one judged`));
      return;
    }
    if (message !== undefined) {
      const reply = this.#clientMessage(line, message, undefined);
      if (reply === "forward") this.#options.toServer(line);
      else if (reply !== undefined && reply !== "held") this.#toClient(reply);
      return;
    }
    if (scan.type === "array") {
      this.#clientBatch(line, line, scan.members);
      return;
    }
    this.#toClient(errorReply(NULL_ID, INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object or batch"));
  }

  /**
   * Handling one client line threw: a fault of that message, not of the session. Whatever was not
   * yet forwarded is not forwarded now; a request the server never got is answered with an error.
   */
  #clientFault(line: Buffer, error: unknown): void {
    this.#options.log.warn(`internal error while handling a client message (${(error as Error)?.message ?? String(error)}); ${preview(line, 200)}`);
    let id: Id | undefined;
    try {
      const scan = scanJson(line, CLIENT_SCAN, 0, contentEnd(line));
      id = scan.ok && scan.type === "object" ? idOf(line, scan.members) : undefined;
    } catch {
      id = undefined;
    }
    if (id === undefined) return;
    const pending = this.#pending.get(id.key);
    // In flight and not held: it was forwarded, and the server's answer is on its way.
    if (pending !== undefined && pending.approval === undefined) return;
    if (pending !== undefined) {
      this.#pending.delete(id.key);
      this.#withdraw(pending.approval!, "mcpgate failed while handling the call");
    }
    this.#toClient(errorReply(id, INTERNAL_ERROR, "mcpgate: internal error while handling this request; it was not forwarded"));
  }

  /**
   * Handles one message (alone or in a batch): "forward", our own reply, "held" (a request
   * waiting for a human, answered later) or undefined (dropped).
   */
  #clientMessage(buf: Buffer, message: Message, batch: BatchReplies | undefined): "forward" | "held" | Buffer | undefined {
    switch (message.kind) {
      case "invalid":
        return errorReply(message.id ?? NULL_ID, INVALID_REQUEST, `Invalid Request: ${message.reason}`);
      case "response":
        // The answer to one of our approval prompts is ours; the server never asked.
        if (this.#ids.owns(message.id.key)) {
          this.#elicitationAnswered(buf, message.id.key);
          return undefined;
        }
        return "forward";
      case "notification":
        return this.#clientNotification(buf, message);
      case "request": {
        const { id, method } = message;
        if (this.#pending.has(id.key)) {
          return errorReply(id, INVALID_REQUEST, `Invalid Request: id ${id.raw} is already in use by a request in flight`);
        }
        if (this.#pending.size >= this.#maxPending) {
          return errorReply(id, SERVER_ERROR, `mcpgate: too many requests in flight (${this.#maxPending})`);
        }
        if (method === "tools/call") return this.#toolCall(buf, id, message, batch);
        if (method === "initialize") this.#noteClient(buf, message.members);
        const pending: Pending = { id, method, started: this.#options.now() };
        if (batch !== undefined) pending.batch = batch;
        this.#pending.set(id.key, pending);
        return "forward";
      }
    }
  }

  #clientNotification(buf: Buffer, message: { method: string; members: Span[]; keys: number }): "forward" | undefined {
    const { method, members } = message;
    if (method === "tools/call") {
      // A call sent as a notification still runs on the server: judge it, drop it if denied.
      const judged = this.#judge(buf, undefined, message);
      if (judged.approval !== undefined) {
        this.#ask(judged.approval, judged.args!, asLine(buf), undefined);
        return undefined;
      }
      return judged.decision?.effect === "allow" || judged.forward ? "forward" : undefined;
    }
    if (method === "notifications/cancelled") {
      const requestId = this.#cancelledId(buf, members);
      // The server never saw a call we denied or still hold: the cancellation is ours alone.
      if (requestId !== undefined && this.#denied.has(requestId)) return undefined;
      if (requestId !== undefined && this.#cancelled(requestId)) return undefined;
    }
    return "forward";
  }

  #cancelledId(buf: Buffer, members: Span[]): string | undefined {
    const span = member(members, "params");
    if (span === undefined) return undefined;
    try {
      const requestId = (decodeSpan(buf, span) as { requestId?: unknown } | null)?.requestId;
      if (typeof requestId === "string") return `s${requestId}`;
      if (typeof requestId === "number") return `n${requestId}`;
    } catch {
      // Not ours to judge: the server will see the same bytes and make of them what it can.
    }
    return undefined;
  }

  /**
   * The client gave up on a request: the server should not answer it, so stop waiting.
   * Returns true when the request was still held for approval, so the server never saw it.
   */
  #cancelled(key: string): boolean {
    const pending = this.#pending.get(key);
    if (pending === undefined) return false;
    this.#pending.delete(key);
    const approval = pending.approval;
    if (approval !== undefined) {
      // Withdrawn: whatever the human answers now has no effect, and nobody expects a reply.
      this.#withdraw(approval, "the client cancelled the call");
      this.#auditDenied(approval.decision, approval.field, { approval: "withdrawn" });
      this.#rememberDenied(key);
    } else {
      if (pending.call !== undefined) this.#auditCall(pending, { cancelled: true });
      // The server was sent it and may answer still; that answer passes, and the client ignores it.
      this.#cancelledSent.set(key, pending.method);
      if (this.#cancelledSent.size > DENIED_MEMORY) this.#cancelledSent.delete(this.#cancelledSent.keys().next().value as string);
    }
    this.#settleBatch(pending, undefined);
    return approval !== undefined;
  }

  /**
   * One request of a batch is settled. When none is left waiting, the gateway's own answers to
   * that batch go out: into `collector` (the server's batch response being assembled), or alone.
   */
  #settleBatch(pending: Pending, collector: Buffer[] | undefined): void {
    const batch = pending.batch;
    if (batch === undefined || --batch.awaiting > 0) return;
    if (collector === undefined) {
      this.#flushBatch(batch);
    } else {
      collector.push(...batch.replies);
      batch.replies = [];
    }
  }

  #noteClient(buf: Buffer, members: Span[]): void {
    const span = member(members, "params");
    if (span === undefined) return;
    try {
      const params = decodeSpan(buf, span) as { clientInfo?: { name?: unknown; version?: unknown }; capabilities?: unknown } | null;
      this.#elicitForm = canElicitForm(params?.capabilities);
      const info = params?.clientInfo;
      this.#client = {
        ...(typeof info?.name === "string" ? { name: info.name } : {}),
        ...(typeof info?.version === "string" ? { version: info.version } : {}),
      };
    } catch {
      // The server will answer a malformed initialize itself.
    }
  }

  #toolCall(buf: Buffer, id: Id, scanned: Scanned, batch: BatchReplies | undefined): "forward" | "held" | Buffer {
    const judged = this.#judge(buf, id, scanned);
    if (judged.reply !== undefined) {
      this.#rememberDenied(id.key);
      return judged.reply;
    }
    const pending: Pending = { id, method: "tools/call", started: this.#options.now() };
    if (batch !== undefined) pending.batch = batch;
    this.#pending.set(id.key, pending);
    if (judged.approval !== undefined) {
      this.#ask(judged.approval, judged.args!, asLine(buf), pending);
      return "held";
    }
    if (judged.decision !== undefined) {
      pending.call = { tool: judged.decision.tool, decision: judged.decision, field: judged.field };
      if (judged.session) pending.call.approval = "session";
    }
    return "forward";
  }

  /**
   * Parses and judges a tools/call. Returns the reply to send instead of forwarding (a denial
   * or a protocol error), or the decision to forward under.
   */
  #judge(buf: Buffer, id: Id | undefined, { members, keys }: Scanned): { reply?: Buffer; decision?: Decision; args?: Record<string, unknown>; field?: ArgsField; forward?: boolean; approval?: Decision; session?: boolean } {
    const decoded = decodeToolCall(buf, members, keys);
    if (!decoded.ok) return this.#refuse(id, decoded.code, decoded.message);
    const { name, args: callArgs } = decoded;
    const field = this.#auditing ? argsField(buf, callArgs, this.#options.policy.includeArgs) : undefined;
    const { policy, counters, now, dryRun, log } = this.#options;
    const at = now();
    let decision = decide(policy, counters, { name, args: callArgs }, at);
    let session = false;
    if (decision.effect === "approve") {
      if (this.#sessionAllowed.size > 0 && this.#sessionAllowed.has(allowanceKey(name, canonicalArguments(buf)))) {
        decision = { ...decision, effect: "allow", reason: `allowed by a human for the rest of this session (${decision.rule})` };
        session = true;
      } else if (this.#options.approver === undefined && !this.#elicitForm) {
        decision = {
          ...decision,
          effect: "deny",
          counters: [],
          reason: `${decision.reason}: a human's approval is required, and no approval channel exists (the client does not support elicitation and no --approver is set)`,
        };
      } else if (dryRun) {
        log.warn(`dry run: would ask a human about ${name} [${decision.rule}]; forwarding`);
        if (this.#auditing) this.#audit(() => ({ event: "call", tool: name, decision: "approve", dry_run: true, rule: decision.rule, reason: decision.reason, ...field }));
        return { forward: true, args: callArgs };
      } else {
        return { approval: decision, args: callArgs };
      }
    }

    if (decision.effect === "allow") {
      consume(decision, counters, at);
      if (log.verbose) log.info(`allow ${name} (${decision.rule})`);
      return field === undefined ? { decision, args: callArgs, session } : { decision, args: callArgs, field, session };
    }
    if (dryRun) {
      log.warn(`dry run: would deny ${denialText(decision)} [${decision.rule}]; forwarding`);
      if (this.#auditing) this.#audit(() => ({ event: "call", tool: name, decision: "deny", dry_run: true, rule: decision.rule, reason: decision.reason, ...field }));
      return { forward: true, args: callArgs };
    }
    log.warn(`${denialText(decision)} [${decision.rule}]`);
    this.#auditDenied(decision, field, {});
    return id === undefined ? { decision } : { decision, reply: resultReply(id, denialResult(decision)) };
  }

  #refuse(id: Id | undefined, code: number, message: string): { reply?: Buffer } {
    this.#options.log.warn(`refused a tools/call: ${message}`);
    return id === undefined ? {} : { reply: errorReply(id, code, message) };
  }

  // ---- approval --------------------------------------------------------------------------

  /** Holds a call and asks a human about it: the approver command if set, else the client. */
  #ask(decision: Decision, args: Record<string, unknown>, bytes: Buffer, pending: Pending | undefined): void {
    const { approver, policy, log } = this.#options;
    const { timeoutMs, offerSession } = policy.approval;
    const request: ApprovalRequest = { tool: decision.tool, args, reason: decision.reason, rule: decision.rule };
    const controller = new AbortController();
    const field = this.#auditing ? argsField(bytes, args, policy.includeArgs) : undefined;
    const approval: Approval = { request, decision, bytes, field, channel: approver === undefined ? "elicitation" : "approver", settled: false, stop: () => {} };
    if (pending !== undefined) {
      approval.pending = pending;
      pending.approval = approval;
    }
    this.#held.add(approval);
    const cancelTimer = (this.#options.setTimer ?? defaultTimer)(timeoutMs, () =>
      this.#answered(approval, { approved: false, outcome: "timeout", reason: `nobody answered within ${formatSeconds(timeoutMs)}` }),
    );
    approval.stop = () => {
      cancelTimer();
      controller.abort();
      if (approval.elicitationId !== undefined) this.#asking.delete(`s${approval.elicitationId}`);
    };
    log.warn(`asking a human about ${decision.tool} [${decision.rule}] via ${approval.channel === "approver" ? "the approver command" : "the client (elicitation)"}`);
    if (approver !== undefined) {
      approver(request, controller.signal).then(
        (answer) => this.#answered(approval, answer),
        (error: unknown) => this.#answered(approval, { approved: false, outcome: "error", reason: `the approver failed (${(error as Error).message})` }),
      );
      return;
    }
    const id = this.#ids.next();
    approval.elicitationId = id;
    this.#asking.set(`s${id}`, approval);
    this.#toClient(elicitationRequest(id, request, timeoutMs, offerSession));
  }

  /** The client answered one of our elicitation/create requests (perhaps too late). */
  #elicitationAnswered(buf: Buffer, key: string): void {
    const approval = this.#asking.get(key);
    if (approval === undefined) {
      this.#options.log.info("a late answer to an approval prompt arrived; ignored");
      return;
    }
    this.#asking.delete(key);
    approval.elicitationId = undefined;
    let response: unknown;
    try {
      response = JSON.parse(buf.toString("utf8"));
    } catch {
      response = { error: { message: "the answer could not be decoded" } };
    }
    this.#answered(approval, elicitationAnswer(response));
  }

  /** Ends a wait without an answer: the timer stops, the prompt is withdrawn from the client. */
  #withdraw(approval: Approval, why: string): void {
    if (approval.settled) return;
    approval.settled = true;
    const prompt = approval.elicitationId;
    approval.stop();
    this.#held.delete(approval);
    if (prompt !== undefined) {
      const cancel = { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: prompt, reason: why } };
      this.#toClient(Buffer.from(`${JSON.stringify(cancel)}\n`));
    }
  }

  /** A human (or the clock) answered: forward the held call, or deny it with the reason. */
  #answered(approval: Approval, answer: ApprovalAnswer): void {
    if (approval.settled) return;
    this.#withdraw(approval, answer.approved ? "answered" : answer.reason);
    const { pending, request, bytes } = approval;
    const { policy, counters, now, log } = this.#options;
    const at = now();
    if (answer.approved) {
      // Limits are checked again and consumed now: other calls may have used them meanwhile.
      const decision = decide(policy, counters, { name: request.tool, args: request.args }, at, undefined, true);
      if (decision.effect !== "allow") {
        this.#denyHeld(approval, decision, "accepted");
        return;
      }
      consume(decision, counters, at);
      if (answer.session === true) this.#allowForSession(request.tool, bytes);
      const approved: Decision = { ...decision, rule: approval.decision.rule, reason: `approved by a human (${approval.decision.reason})` };
      log.warn(`a human approved ${request.tool} [${approval.decision.rule}]${answer.session === true ? ", and identical calls for the rest of this session" : ""}`);
      if (pending !== undefined) {
        pending.approval = undefined;
        pending.started = at;
        pending.call = { tool: request.tool, decision: approved, field: approval.field, approval: "accepted" };
      }
      this.#options.toServer(bytes);
      return;
    }
    const decision: Decision = { ...approval.decision, effect: "deny", counters: [], reason: `${approval.decision.reason}; ${answer.reason}` };
    delete decision.amounts;
    this.#denyHeld(approval, decision, answer.outcome);
  }

  #denyHeld(approval: Approval, decision: Decision, outcome: Outcome): void {
    this.#options.log.warn(`${denialText(decision)} [${decision.rule}]`);
    this.#auditDenied(decision, approval.field, { approval: outcome });
    const pending = approval.pending;
    if (pending === undefined || this.#pending.get(pending.id.key) !== pending) return;
    this.#pending.delete(pending.id.key);
    this.#rememberDenied(pending.id.key);
    const reply = resultReply(pending.id, denialResult(decision));
    if (pending.batch === undefined) {
      this.#toClient(reply);
      return;
    }
    pending.batch.replies.push(reply);
    this.#settleBatch(pending, undefined);
  }

  /** Identical calls (same tool, arguments identical to any server) need no human from now on. */
  #allowForSession(tool: string, line: Buffer): void {
    this.#sessionAllowed.add(allowanceKey(tool, canonicalArguments(line)));
    if (this.#sessionAllowed.size > SESSION_ALLOWANCES) {
      this.#sessionAllowed.delete(this.#sessionAllowed.values().next().value as string);
    }
  }

  /** How many calls wait for a human. */
  get heldCount(): number {
    return this.#held.size;
  }

  #rememberDenied(key: string): void {
    this.#denied.add(key);
    if (this.#denied.size > DENIED_MEMORY) {
      const oldest = this.#denied.values().next().value as string;
      this.#denied.delete(oldest);
    }
  }

  #clientBatch(line: Buffer, buf: Buffer, elements: Span[]): void {
    if (elements.length === 0) {
      this.#toClient(errorReply(NULL_ID, INVALID_REQUEST, "Invalid Request: empty batch"));
      return;
    }
    const batch: BatchReplies = { replies: [], awaiting: 0 };
    const kept: Span[] = [];
    for (const span of elements) {
      const element = buf.subarray(span.start, span.end);
      const message = classifyElement(element);
      let outcome: "forward" | "held" | Buffer | undefined;
      try {
        outcome = this.#clientMessage(element, message, batch);
      } catch (error) {
        outcome = this.#elementFault(message, error);
      }
      if (outcome === "forward") {
        kept.push(span);
        if (message.kind === "request") batch.awaiting++;
      } else if (outcome === "held") {
        // Answered later: by our denial, or by the server once a human approves.
        batch.awaiting++;
      } else if (outcome !== undefined) {
        batch.replies.push(outcome);
      }
    }
    if (kept.length === elements.length) {
      this.#options.toServer(line);
    } else if (kept.length > 0) {
      const parts = kept.map((span) => buf.toString("utf8", span.start, span.end));
      this.#options.toServer(Buffer.from(`[${parts.join(",")}]\n`));
    }
    if (batch.awaiting === 0) this.#flushBatch(batch);
  }

  /** Handling one element of a batch threw: that element is answered with an error, never forwarded. */
  #elementFault(message: Message, error: unknown): Buffer | undefined {
    this.#options.log.warn(`internal error while handling an element of a client batch (${(error as Error)?.message ?? String(error)}); not forwarded`);
    if (message.kind !== "request") return undefined;
    const pending = this.#pending.get(message.id.key);
    if (pending !== undefined) {
      this.#pending.delete(message.id.key);
      if (pending.approval !== undefined) this.#withdraw(pending.approval, "mcpgate failed while handling the call");
    }
    return errorReply(message.id, INTERNAL_ERROR, "mcpgate: internal error while handling this request; it was not forwarded");
  }

  #flushBatch(batch: BatchReplies): void {
    if (batch.replies.length === 0) return;
    this.#toClient(batchReply(batch.replies));
    batch.replies = [];
  }

  // ---- server → client -------------------------------------------------------------------

  fromServer(line: Buffer): void {
    try {
      this.#fromServer(line);
    } catch (error) {
      this.#serverFault(line, error);
    }
  }

  #fromServer(line: Buffer): void {
    const end = contentEnd(line);
    if (end === 0) {
      this.#toClient(line);
      return;
    }
    const scan = scanJson(line, {}, 0, end);
    if (!scan.ok || scan.type === "scalar") {
      this.#pollution(line.subarray(0, end));
      return;
    }
    if (scan.type === "array") {
      this.#serverBatch(line, scan.members);
      return;
    }
    const message = classify(line, scan);
    if (message.kind === "invalid") {
      this.#pollution(line.subarray(0, end));
      return;
    }
    if (message.kind !== "response") {
      this.#toClient(line);
      return;
    }
    const answer = this.#serverResponse(line, message);
    if (answer !== DROP) this.#toClient(answer === undefined ? line : Buffer.from(`${answer}\n`));
  }

  /**
   * Handling one server line threw. It is not forwarded (it may be a list that was to be
   * filtered); the request it answers, if one can be told, gets an error instead.
   */
  #serverFault(line: Buffer, error: unknown): void {
    this.#options.log.warn(`internal error while handling a server message (${(error as Error)?.message ?? String(error)}); not forwarded: ${preview(line, 200)}`);
    let pending: Pending | undefined;
    try {
      const scan = scanJson(line, {}, 0, contentEnd(line));
      const message = scan.ok && scan.type === "object" ? classify(line, scan) : undefined;
      pending = message?.kind === "response" ? this.#pending.get(message.id.key) : undefined;
    } catch {
      pending = undefined;
    }
    if (pending === undefined || pending.approval !== undefined) return;
    this.#failPending(pending, INTERNAL_ERROR, "mcpgate: internal error while handling the server's answer; it was not forwarded");
  }

  /** Answers a forwarded request with an error of ours: the server's answer will not reach the client. */
  #failPending(pending: Pending, code: number, message: string, send = (bytes: Buffer): void => this.#toClient(bytes)): void {
    this.#pending.delete(pending.id.key);
    send(errorReply(pending.id, code, message));
    if (pending.call !== undefined) this.#auditCall(pending, { is_error: true, error: message });
    this.#settleBatch(pending, undefined);
  }

  // ---- large server lines, streamed -----------------------------------------------------

  /**
   * A server line has passed the streaming threshold. It is forwarded as it arrives, not held
   * whole, if what came so far is well-formed JSON whose first key is a JSON-RPC one, and it
   * cannot be a tools/list result that needs hidden tools removed. Returns whether it streams.
   */
  serverStreamStart(head: Buffer[]): boolean {
    const stream = new JsonStream();
    for (const bytes of head) if (!stream.push(bytes)) return false;
    if (!stream.topIsObject || !ENVELOPE_KEYS.has(stream.keys[0] ?? "")) return false;
    if (this.#options.policy.hides) {
      for (const pending of this.#pending.values()) if (pending.method === "tools/list" && pending.approval === undefined) return false;
    }
    // An answer to an id the server was never sent is not streamed at all.
    this.#streamFor = undefined;
    if (this.#streamAnswers(stream) === false) return false;
    this.#stream = stream;
    for (const bytes of head) this.#options.toClient(bytes);
    return true;
  }

  serverStreamMore(bytes: Buffer): void {
    const stream = this.#stream!;
    if (stream.failed || this.#streamCut) return;
    if (!stream.push(bytes)) {
      this.#brokenStream(stream);
      return;
    }
    if (this.#streamAnswers(stream) === false) {
      this.#cutStream();
      return;
    }
    this.#options.toClient(bytes);
  }

  /** The streamed line ended (`tail` holds its last bytes and newline) or the input did. */
  serverStreamDone(tail: Buffer | undefined): void {
    const stream = this.#stream!;
    if (!stream.failed && !this.#streamCut) {
      if (tail !== undefined && stream.push(tail) && stream.end()) {
        if (this.#streamAnswers(stream) === false) {
          this.#cutStream();
        } else {
          this.#options.toClient(tail);
          this.#streamed(stream);
        }
      } else {
        if (tail === undefined) stream.end();
        this.#brokenStream(stream);
      }
    }
    this.#stream = undefined;
    this.#streamFor = undefined;
    this.#streamCut = false;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const bytes of deferred) this.#options.toClient(bytes);
  }

  /**
   * Whether the streamed line, as far as it has come, is a response to a request the server was
   * sent: true once its id names one (remembered in #streamFor), false when it names none (or it
   * ended without a usable id), undefined while that cannot be told yet (or it is no response).
   * Checked before each chunk is sent, so a line found to answer nothing never arrives whole.
   */
  #streamAnswers(stream: JsonStream): boolean | undefined {
    if (this.#streamFor !== undefined) return true;
    const { keys } = stream;
    if (keys.includes("method")) return undefined;
    const raw = stream.values.get("id");
    if (raw === undefined || !(keys.includes("result") || keys.includes("error"))) {
      if (!stream.done) return undefined;
      this.#options.log.warn("server sent a large JSON line that is not a JSON-RPC message (or whose id is too long); it was cut off");
      return false;
    }
    const id = parseId(raw);
    const pending = id === undefined ? undefined : this.#pending.get(id.key);
    if (pending === undefined || pending.approval !== undefined) {
      this.#options.log.warn(`server answered id ${raw.slice(0, 100)}, which it was not sent or which was answered already; dropped`);
      return false;
    }
    this.#streamFor = pending;
    return true;
  }

  /** Ends a line partly sent so that the client discards it: a newline inside an open object. */
  #cutStream(): void {
    this.#streamCut = true;
    this.#options.toClient(NEWLINE);
  }

  /**
   * The streamed line proved not to be JSON after part of it was sent. It is cut off where it
   * stands and ended, so the client discards one malformed line and the stream stays framed;
   * the request it answered (when its id came before the fault) gets an error at once.
   */
  #brokenStream(stream: JsonStream): void {
    this.#options.log.warn(`server sent a large line that turned out not to be JSON (${stream.error} at byte ${stream.at}) after its start was forwarded; the line was cut off there`);
    this.#options.toClient(NEWLINE);
    const pending = this.#streamFor;
    if (pending !== undefined && this.#pending.get(pending.id.key) === pending) {
      // The line is ended, so this answer may go out now rather than after the server's newline.
      this.#failPending(pending, SERVER_ERROR, `mcpgate: the server's answer was malformed (${stream.error} at byte ${stream.at}) and was cut off`, this.#options.toClient);
    }
  }

  /** Settles the request a streamed response answers, as #serverResponse does for held lines. */
  #streamed(stream: JsonStream): void {
    const pending = this.#streamFor;
    if (pending === undefined || this.#pending.get(pending.id.key) !== pending) return;
    this.#pending.delete(pending.id.key);
    if (pending.call !== undefined && this.#auditing) this.#auditCall(pending, { is_error: !stream.keys.includes("result") || stream.resultIsError });
    this.#settleBatch(pending, undefined);
  }

  #pollution(content: Buffer): void {
    this.#options.log.warn(`server stdout (not JSON-RPC, not forwarded): ${preview(content)}`);
  }

  /**
   * Settles the request this answers. Returns replacement text if the response was rewritten,
   * or DROP when it answers no request the server was sent: a call mcpgate denied, one still
   * held for a human, or one answered already.
   */
  #serverResponse(buf: Buffer, { id, isError, members }: { id: Id; isError: boolean; members: Span[] }, batchOwn?: Buffer[]): string | undefined | typeof DROP {
    const pending = this.#pending.get(id.key);
    if (pending === undefined || pending.approval !== undefined) {
      const cancelled = pending === undefined ? this.#cancelledSent.get(id.key) : undefined;
      if (cancelled === undefined) {
        this.#options.log.warn(`server answered id ${id.raw.slice(0, 100)}, which it was not sent or which was answered already; dropped`);
        return DROP;
      }
      this.#cancelledSent.delete(id.key);
      return isError ? undefined : this.#filterTools(buf, id, members, cancelled);
    }
    this.#pending.delete(id.key);
    const rewritten = isError ? undefined : this.#filterTools(buf, id, members, pending.method);
    if (pending.call !== undefined && this.#auditing) {
      this.#auditCall(pending, { is_error: isError || this.#resultIsError(buf, members) });
    }
    this.#settleBatch(pending, batchOwn);
    return rewritten;
  }

  /**
   * A result without hidden tools: for a tools/list, and for any answer a client could take for
   * a pending tools/list's — one whose id is that list's retyped (the SDK matches "1" to 1).
   * Returns replacement text, or undefined when nothing changes.
   */
  #filterTools(buf: Buffer, id: Id, members: Span[], method: string): string | undefined {
    const { policy } = this.#options;
    if (!policy.hides || (method !== "tools/list" && !this.#listPendingUnder(id))) return undefined;
    try {
      return withoutHiddenTools(buf, members, policy.hiddenBy);
    } catch {
      this.#options.log.warn("server's tools/list result could not be decoded; answered with an error so no hidden tool leaks");
      return errorReply(id, INTERNAL_ERROR, "mcpgate: the server's tools/list result could not be decoded").toString("utf8").trimEnd();
    }
  }

  /** Whether a tools/list in flight has an id a client would take `id` for, once numbers and strings are confused. */
  #listPendingUnder(id: Id): boolean {
    const loose = looseKey(id);
    for (const pending of this.#pending.values()) if (pending.method === "tools/list" && looseKey(pending.id) === loose) return true;
    return false;
  }

  #resultIsError(buf: Buffer, members: Span[]): boolean {
    const span = member(members, "result");
    // Most results never mention isError; only those that do are scanned for it.
    if (span === undefined || buf.indexOf(ISERROR, span.start) === -1) return false;
    const result = scanJson(buf, {}, span.start, span.end);
    if (!result.ok || result.type !== "object") return false;
    const flag = member(result.members, "isError");
    return flag !== undefined && buf.toString("utf8", flag.start, flag.end) === "true";
  }

  #serverBatch(line: Buffer, elements: Span[]): void {
    const own: Buffer[] = [];
    const parts: string[] = [];
    let changed = false;
    for (const span of elements) {
      const element = line.subarray(span.start, span.end);
      const message = classifyElement(element);
      const text = message.kind === "response" ? this.#serverResponse(element, message, own) : undefined;
      if (text === DROP) {
        changed = true;
        continue;
      }
      if (text !== undefined) changed = true;
      parts.push(text ?? element.toString("utf8"));
    }
    if (!changed && own.length === 0) {
      this.#toClient(line);
      return;
    }
    for (const reply of own) parts.push(reply.toString("utf8").trimEnd());
    if (parts.length > 0) this.#toClient(Buffer.from(`[${parts.join(",")}]\n`));
  }

  // ---- endings ---------------------------------------------------------------------------

  /** The server is gone: every request still waiting gets an error naming why. */
  serverExited(description: string): void {
    for (const approval of this.#held) {
      this.#withdraw(approval, `the MCP server ${description}`);
      this.#auditDenied(approval.decision, approval.field, { approval: "withdrawn", error: `server ${description}` });
    }
    for (const pending of this.#pending.values()) {
      this.#toClient(errorReply(pending.id, SERVER_ERROR, `mcpgate: the MCP server ${description} before answering ${pending.method}`));
      if (pending.call !== undefined) this.#auditCall(pending, { is_error: true, error: `server ${description}` });
      this.#settleBatch(pending, undefined);
    }
    this.#pending.clear();
  }

  // ---- audit -----------------------------------------------------------------------------

  get #auditing(): boolean {
    return this.#options.audit.enabled;
  }

  /** Records a call event built by `build`: a failure costs the record (and a warning), never the message. */
  #audit(build: () => Record<string, unknown> & { event: "call" }): void {
    if (!this.#auditing) return;
    try {
      const client = this.#client.name === undefined ? {} : { client: this.#client };
      this.#options.audit.write({ ...build(), ...client });
    } catch (error) {
      this.#options.log.warn(`could not write an audit record (${(error as Error)?.message ?? String(error)})`);
    }
  }

  #auditDenied(decision: Decision, field: ArgsField | undefined, extra: Record<string, unknown>): void {
    if (!this.#auditing) return;
    this.#audit(() => ({
      event: "call",
      tool: decision.tool,
      decision: "deny",
      rule: decision.rule,
      reason: decision.reason,
      ...(decision.retryAfterMs === undefined ? {} : { retry_after_ms: decision.retryAfterMs }),
      ...extra,
      ...field,
    }));
  }

  #auditCall(pending: Pending, outcome: Record<string, unknown>): void {
    if (!this.#auditing) return;
    const { tool, decision, field, approval } = pending.call!;
    this.#audit(() => ({
      event: "call",
      tool,
      decision: "allow",
      rule: decision.rule,
      reason: decision.reason,
      ...(approval === undefined ? {} : { approval }),
      ...field,
      duration_ms: Math.round((this.#options.now() - pending.started) * 1000) / 1000,
      ...outcome,
    }));
  }
}

/** The id among a message's top-level members, if it has a valid one. */
function idOf(buf: Buffer, members: Span[]): Id | undefined {
  const span = member(members, "id");
  return span === undefined ? undefined : parseId(buf.toString("utf8", span.start, span.end));
}

/** An id's key once a string that reads as a number is taken as that number, as JavaScript clients do. */
function looseKey(id: Id): string {
  if (!id.key.startsWith("s")) return id.key;
  const number = Number(id.key.slice(1));
  return Number.isFinite(number) ? `n${number}` : id.key;
}

function allowanceKey(tool: string, canonicalArgs: string): string {
  return `${tool}\u0000${canonicalArgs}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
