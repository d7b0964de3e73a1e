// What comes back, redacted (SPEC §13): the answer to a call of a tool with `redact`, and the
// server's log messages under all_tools' `redact`. An answer larger than the tool's max_bytes,
// or one that cannot be decoded, is withheld whole: what was not scanned is not sent.
import { redactMember } from "../redact/message.ts";
import type { Counts } from "../redact/scan-text.ts";
import type { CompiledRedaction } from "../redact/settings.ts";
import { member, type Id } from "../wire/message.ts";
import { resultReply } from "../wire/reply.ts";
import type { Span } from "../wire/scan.ts";

export type ResponseRedaction =
  | { kind: "clean" }
  | { kind: "redacted"; line: Buffer; counts: Counts }
  | { kind: "withheld"; reply: Buffer; error: string };

const CLEAN: ResponseRedaction = { kind: "clean" };

/** Why a result of `bytes` bytes is withheld, as the client and the audit log read it. */
export function tooLarge(bytes: number, redaction: CompiledRedaction): string {
  return `it was ${bytes} bytes, larger than ${redaction.rule}.max_bytes (${redaction.maxBytes} bytes), so it could not be scanned for secrets`;
}

/** The isError result that stands in for a withheld one. */
export function withheldReply(id: Id, tool: string, why: string, modern: boolean): Buffer {
  return resultReply(id, {
    isError: true,
    content: [{ type: "text", text: `mcpgate withheld the result of ${tool}: ${why}` }],
    _meta: { "mcpgate/withheld": why },
    ...(modern ? { resultType: "complete" } : {}),
  });
}

/** The counts as the audit log and _meta write them. */
export function countsObject(counts: Counts): Record<string, number> {
  return Object.fromEntries(counts);
}

/**
 * The answer `buf` (one message; `members` its top-level members) to a call of `tool`, redacted:
 * its result (with the counts in its _meta) or its error. Clean when nothing matched.
 */
export function redactResponse(buf: Buffer, members: Span[], id: Id, tool: string, redaction: CompiledRedaction, modern: boolean): ResponseRedaction {
  const size = buf.length;
  if (size > redaction.maxBytes) {
    const why = tooLarge(size, redaction);
    return { kind: "withheld", reply: withheldReply(id, tool, why, modern), error: `result withheld: ${why}` };
  }
  const result = member(members, "result");
  const span = result ?? member(members, "error");
  if (span === undefined) return CLEAN;
  try {
    const redacted = redactMember(buf, span, redaction.scanner, result !== undefined);
    return redacted === undefined ? CLEAN : { kind: "redacted", ...redacted };
  } catch (error) {
    const why = `it could not be decoded to be scanned for secrets (${(error as Error)?.message ?? String(error)})`;
    return { kind: "withheld", reply: withheldReply(id, tool, why, modern), error: `result withheld: ${why}` };
  }
}

/**
 * A server notification, redacted under all_tools' `redact` if it is a log message; undefined
 * when it is sent as it came. A log message that is too large or cannot be decoded is dropped
 * (null): it answers nothing, so nothing stands in for it.
 */
export function redactLogMessage(buf: Buffer, method: string, members: Span[], redaction: CompiledRedaction | undefined): { line: Buffer; counts: Counts } | null | undefined {
  if (redaction === undefined || method !== "notifications/message") return undefined;
  if (buf.length > redaction.maxBytes) return null;
  const params = member(members, "params");
  if (params === undefined) return undefined;
  try {
    return redactMember(buf, params, redaction.scanner, true);
  } catch {
    return null;
  }
}
