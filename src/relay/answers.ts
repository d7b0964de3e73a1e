// The server's answers. Each is matched to the request in flight it answers, exactly by id:
// one that answers nothing the server was sent (a call mcpgate denied, one still held for a
// human, a second answer) is dropped. A list a client could take for a tools/list's answer
// loses hidden tools. A call of a tool with `redact` has its answer redacted (redactions.ts). A
// forwarded call's answer completes its audit record. A round the server opens for a
// 2026-07-28 call (`input_required`) has its state wrapped in one of mcpgate's, so the client's
// retry is known as the continuation of a call already judged (SPEC §10).
import { argumentsDigest } from "../approval/request-state.ts";
import type { Rounds } from "../approval/rounds.ts";
import type { CallAudit } from "../audit/call-event.ts";
import { taskOf, type TaskCalls } from "../audit/task-calls.ts";
import { decodeSpan, member, parseId, type Id } from "../wire/message.ts";
import { errorReply, INTERNAL_ERROR } from "../wire/reply.ts";
import { canonicalArguments } from "../wire/tools-call.ts";
import { scanJson, type Span } from "../wire/scan.ts";
import { DROP, type ElementAnswer } from "./batch.ts";
import { requestTaskId } from "./denied-tasks.ts";
import { notSent, type InFlight, type Pending } from "./in-flight.ts";
import { giveBack } from "../policy/evaluate.ts";
import type { LivePolicy } from "./live-policy.ts";
import type { Logger } from "./log.ts";
import type { PinTracker } from "../pins/tracker.ts";
import type { Redactions } from "./redactions.ts";
import type { TaskTools } from "./task-tools.ts";
import { serverRound, withoutHiddenTools, withRequestState, type ListObserver } from "./rewrite.ts";
import type { ClientSession } from "./session.ts";

export interface AnswersOptions {
  /** The policy in force, read at each use: a reload may swap it. */
  live: LivePolicy;
  inFlight: InFlight;
  audit: CallAudit;
  /** Learns the server's serverInfo from its answer to initialize. */
  session: ClientSession;
  log: Logger;
  /** Sends one of mcpgate's own messages to the client. */
  send(bytes: Buffer): void;
  /** A request is settled: its batch's own answers go into `collector`, or out alone. */
  settle(pending: Pending, collector?: Buffer[]): void;
  rounds: Rounds;
  taskCalls: TaskCalls;
  /** The server's pins, checked on every tools/list answer when the policy pins. */
  pins?: PinTracker;
  /** Redacts (or withholds) the answers to calls of tools with `redact`. */
  redactions: Redactions;
  /** Tasks of tools whose results are redacted: their later answers are redacted too. */
  taskTools: TaskTools;
}

const ISERROR = Buffer.from('"isError"');

export interface Response {
  id: Id;
  isError: boolean;
  members: Span[];
}

export class Answers {
  readonly #options: AnswersOptions;

  constructor(options: AnswersOptions) {
    this.#options = options;
  }

  /**
   * Settles the request a response answers. Returns replacement text if it was rewritten,
   * DROP when it answers no request the server was sent, else undefined (forward it as is).
   */
  response(buf: Buffer, { id, isError, members }: Response, collector?: Buffer[]): ElementAnswer {
    const { inFlight, audit } = this.#options;
    const pending = inFlight.get(id.key);
    if (pending === undefined || notSent(pending)) {
      const cancelled = pending === undefined ? inFlight.takeCancelled(id.key) : undefined;
      if (cancelled === undefined) {
        this.#dropped(id.raw);
        return DROP;
      }
      const filtered = isError ? undefined : this.#filterTools(buf, id, members, cancelled.method);
      // The client gave up on it, but its bytes still reach the client: redacted like any.
      return this.#options.redactions.answer(buf, members, id, filtered, cancelled.tool, pending?.modern !== undefined).answer;
    }
    inFlight.close(pending);
    // Only the one answer to initialize is decoded here; every other response costs a comparison.
    if ((pending.method === "initialize" || pending.method === "server/discover") && !isError) this.#options.session.serverInitialized(buf, members);
    const round = pending.modern === undefined || isError ? undefined : serverRound(buf, members);
    const rewritten = round !== undefined ? this.#wrapRound(buf, members, pending, round.state) : isError ? undefined : this.#filterTools(buf, id, members, pending.method);
    // A round is no result yet: what the server asks for is its own text, not the tool's output.
    const redacted = round === undefined ? this.#options.redactions.answer(buf, members, id, rewritten, pending.tool, pending.modern !== undefined) : { answer: rewritten };
    if (pending.taskId !== undefined && !isError) this.#sawTask(buf, members, pending);
    if (pending.method === "tools/call" && pending.tool !== undefined && !isError && this.#options.live.current.redactionFor(pending.tool) !== undefined) this.#options.taskTools.remember(buf, members, pending.tool);
    if (pending.refund !== undefined && round === undefined && (isError || resultIsError(buf, members))) this.#refund(pending);
    if (pending.call !== undefined && audit.enabled && !this.#madeTask(buf, members, pending, isError)) {
      const outcome = round === undefined ? { is_error: isError || redacted.error !== undefined || resultIsError(buf, members) } : { is_error: false, input_required: true };
      audit.forwarded(pending.call, pending.started, { ...outcome, ...redacted.audit });
    }
    this.#options.settle(pending, collector);
    return redacted.answer;
  }

  /** The request in flight a streamed response with this id answers, if the server was sent it. */
  answering(rawId: string): Pending | undefined {
    const id = parseId(rawId);
    const pending = id === undefined ? undefined : this.#options.inFlight.get(id.key);
    if (pending === undefined || notSent(pending)) {
      this.#dropped(rawId);
      return undefined;
    }
    return pending;
  }

  /** A streamed answer arrived whole. */
  streamed(pending: Pending, isError: boolean): void {
    const { inFlight, audit } = this.#options;
    if (!inFlight.isOpen(pending)) return;
    inFlight.close(pending);
    if (pending.refund !== undefined && isError) this.#refund(pending);
    if (pending.call !== undefined && audit.enabled) audit.forwarded(pending.call, pending.started, { is_error: isError });
    this.#options.settle(pending);
  }

  /** A call whose result failed gives back what it consumed on counters with refund: on_error (SPEC §3). */
  #refund(pending: Pending): void {
    const { session, store } = pending.refund!;
    pending.refund = undefined;
    if (session !== undefined) giveBack(session);
    if (store !== undefined) void this.#options.live.store?.refund(store);
    if (this.#options.log.verbose) this.#options.log.info(`${pending.tool ?? "a call"} failed: what it consumed was given back (refund: on_error)`);
  }

  /** Answers a forwarded request with an error of ours: the server's answer will not reach the client. */
  fail(pending: Pending, code: number, message: string): void {
    const { inFlight, audit } = this.#options;
    if (!inFlight.isOpen(pending)) return;
    inFlight.close(pending);
    this.#options.send(errorReply(pending.id, code, message));
    if (pending.call !== undefined) audit.forwarded(pending.call, pending.started, { is_error: true, error: message });
    this.#options.settle(pending);
  }

  /** A tasks/* request while records wait for tasks or tasks are redacted: its answer is looked at for the task's state, and redacted if its task's tool is. */
  follow(pending: Pending, buf: Buffer, members: Span[]): void {
    const taskId = requestTaskId(buf, members);
    if (taskId === undefined) return;
    pending.taskId = taskId;
    // The answer carries that tool's result (or its state): redacted as the tool's own answer.
    const tool = this.#options.taskTools.toolOf(taskId);
    if (tool !== undefined) pending.tool = tool;
  }

  /** A server task notification about a task whose results are redacted may carry its result inline: not forwarded (clients poll tasks/get). */
  taskNotification(buf: Buffer, method: string, members: Span[]): typeof DROP | undefined {
    if (!method.startsWith("notifications/tasks") || !this.#options.taskTools.concerns(buf, members)) return undefined;
    this.#options.log.warn(`dropped a ${method} about a task of a tool whose results are redacted (it may carry the result); the client gets it from tasks/get`);
    return DROP;
  }

  /** A server notification while records wait for tasks: a task status notification is a sight of one. */
  notification(buf: Buffer, method: string, members: Span[]): void {
    if (!method.startsWith("notifications/tasks")) return;
    const span = member(members, "params");
    const task = span === undefined ? undefined : taskOf(decodeSpan(buf, span));
    if (task !== undefined) this.#options.taskCalls.saw(task.taskId, task);
  }

  /** Whether a forwarded call's answer made a task, whose end will complete its record. */
  #madeTask(buf: Buffer, members: Span[], pending: Pending, isError: boolean): boolean {
    return !isError && this.#options.taskCalls.created(buf, members, pending.call!, pending.started);
  }

  /** The answer to a tasks/get or tasks/result: a sight of the task's state. */
  #sawTask(buf: Buffer, members: Span[], pending: Pending): void {
    const span = member(members, "result");
    if (span === undefined) return;
    const result = decodeSpan(buf, span) as { isError?: unknown } | null;
    if (pending.method === "tasks/result") {
      // Only an ended task has a result: its status is known by its isError.
      const isError = result?.isError === true;
      this.#options.taskCalls.saw(pending.taskId!, { status: isError ? "failed" : "completed", isError });
      return;
    }
    const task = taskOf({ ...(result as object), taskId: pending.taskId });
    if (task !== undefined) this.#options.taskCalls.saw(task.taskId, task);
  }

  /** Whether a line starting now may need tools removed: a tools/list is in flight and tools are hidden (or pinned). */
  listInFlight(): boolean {
    if (!this.#options.live.current.hides && (this.#options.live.current.pins === undefined || this.#options.pins === undefined)) return false;
    for (const pending of this.#options.inFlight.values()) if (pending.method === "tools/list" && !notSent(pending)) return true;
    return false;
  }

  /** The server's round for a call it was sent, its state wrapped in ours (bound to that call). */
  #wrapRound(buf: Buffer, members: Span[], pending: Pending, state: string | undefined): string {
    const { tool, rule, line } = pending.modern!;
    const digest = pending.modern!.digest ?? argumentsDigest(canonicalArguments(line!));
    return withRequestState(buf, members, this.#options.rounds.continuation(tool, digest, rule, state));
  }

  /** How a tools/list answer is checked against the pins, when the policy pins. */
  #pinning(): ListObserver | undefined {
    const { pins } = this.#options;
    const settings = this.#options.live.current.pins;
    if (pins === undefined || settings === undefined) return undefined;
    return (buf, result, tools) => pins.listed(buf, result, tools, settings);
  }

  #dropped(rawId: string): void {
    this.#options.log.warn(`server answered id ${rawId.slice(0, 100)}, which it was not sent or which was answered already; dropped`);
  }

  /**
   * A result without hidden tools: for a tools/list, and for any answer a client could take for
   * a pending tools/list's — one whose id is that list's retyped (the SDK matches "1" to 1).
   * Returns replacement text, or undefined when nothing changes.
   */
  #filterTools(buf: Buffer, id: Id, members: Span[], method: string): string | undefined {
    const { live, inFlight, log } = this.#options;
    const policy = live.current;
    const pinning = policy.pins !== undefined && this.#options.pins !== undefined;
    if ((!policy.hides && !pinning) || (method !== "tools/list" && !inFlight.listUnder(id))) return undefined;
    try {
      return withoutHiddenTools(buf, members, policy.hiddenBy, pinning ? this.#pinning() : undefined);
    } catch {
      log.warn("server's tools/list result could not be decoded; answered with an error so no hidden tool leaks");
      return errorReply(id, INTERNAL_ERROR, "mcpgate: the server's tools/list result could not be decoded").toString("utf8").trimEnd();
    }
  }
}

/** Whether a response's result says `"isError": true`. */
function resultIsError(buf: Buffer, members: Span[]): boolean {
  const span = member(members, "result");
  // Most results never mention isError; only those that do are scanned for it.
  if (span === undefined || buf.indexOf(ISERROR, span.start) === -1) return false;
  const result = scanJson(buf, {}, span.start, span.end);
  if (!result.ok || result.type !== "object") return false;
  const flag = member(result.members, "isError");
  return flag !== undefined && buf.toString("utf8", flag.start, flag.end) === "true";
}
