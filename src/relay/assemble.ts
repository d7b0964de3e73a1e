// The parts the router dispatches to, made and wired once per session: what goes to the client
// (outbox), the requests in flight, what the client declared, the audit log's call records,
// the calls held for a human, tools/call judging, the server's answers, large streamed lines,
// and what answers for a line whose handling threw.
import type { Approver } from "../approval/answer.ts";
import { SessionAllowances } from "../approval/allowances.ts";
import { Approvals, defaultTimer } from "../approval/coordinator.ts";
import { Rounds } from "../approval/rounds.ts";
import { CallAudit } from "../audit/call-event.ts";
import { TaskCalls } from "../audit/task-calls.ts";
import type { AuditLog } from "../audit/log.ts";
import type { Counters } from "../limits/counters.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { afterRefusal } from "../policy/verdict.ts";
import { SERVER_ERROR } from "../wire/reply.ts";
import { Answers } from "./answers.ts";
import { Calls } from "./calls.ts";
import type { CancelContext } from "./cancellation.ts";
import { InFlight, type Pending } from "./in-flight.ts";
import type { LivePolicy } from "./live-policy.ts";
import type { SharedStore } from "./shared-counts.ts";
import type { Logger } from "./log.ts";
import { Outbox } from "./outbox.ts";
import { Redactions } from "./redactions.ts";
import { Retries } from "./retries.ts";
import { TaskTools } from "./task-tools.ts";
import { DeniedTasks } from "./denied-tasks.ts";
import { Faults } from "./faults.ts";
import { ServerStream } from "./server-stream.ts";
import { ClientSession } from "./session.ts";
import type { PinStore } from "../pins/store.ts";
import { PinTracker } from "../pins/tracker.ts";

export interface RouterOptions {
  policy: CompiledPolicy;
  counters: Counters;
  toServer(bytes: Buffer): void;
  toClient(bytes: Buffer): void;
  audit: AuditLog;
  /** The server's command (argv), as audit records name it. */
  server?: readonly string[];
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
  /** Where the servers' tool pins are kept; without it, a policy's `pins` has no effect. */
  pins?: PinStore;
  /** The shared store of the policy's global counters. */
  store?: SharedStore;
}

export interface Parts {
  /** The policy in force and its counters; Router.reload swaps them. */
  live: LivePolicy;
  outbox: Outbox;
  inFlight: InFlight;
  session: ClientSession;
  audit: CallAudit;
  approvals: Approvals;
  calls: Calls;
  deniedTasks: DeniedTasks;
  /** Calls the server made a task of, whose audit records wait for the task's end. */
  taskCalls: TaskCalls;
  /** Tasks of tools whose results are redacted. */
  taskTools: TaskTools;
  answers: Answers;
  /** Redaction of answers and log messages (SPEC §13). */
  redactions: Redactions;
  stream: ServerStream;
  cancelContext: CancelContext;
  /** What answers and records a line (or batch element) whose handling threw. */
  faults: Faults;
  /** One request is settled: when its batch has no other left waiting, the batch's own answers go out (into `collector`, if given). */
  settle(pending: Pending, collector?: Buffer[]): void;
}

export function assemble(options: RouterOptions): Parts {
  const { log } = options;
  const live: LivePolicy = { current: options.policy, counters: options.counters, ...(options.store === undefined ? {} : { store: options.store }) };
  const outbox = new Outbox(options.toClient);
  const inFlight = new InFlight(options.maxPending);
  const session = new ClientSession();
  const send = (bytes: Buffer): void => outbox.send(bytes);
  const settle = (pending: Pending, collector?: Buffer[]): void => {
    const flushed = pending.batch?.settle(collector);
    if (flushed !== undefined) outbox.send(flushed);
  };
  const audit = new CallAudit({ audit: options.audit, includeArgs: () => live.current.includeArgs, client: () => session.info, server: () => session.server, command: options.server, now: options.now, warn: log.warn });
  const approvals: Approvals = new Approvals({
    ...(options.approver === undefined ? {} : { approver: options.approver }),
    ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
    send,
    log,
    settings: () => live.current.approval,
    answered: (held, answer) => calls.answered(held, answer),
  });
  const allowances = new SessionAllowances();
  const rounds = new Rounds({
    now: options.now,
    settings: () => live.current.approval,
    setTimer: options.setTimer ?? defaultTimer,
    expired: (verdict, field, timeoutMs) => {
      const why = `nobody answered within ${timeoutMs / 1000} s (the client never retried the call)`;
      log.warn(`${verdict.tool}: an approval round expired unanswered [${verdict.rule}]`);
      audit.denied(afterRefusal(verdict, why).verdict, field, { approval: "timeout" });
    },
  });
  const deniedTasks = new DeniedTasks();
  const pins = options.pins === undefined ? undefined : new PinTracker({ store: options.pins, command: options.server ?? [], serverName: () => session.server.name, log });
  const retries = new Retries({ live, now: options.now, log, audit, allowances, rounds, ...(pins === undefined ? {} : { pins }) });
  const calls = new Calls({
    live,
    now: options.now,
    dryRun: options.dryRun ?? false,
    log,
    audit,
    session,
    approverSet: options.approver !== undefined,
    inFlight,
    approvals,
    allowances,
    rounds,
    retries,
    deniedTasks,
    toServer: options.toServer,
    send,
    settle,
    ...(pins === undefined ? {} : { pins }),
  });
  const taskCalls = new TaskCalls(audit);
  const redactions = new Redactions({ live, inFlight, audit, log, send, settle });
  const taskTools = new TaskTools();
  const answers = new Answers({ live, inFlight, audit, session, log, send, settle, rounds, taskCalls, redactions, taskTools, ...(pins === undefined ? {} : { pins }) });
  const stream = new ServerStream({
    log,
    outbox,
    mayNeedFiltering: () => answers.listInFlight(),
    answering: (raw) => answers.answering(raw),
    answered: (pending, isError) => answers.streamed(pending, isError),
    failed: (pending, message) => answers.fail(pending, SERVER_ERROR, message),
    holdLimit: (pending) => redactions.holdLimit(pending),
    holdLimitUnknown: (response) => redactions.holdLimitUnknown(response),
    holdLimitMessage: (method) => redactions.holdLimitMessage(method),
    withheld: (pending, bytes) => redactions.withheld(pending, bytes),
  });
  const faults = new Faults({ log, inFlight, approvals, audit, answers, send });
  return { live, outbox, inFlight, session, audit, approvals, calls, deniedTasks, taskCalls, taskTools, answers, redactions, stream, cancelContext: { inFlight, approvals, audit, settle }, faults, settle };
}
