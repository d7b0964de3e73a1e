// The relay's side of redaction (SPEC §13): which answers and log messages are redacted under
// the policy in force, what the client and the audit log get for them, and how much of a large
// line may be held to scan it (server-stream.ts asks). An answer larger than the tool's
// max_bytes, or one that cannot be decoded, is withheld whole: what was not scanned is not sent.
import type { CallAudit } from "../audit/call-event.ts";
import { redactMember } from "../redact/message.ts";
import type { Counts } from "../redact/scan-text.ts";
import type { CompiledRedaction } from "../redact/settings.ts";
import { member, type Id } from "../wire/message.ts";
import { errorReply, INTERNAL_ERROR, resultReply } from "../wire/reply.ts";
import { scanJson, type Span } from "../wire/scan.ts";
import { DROP, type ElementAnswer } from "./batch.ts";
import { notSent, type InFlight, type Pending } from "./in-flight.ts";
import type { LivePolicy } from "./live-policy.ts";
import type { Logger } from "./log.ts";

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

export interface RedactionsOptions {
  /** The policy in force, read at each use: a reload may swap it. */
  live: LivePolicy;
  inFlight: InFlight;
  audit: CallAudit;
  log: Logger;
  /** Sends one of mcpgate's own messages to the client. */
  send(bytes: Buffer): void;
  /** A request is settled: its batch's own answers may go out. */
  settle(pending: Pending): void;
}

export class Redactions {
  readonly #options: RedactionsOptions;

  constructor(options: RedactionsOptions) {
    this.#options = options;
  }

  /**
   * The answer to a call of `tool` as it goes to the client: redacted when the tool's results
   * are (see redaction.ts), else as it was (`rewritten`, or the bytes themselves). `audit` holds
   * what the audit log records of it: counts per detector, or why it was withheld.
   */
  answer(buf: Buffer, members: Span[], id: Id, rewritten: string | undefined, tool: string | undefined, modern: boolean): { answer: ElementAnswer; audit?: Record<string, unknown>; error?: string } {
    const redaction = tool === undefined ? undefined : this.#options.live.current.redactionFor(tool);
    if (redaction === undefined) return { answer: rewritten };
    let line = buf;
    let lineMembers = members;
    if (rewritten !== undefined) {
      line = Buffer.from(`${rewritten}\n`);
      const scanned = scanJson(line, {}, 0, line.length - 1);
      if (!scanned.ok || scanned.type !== "object") {
        const why = "it was rewritten into something that could not be scanned for secrets";
        return { answer: withheldReply(id, tool!, why, modern), audit: { error: `result withheld: ${why}` }, error: why };
      }
      lineMembers = scanned.members;
    }
    const outcome = redactResponse(line, lineMembers, id, tool!, redaction, modern);
    const { log } = this.#options;
    switch (outcome.kind) {
      case "clean":
        return { answer: rewritten };
      case "redacted": {
        const counts = countsObject(outcome.counts);
        log.warn(`redacted ${tool}'s result [${redaction.rule}]: ${Object.entries(counts).map(([name, count]) => `${name} ×${count}`).join(", ")}`);
        return { answer: outcome.line, audit: { redactions: counts } };
      }
      case "withheld":
        log.warn(`withheld ${tool}'s result [${redaction.rule}]: ${outcome.error}`);
        return { answer: outcome.reply, audit: { error: outcome.error }, error: outcome.error };
    }
  }

  /**
   * A streamed answer to a call whose results are redacted grew past its max_bytes (`bytes` so
   * far) and was dropped as it came: the client gets the withheld result instead.
   */
  withheld(pending: Pending, bytes: number): void {
    const { inFlight, audit, live, log } = this.#options;
    if (!inFlight.isOpen(pending)) return;
    inFlight.close(pending);
    const tool = pending.tool ?? pending.method;
    const redaction = pending.tool === undefined ? undefined : live.current.redactionFor(pending.tool);
    const why = redaction === undefined ? `it was over ${bytes} bytes, and was held for redaction while the tool it answered was not known yet` : tooLarge(bytes, redaction);
    log.warn(`withheld the answer to ${tool}: ${why}`);
    const reply = pending.method === "tools/call" ? withheldReply(pending.id, tool, why, pending.modern !== undefined) : errorReply(pending.id, INTERNAL_ERROR, `mcpgate: the server's answer was withheld: ${why}`);
    this.#options.send(reply);
    if (pending.call !== undefined) audit.forwarded(pending.call, pending.started, { is_error: true, error: `result withheld: ${why}` });
    this.#options.settle(pending);
  }

  /** How many bytes of a line answering `pending` may be held to redact it; undefined when it is not redacted. */
  holdLimit(pending: Pending): number | undefined {
    return pending.tool === undefined ? undefined : this.#options.live.current.redactionFor(pending.tool)?.maxBytes;
  }

  /** How many bytes of a line whose request is not known yet may be held: the most any call in flight may need. */
  holdLimitUnknown(response: boolean): number | undefined {
    const policy = this.#options.live.current;
    if (!policy.redacts) return undefined;
    let limit = response ? undefined : policy.logRedaction?.maxBytes;
    for (const pending of this.#options.inFlight.values()) {
      const own = !notSent(pending) ? this.holdLimit(pending) : undefined;
      if (own !== undefined && (limit === undefined || own > limit)) limit = own;
    }
    return limit;
  }

  /** How many bytes of a server notification or request (`method`, raw JSON; undefined if not read yet) may be held. */
  holdLimitMessage(method: string | undefined): number | undefined {
    const redaction = this.#options.live.current.logRedaction;
    if (redaction === undefined) return undefined;
    return method === undefined || method === '"notifications/message"' ? redaction.maxBytes : undefined;
  }

  /** A server notification as it goes to the client: a log message redacted, DROP if it had to be dropped, else undefined. */
  logMessage(buf: Buffer, method: string, members: Span[]): Buffer | typeof DROP | undefined {
    const redaction = this.#options.live.current.logRedaction;
    const redacted = redactLogMessage(buf, method, members, redaction);
    if (redacted === null) {
      this.#options.log.warn(`dropped a server log message of ${buf.length} bytes: it is larger than ${redaction!.rule}.max_bytes (${redaction!.maxBytes}) or could not be decoded to be scanned for secrets`);
      return DROP;
    }
    if (redacted === undefined) return undefined;
    this.#options.log.warn(`redacted a server log message [${redaction!.rule}]: ${[...redacted.counts].map(([name, count]) => `${name} ×${count}`).join(", ")}`);
    return redacted.line;
  }
}
