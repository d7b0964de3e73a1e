// The client gave up on a request (notifications/cancelled). A call the server never saw — one
// mcpgate denied, or one still held for a human (now withdrawn) or for the store (not sent when
// it answers, and what it was counted given back: store-waits.ts) — is mcpgate's to forget, and
// the cancellation goes no further. A request the server was sent stops being waited for, but
// the server may still answer it once (the client ignores that answer).
import type { Approvals } from "../approval/coordinator.ts";
import type { CallAudit } from "../audit/call-event.ts";
import { decodeSpan, idKey, member } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";
import type { InFlight, Pending } from "./in-flight.ts";

export interface CancelContext {
  inFlight: InFlight;
  approvals: Approvals;
  audit: CallAudit;
  settle(pending: Pending): void;
}

/** Handles a notifications/cancelled; returns true when it must not be forwarded. */
export function cancel(buf: Buffer, members: Span[], { inFlight, approvals, audit, settle }: CancelContext): boolean {
  const key = cancelledKey(buf, members);
  if (key === undefined) return false;
  if (inFlight.wasDenied(key)) return true;
  const pending = inFlight.get(key);
  if (pending === undefined) return false;
  inFlight.close(pending);
  const held = pending.approval;
  const counting = pending.counting;
  if (held !== undefined) {
    // Withdrawn: whatever the human answers now has no effect, and nobody expects a reply.
    approvals.withdraw(held, "the client cancelled the call");
    audit.denied(held.verdict, held.field, { approval: "withdrawn" });
    inFlight.rememberDenied(key);
  } else if (counting !== undefined) {
    audit.denied({ ...counting.verdict, effect: "deny", reason: "the client cancelled the call before the shared store answered" }, counting.field);
    inFlight.rememberDenied(key);
  } else {
    if (pending.call !== undefined) audit.forwarded(pending.call, pending.started, { cancelled: true });
    inFlight.rememberCancelled(pending);
  }
  settle(pending);
  return held !== undefined || counting !== undefined;
}

/** The id key a notifications/cancelled names, if it names one. */
function cancelledKey(buf: Buffer, members: Span[]): string | undefined {
  const span = member(members, "params");
  if (span === undefined) return undefined;
  try {
    const requestId = (decodeSpan(buf, span) as { requestId?: unknown } | null)?.requestId;
    return typeof requestId === "string" || typeof requestId === "number" ? idKey(requestId) : undefined;
  } catch {
    // Not ours to judge: the server will see the same bytes and make of them what it can.
    return undefined;
  }
}
