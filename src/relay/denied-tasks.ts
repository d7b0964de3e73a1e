// A denied task-augmented tools/call (SPEC §10): the client asked for a task, so the denial must
// be something its task API takes. In 2025-11-25 (`params.task`) that is a task of mcpgate's,
// already "failed" with the denial as its status message, whose tasks/get and tasks/result
// mcpgate answers itself (tasks/result gives the denial result): what the SDK's own servers do
// for a tool that fails. In 2026-07-28 with the tasks extension it is a task already
// "completed" whose tasks/get carries the denial result inline (isError is a completed task's
// result there). These tasks live under a private id prefix and never reach the server.
import { randomBytes } from "node:crypto";
import { denialResult, denialText, type Verdict } from "../policy/decision.ts";
import { decodeSpan, member, type Id } from "../wire/message.ts";
import { errorReply, INVALID_PARAMS, resultReply } from "../wire/reply.ts";
import type { Span } from "../wire/scan.ts";

/** The extension a 2026-07-28 client declares to take tasks. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** How many denied tasks are remembered for their follow-ups; past this, the oldest go. */
const REMEMBERED = 1_024;
const TTL_MS = 60_000;
const POLL_MS = 1_000;

interface DeniedTask {
  verdict: Verdict;
  modern: boolean;
  at: string;
}

/** Whether a 2026-07-28 request's client capabilities declare the tasks extension. */
export function takesTasks(capabilities: unknown): boolean {
  const extensions = (capabilities as { extensions?: unknown } | null | undefined)?.extensions;
  return extensions !== null && typeof extensions === "object" && Object.hasOwn(extensions, TASKS_EXTENSION);
}

/** The `params.taskId` of a tasks/* request, if it has a string one. */
export function requestTaskId(buf: Buffer, members: Span[]): string | undefined {
  const span = member(members, "params");
  try {
    const taskId = span === undefined ? undefined : (decodeSpan(buf, span) as { taskId?: unknown } | null)?.taskId;
    return typeof taskId === "string" ? taskId : undefined;
  } catch {
    return undefined;
  }
}

export class DeniedTasks {
  readonly #prefix = `mcpgate-denied-${randomBytes(6).toString("hex")}-`;
  #next = 1;
  readonly #tasks = new Map<string, DeniedTask>();

  /** The result that answers a denied task-augmented call: a task that has already ended. */
  created(verdict: Verdict, modern: boolean): object {
    const taskId = `${this.#prefix}${this.#next++}`;
    const task: DeniedTask = { verdict, modern, at: new Date().toISOString() };
    this.#tasks.set(taskId, task);
    if (this.#tasks.size > REMEMBERED) this.#tasks.delete(this.#tasks.keys().next().value as string);
    const meta = { _meta: (denialResult(verdict) as { _meta: object })._meta };
    return modern ? { resultType: "task", ...this.#status(taskId, task), ...meta } : { task: this.#status(taskId, task), ...meta };
  }

  /** mcpgate's answer to a tasks/* request about one of its tasks; undefined for any other (forward it). */
  request(buf: Buffer, id: Id, method: string, members: Span[]): Buffer | undefined {
    if (this.#tasks.size === 0) return undefined;
    const taskId = requestTaskId(buf, members);
    return taskId?.startsWith(this.#prefix) === true ? this.#answer(id, method, taskId) : undefined;
  }

  #answer(id: Id, method: string, taskId: string): Buffer {
    const task = this.#tasks.get(taskId);
    if (task === undefined) return errorReply(id, INVALID_PARAMS, `Failed to retrieve task: Task not found (${taskId})`);
    if (method === "tasks/get") {
      const status = this.#status(taskId, task);
      return resultReply(id, task.modern ? { ...status, result: denialResult(task.verdict, true), resultType: "complete" } : status);
    }
    if (method === "tasks/result") {
      const result = denialResult(task.verdict, task.modern) as { _meta: object };
      return resultReply(id, { ...result, _meta: { ...result._meta, "io.modelcontextprotocol/related-task": { taskId } } });
    }
    return errorReply(id, INVALID_PARAMS, `Cannot ${method.slice("tasks/".length)} task ${taskId}: it ended (${task.modern ? "completed" : "failed"}: ${denialText(task.verdict)})`);
  }

  #status(taskId: string, { verdict, modern, at }: DeniedTask): object {
    return modern
      ? { taskId, status: "completed", statusMessage: denialText(verdict), createdAt: at, lastUpdatedAt: at, ttlMs: TTL_MS, pollIntervalMs: POLL_MS }
      : { taskId, status: "failed", statusMessage: denialText(verdict), createdAt: at, lastUpdatedAt: at, ttl: TTL_MS, pollInterval: POLL_MS };
  }
}
