// Routes every line between client and server. Messages are classified from their bytes;
// tools/call is parsed and judged before the server can see it; a tools/list response loses
// hidden tools; everything else is forwarded exactly as received. The router does no I/O of
// its own — its sinks and clock are injected — so it can be driven directly in tests.
import { createHash } from "node:crypto";
import type { AuditLog } from "../audit/log.ts";
import type { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { consume, decide, denialResult, denialText, type Decision } from "../policy/decide.ts";
import { contentEnd } from "../wire/framing.ts";
import { classify, classifyElement, decodeSpan, member, NULL_ID, type Id, type Message } from "../wire/message.ts";
import { batchReply, errorReply, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, resultReply, SERVER_ERROR } from "../wire/reply.ts";
import { countKeys, scanJson, type Span } from "../wire/scan.ts";
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
}

/** Our own answers to some requests of a batch, sent with the server's answers to the rest. */
interface BatchReplies {
  replies: Buffer[];
  awaiting: number;
}

interface Pending {
  id: Id;
  method: string;
  started: number;
  call?: { tool: string; decision: Decision; args: Record<string, unknown> };
  batch?: BatchReplies;
}

const DEFAULT_MAX_PENDING = 65_536;
/** Ids of calls we denied, so a later notifications/cancelled for them is not forwarded. */
const DENIED_MEMORY = 1_024;
const ISERROR = Buffer.from('"isError"');

function preview(bytes: Buffer, limit = 500): string {
  const text = bytes.toString("utf8", 0, Math.min(bytes.length, limit));
  return bytes.length > limit ? `${text}… (${bytes.length} bytes)` : text;
}

export class Router {
  readonly #options: RouterOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #denied = new Set<string>();
  readonly #maxPending: number;
  #client: { name?: string; version?: string } = {};

  constructor(options: RouterOptions) {
    this.#options = options;
    this.#maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  // ---- client → server -------------------------------------------------------------------

  fromClient(line: Buffer): void {
    // Spans index into the line itself; its terminator is whitespace to every JSON parser.
    const end = contentEnd(line);
    if (end === 0) {
      this.#options.toServer(line);
      return;
    }
    const content = line;
    const scan = scanJson(line, {}, 0, end);
    if (!scan.ok) {
      this.#options.log.warn(`client sent a line that is not JSON (${scan.error} at byte ${scan.at}); answered with a parse error, not forwarded: ${preview(line.subarray(0, end), 200)}`);
      this.#options.toClient(errorReply(NULL_ID, PARSE_ERROR, `Parse error: ${scan.error} at byte ${scan.at}`));
      return;
    }
    if (scan.type === "object") {
      const reply = this.#clientMessage(content, classify(content, scan), undefined);
      if (reply === "forward") this.#options.toServer(line);
      else if (reply !== undefined) this.#options.toClient(reply);
      return;
    }
    if (scan.type === "array") {
      this.#clientBatch(line, content, scan.members);
      return;
    }
    this.#options.toClient(errorReply(NULL_ID, INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object or batch"));
  }

  /** Handles one message (alone or in a batch): "forward", our own reply, or undefined (dropped). */
  #clientMessage(buf: Buffer, message: Message, batch: BatchReplies | undefined): "forward" | Buffer | undefined {
    switch (message.kind) {
      case "invalid":
        return errorReply(message.id ?? NULL_ID, INVALID_REQUEST, `Invalid Request: ${message.reason}`);
      case "response":
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
        if (method === "tools/call") return this.#toolCall(buf, id, message.keys, batch);
        if (method === "initialize") this.#noteClient(buf, message.members);
        const pending: Pending = { id, method, started: this.#options.now() };
        if (batch !== undefined) pending.batch = batch;
        this.#pending.set(id.key, pending);
        return "forward";
      }
    }
  }

  #clientNotification(buf: Buffer, { method, members, keys }: { method: string; members: Span[]; keys: number }): "forward" | undefined {
    if (method === "tools/call") {
      // A call sent as a notification still runs on the server: judge it, drop it if denied.
      const judged = this.#judge(buf, undefined, keys);
      return judged.decision?.effect === "allow" || judged.forward ? "forward" : undefined;
    }
    if (method === "notifications/cancelled") {
      const requestId = this.#cancelledId(buf, members);
      if (requestId !== undefined && this.#denied.has(requestId)) return undefined;
      if (requestId !== undefined) this.#cancelled(requestId);
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

  /** The client gave up on a request: the server should not answer it, so stop waiting. */
  #cancelled(key: string): void {
    const pending = this.#pending.get(key);
    if (pending === undefined) return;
    this.#pending.delete(key);
    if (pending.call !== undefined) this.#auditCall(pending, { cancelled: true });
    this.#settleBatch(pending, undefined);
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
      const params = decodeSpan(buf, span) as { clientInfo?: { name?: unknown; version?: unknown } } | null;
      const info = params?.clientInfo;
      this.#client = {
        ...(typeof info?.name === "string" ? { name: info.name } : {}),
        ...(typeof info?.version === "string" ? { version: info.version } : {}),
      };
    } catch {
      // The server will answer a malformed initialize itself.
    }
  }

  #toolCall(buf: Buffer, id: Id, keys: number, batch: BatchReplies | undefined): "forward" | Buffer {
    const judged = this.#judge(buf, id, keys);
    if (judged.reply !== undefined) {
      this.#rememberDenied(id.key);
      return judged.reply;
    }
    const pending: Pending = { id, method: "tools/call", started: this.#options.now() };
    if (judged.decision !== undefined) pending.call = { tool: judged.decision.tool, decision: judged.decision, args: judged.args! };
    if (batch !== undefined) pending.batch = batch;
    this.#pending.set(id.key, pending);
    return "forward";
  }

  /**
   * Parses and judges a tools/call. Returns the reply to send instead of forwarding (a denial
   * or a protocol error), or the decision to forward under.
   */
  #judge(buf: Buffer, id: Id | undefined, keys: number): { reply?: Buffer; decision?: Decision; args?: Record<string, unknown>; forward?: boolean } {
    const refuse = (code: number, message: string): { reply?: Buffer } => {
      this.#options.log.warn(`refused a tools/call: ${message}`);
      return id === undefined ? {} : { reply: errorReply(id, code, message) };
    };
    let message: { params?: unknown };
    try {
      message = JSON.parse(buf.toString("utf8")) as { params?: unknown };
    } catch (error) {
      return refuse(PARSE_ERROR, `Parse error: tools/call could not be decoded (${(error as Error).message})`);
    }
    // The server must run exactly the call judged here. A repeated key is read differently by
    // different parsers (first wins, last wins), so such a call is refused, not forwarded.
    // Decoding keeps one copy of a repeated key, so the decoded value then holds fewer keys
    // than the scanner counted; only then is the line scanned again to name the key.
    if (countKeys(message) !== keys) {
      const strict = scanJson(buf, { duplicates: true });
      const key = strict.ok ? strict.duplicateKey : undefined;
      return refuse(INVALID_REQUEST, `Invalid Request: duplicate key ${key === undefined ? "" : `"${key}" `}in a tools/call; refused so the server cannot run a call other than the one judged`);
    }
    const params = message.params;
    if (params === null || typeof params !== "object" || Array.isArray(params)) {
      return refuse(INVALID_PARAMS, "Invalid params: tools/call needs params as an object");
    }
    const { name, arguments: args } = params as { name?: unknown; arguments?: unknown };
    if (typeof name !== "string") {
      return refuse(INVALID_PARAMS, `Invalid params: tools/call needs params.name as a string, got ${name === undefined ? "nothing" : typeof name}`);
    }
    if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
      return refuse(INVALID_PARAMS, "Invalid params: tools/call params.arguments must be an object");
    }
    const callArgs = (args ?? {}) as Record<string, unknown>;
    const { policy, counters, now, dryRun, log } = this.#options;
    const at = now();
    let decision = decide(policy, counters, { name, args: callArgs }, at);
    if (decision.effect === "approve") {
      decision = {
        ...decision,
        effect: "deny",
        counters: [],
        reason: `${decision.reason}: a human's approval is required, and no approval channel exists`,
      };
    }

    if (decision.effect === "allow") {
      consume(decision, counters, at);
      if (log.verbose) log.info(`allow ${name} (${decision.rule})`);
      return { decision, args: callArgs };
    }
    if (dryRun) {
      log.warn(`dry run: would deny ${denialText(decision)} [${decision.rule}]; forwarding`);
      if (this.#auditing) this.#audit({ event: "call", tool: name, decision: "deny", dry_run: true, rule: decision.rule, reason: decision.reason, ...this.#argsField(callArgs) });
      return { forward: true, args: callArgs };
    }
    log.warn(`${denialText(decision)} [${decision.rule}]`);
    if (this.#auditing) this.#audit({
      event: "call",
      tool: name,
      decision: "deny",
      rule: decision.rule,
      reason: decision.reason,
      ...(decision.retryAfterMs === undefined ? {} : { retry_after_ms: decision.retryAfterMs }),
      ...this.#argsField(callArgs),
    });
    return id === undefined ? { decision } : { decision, reply: resultReply(id, denialResult(decision)) };
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
      this.#options.toClient(errorReply(NULL_ID, INVALID_REQUEST, "Invalid Request: empty batch"));
      return;
    }
    const batch: BatchReplies = { replies: [], awaiting: 0 };
    const kept: Span[] = [];
    for (const span of elements) {
      const element = buf.subarray(span.start, span.end);
      const message = classifyElement(element);
      const outcome = this.#clientMessage(element, message, batch);
      if (outcome === "forward") {
        kept.push(span);
        if (message.kind === "request") batch.awaiting++;
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

  #flushBatch(batch: BatchReplies): void {
    if (batch.replies.length === 0) return;
    this.#options.toClient(batchReply(batch.replies));
    batch.replies = [];
  }

  // ---- server → client -------------------------------------------------------------------

  fromServer(line: Buffer): void {
    const end = contentEnd(line);
    if (end === 0) {
      this.#options.toClient(line);
      return;
    }
    const content = line;
    const scan = scanJson(line, {}, 0, end);
    if (!scan.ok || scan.type === "scalar") {
      this.#pollution(line.subarray(0, end));
      return;
    }
    if (scan.type === "object") {
      const message = classify(content, scan);
      if (message.kind === "invalid") {
        this.#pollution(line.subarray(0, end));
        return;
      }
      const rewritten = message.kind === "response" ? this.#serverResponse(content, message.id, message.isError, message.members) : undefined;
      this.#options.toClient(rewritten === undefined ? line : Buffer.from(`${rewritten}\n`));
      return;
    }
    this.#serverBatch(line, content, scan.members);
  }

  #pollution(content: Buffer): void {
    this.#options.log.warn(`server stdout (not JSON-RPC, not forwarded): ${preview(content)}`);
  }

  /** Settles the request this answers; returns replacement text if the response was rewritten. */
  #serverResponse(buf: Buffer, id: Id, isError: boolean, members: Span[], batchOwn?: Buffer[]): string | undefined {
    const pending = this.#pending.get(id.key);
    if (pending === undefined) return undefined;
    this.#pending.delete(id.key);
    let rewritten: string | undefined;
    if (pending.method === "tools/list" && !isError && this.#options.policy.hides) {
      try {
        rewritten = withoutHiddenTools(buf, members, this.#options.policy.hiddenBy);
      } catch {
        this.#options.log.warn("server's tools/list result could not be decoded; answered with an error so no hidden tool leaks");
        rewritten = errorReply(pending.id, INTERNAL_ERROR, "mcpgate: the server's tools/list result could not be decoded").toString("utf8").trimEnd();
      }
    }
    if (pending.call !== undefined && this.#auditing) {
      this.#auditCall(pending, { is_error: isError || this.#resultIsError(buf, members) });
    }
    this.#settleBatch(pending, batchOwn);
    return rewritten;
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

  #serverBatch(line: Buffer, buf: Buffer, elements: Span[]): void {
    const own: Buffer[] = [];
    const parts: string[] = [];
    let changed = false;
    for (const span of elements) {
      const element = buf.subarray(span.start, span.end);
      const message = classifyElement(element);
      let text: string | undefined;
      if (message.kind === "response") {
        text = this.#serverResponse(element, message.id, message.isError, message.members, own);
      }
      if (text !== undefined) changed = true;
      parts.push(text ?? element.toString("utf8"));
    }
    if (!changed && own.length === 0) {
      this.#options.toClient(line);
      return;
    }
    for (const reply of own) parts.push(reply.toString("utf8").trimEnd());
    this.#options.toClient(Buffer.from(`[${parts.join(",")}]\n`));
  }

  // ---- endings ---------------------------------------------------------------------------

  /** The server is gone: every request still waiting gets an error naming why. */
  serverExited(description: string): void {
    for (const pending of this.#pending.values()) {
      this.#options.toClient(errorReply(pending.id, SERVER_ERROR, `mcpgate: the MCP server ${description} before answering ${pending.method}`));
      if (pending.call !== undefined) this.#auditCall(pending, { is_error: true, error: `server ${description}` });
      this.#settleBatch(pending, undefined);
    }
    this.#pending.clear();
  }

  // ---- audit -----------------------------------------------------------------------------

  get #auditing(): boolean {
    return this.#options.audit.enabled;
  }

  #argsField(args: Record<string, unknown>): Record<string, unknown> {
    if (this.#options.policy.includeArgs) return { args };
    return { args_sha256: createHash("sha256").update(JSON.stringify(args)).digest("hex") };
  }

  #audit(event: Record<string, unknown> & { event: "call" }): void {
    if (!this.#auditing) return;
    const client = this.#client.name === undefined ? {} : { client: this.#client };
    this.#options.audit.write({ ...event, ...client });
  }

  #auditCall(pending: Pending, outcome: Record<string, unknown>): void {
    if (!this.#auditing) return;
    const { tool, decision, args } = pending.call!;
    this.#audit({
      event: "call",
      tool,
      decision: "allow",
      rule: decision.rule,
      reason: decision.reason,
      ...this.#argsField(args),
      duration_ms: Math.round((this.#options.now() - pending.started) * 1000) / 1000,
      ...outcome,
    });
  }
}
