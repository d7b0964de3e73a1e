// Calls the server made a task of (SPEC §10): the server answers such a call at once with a
// task that is still working, so the call's audit record waits for the task's terminal state —
// seen in a tasks/get or tasks/result answer or a task status notification, whichever comes
// first — and takes its duration_ms and is_error from there. 2025-11-25 tasks
// (`{task: {taskId, status}}`) and 2026-07-28 tasks (`resultType: "task"`, its result inline).
import { decodeSpan, member } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";
import type { CallAudit, CallRecord } from "./call-event.ts";

const TERMINAL: ReadonlySet<unknown> = new Set(["completed", "failed", "cancelled"]);
/** Tasks whose record waits, at most; past this the oldest is recorded as it stands. */
const MAX_WAITING = 4_096;

/** What one sight of a task says: its status, and whether its result is an error (if it says). */
export interface TaskView {
  status?: unknown;
  isError?: boolean;
}

interface Waiting {
  call: CallRecord;
  started: number;
  status: unknown;
}

type Loose = Record<string, unknown> | null | undefined;

/** A task's id and state as a tools/call result or tasks/get result or notification holds them. */
export function taskOf(value: unknown): ({ taskId: string } & TaskView) | undefined {
  const object = value as Loose;
  // 2025-11-25 nests the task under `task`; 2026-07-28 puts it at the top with resultType "task".
  const task = (object?.task ?? object) as Loose;
  if (typeof task?.taskId !== "string") return undefined;
  const inline = task.result as Loose;
  return { taskId: task.taskId, status: task.status, ...(inline?.isError === true ? { isError: true } : {}) };
}

const TASK_ID = Buffer.from('"taskId"');

/**
 * The task a response's result created, if it did (2025-11-25 `{task: {…}}`, 2026-07-28
 * `resultType: "task"`). Only a result that mentions "taskId" is decoded.
 */
export function createdTask(buf: Buffer, members: Span[]): ({ taskId: string } & TaskView) | undefined {
  const span = member(members, "result");
  if (span === undefined) return undefined;
  const at = buf.indexOf(TASK_ID, span.start);
  if (at === -1 || at > span.end) return undefined;
  const result = decodeSpan(buf, span) as Loose;
  return result?.task === undefined && result?.resultType !== "task" ? undefined : taskOf(result);
}

export class TaskCalls {
  readonly #audit: CallAudit;
  readonly #waiting = new Map<string, Waiting>();

  constructor(audit: CallAudit) {
    this.#audit = audit;
  }

  /** Whether some record waits for its task (only then are task messages looked at). */
  get waiting(): boolean {
    return this.#waiting.size > 0;
  }

  /** A forwarded call's answer. When it made a task, the record is the task's to write: true. */
  created(buf: Buffer, members: Span[], call: CallRecord, started: number): boolean {
    const task = createdTask(buf, members);
    if (task === undefined) return false;
    this.#waiting.set(task.taskId, { call, started, status: task.status });
    if (this.#waiting.size > MAX_WAITING) this.#end(this.#waiting.keys().next().value as string, { error: "too many tasks in flight to follow this one to its end" });
    this.saw(task.taskId, task);
    return true;
  }

  /** A sight of a task's state; a terminal one writes its call's record. */
  saw(taskId: string, { status, isError }: TaskView): void {
    const waiting = this.#waiting.get(taskId);
    if (waiting === undefined) return;
    if (status !== undefined) waiting.status = status;
    if (!TERMINAL.has(waiting.status)) return;
    this.#end(taskId, { is_error: isError === true || waiting.status !== "completed" });
  }

  /** The session ends: tasks not seen to end are recorded as last seen. */
  flush(why: string): void {
    for (const taskId of [...this.#waiting.keys()]) this.#end(taskId, { error: why });
  }

  #end(taskId: string, outcome: Record<string, unknown>): void {
    const waiting = this.#waiting.get(taskId)!;
    this.#waiting.delete(taskId);
    this.#audit.forwarded(waiting.call, waiting.started, { ...outcome, task: { id: taskId, status: waiting.status } });
  }
}
