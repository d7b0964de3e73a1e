// Tasks made by calls of tools whose results are redacted (SPEC §13): such a result comes later,
// in a tasks/result or tasks/get answer, or inline in a task notification, and must be redacted
// as the tool's own would be. This remembers which tool each such task belongs to.
import { createdTask, taskOf } from "../audit/task-calls.ts";
import { decodeSpan, member } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";

/** Tasks remembered at most; past this the oldest are forgotten (their answers then go unscanned: see README). */
const REMEMBERED = 4_096;

export class TaskTools {
  readonly #tools = new Map<string, string>();

  get size(): number {
    return this.#tools.size;
  }

  /** A call of `tool` (whose results are redacted) was answered: if by a task, remember it. */
  remember(buf: Buffer, members: Span[], tool: string): void {
    const task = createdTask(buf, members);
    if (task === undefined) return;
    this.#tools.set(task.taskId, tool);
    if (this.#tools.size > REMEMBERED) this.#tools.delete(this.#tools.keys().next().value as string);
  }

  /** The tool whose redacted task `taskId` is, if it is one. */
  toolOf(taskId: string): string | undefined {
    return this.#tools.get(taskId);
  }

  /** Whether a server notification is about a task whose results are redacted (its params name one). */
  concerns(buf: Buffer, members: Span[]): boolean {
    const span = member(members, "params");
    const task = span === undefined ? undefined : taskOf(decodeSpan(buf, span));
    return task !== undefined && this.#tools.has(task.taskId);
  }
}
