// The server is gone, so nothing in flight will be answered by it: every request still waiting
// gets an error naming why, and every call is recorded as it ended — forwarded ones as failed,
// those held for a human as withdrawn, those waiting for the shared store as denied (the server
// never saw them) — and calls whose records waited for their task are closed.
import type { Approvals } from "../approval/coordinator.ts";
import type { CallAudit } from "../audit/call-event.ts";
import type { TaskCalls } from "../audit/task-calls.ts";
import { errorReply, SERVER_ERROR } from "../wire/reply.ts";
import type { InFlight, Pending } from "./in-flight.ts";
import type { Outbox } from "./outbox.ts";

export interface ExitContext {
  taskCalls: TaskCalls;
  approvals: Approvals;
  inFlight: InFlight;
  audit: CallAudit;
  outbox: Outbox;
  settle(pending: Pending): void;
}

/** Answers and records everything in flight; `description` says how the server ended ("exited with code 1"). */
export function serverExited(description: string, { taskCalls, approvals, inFlight, audit, outbox, settle }: ExitContext): void {
  taskCalls.flush(`the MCP server ${description} before its task ended`);
  for (const held of approvals.withdrawAll(`the MCP server ${description}`)) audit.denied(held.verdict, held.field, { approval: "withdrawn", error: `server ${description}` });
  for (const pending of inFlight.drain()) {
    outbox.send(errorReply(pending.id, SERVER_ERROR, `mcpgate: the MCP server ${description} before answering ${pending.method}`));
    if (pending.call !== undefined) audit.forwarded(pending.call, pending.started, { is_error: true, error: `server ${description}` });
    else if (pending.counting !== undefined) audit.denied({ ...pending.counting.verdict, effect: "deny", reason: `the MCP server ${description} while the shared store was asked` }, pending.counting.field);
    settle(pending);
  }
}
