// The audit log's `call` events: what was decided about each call, and for a forwarded one how
// long it took and whether it failed. Arguments appear as sent when the policy says
// `audit: { include_args: true }`, else as the SHA-256 of their bytes exactly as the client
// sent them ("{}" when the call has none): hashing the bytes, not a re-serialization, costs no
// copy of a large call and tells apart what a re-serialization would merge (1e400 and null).
import { createHash } from "node:crypto";
import type { Verdict } from "../policy/decision.ts";
import { argumentsSpan } from "../wire/tools-call.ts";
import type { AuditLog } from "./log.ts";

export type ArgsField = { args: Record<string, unknown> } | { args_sha256: string };

/** The audit field for the arguments of the tools/call in `line` (one message), decoded as `args`. */
function argsField(line: Buffer, args: Record<string, unknown>, includeArgs: boolean): ArgsField {
  if (includeArgs) return { args };
  const span = argumentsSpan(line);
  const hash = createHash("sha256");
  hash.update(span === undefined ? "{}" : line.subarray(span.start, span.end));
  return { args_sha256: hash.digest("hex") };
}

/** A call as forwarded: enough to record it when its answer comes. */
export interface CallRecord {
  tool: string;
  verdict: Verdict;
  field: ArgsField | undefined;
  approval?: "accepted" | "session";
}

export interface CallAuditOptions {
  audit: AuditLog;
  /** Whether the policy in force logs raw arguments. */
  includeArgs(): boolean;
  /** Who the client said it is, once it has. */
  client(): { name?: string; version?: string };
  /** What the server said it is in its initialize result, once it has. */
  server(): { name?: string; version?: string };
  /** The server's command (argv), as the start event records it. */
  command?: readonly string[] | undefined;
  now(): number;
  warn(message: string): void;
}

/** Writes `call` events. A record that cannot be built or written costs that record, never the message. */
export class CallAudit {
  readonly #options: CallAuditOptions;

  constructor(options: CallAuditOptions) {
    this.#options = options;
  }

  /** False when nothing would be written: callers skip preparing records. */
  get enabled(): boolean {
    return this.#options.audit.enabled;
  }

  /** The arguments' field for records of this call, or undefined when not auditing. */
  field(line: Buffer, args: Record<string, unknown>): ArgsField | undefined {
    return this.enabled ? argsField(line, args, this.#options.includeArgs()) : undefined;
  }

  denied(verdict: Verdict, field: ArgsField | undefined, extra: Record<string, unknown> = {}): void {
    this.#write(() => ({
      event: "call",
      tool: verdict.tool,
      decision: "deny",
      rule: verdict.rule,
      reason: verdict.reason,
      ...(verdict.retryAfterMs === undefined ? {} : { retry_after_ms: verdict.retryAfterMs }),
      ...extra,
      ...field,
    }));
  }

  /** A dry run forwarded a call the policy would have denied or asked a human about. */
  wouldHave(decision: "deny" | "approve", verdict: Verdict, field: ArgsField | undefined): void {
    this.#write(() => ({ event: "call", tool: verdict.tool, decision, dry_run: true, rule: verdict.rule, reason: verdict.reason, ...field }));
  }

  /** A forwarded call ended (answered, failed, cancelled), `started` on the same clock as now(). */
  forwarded(call: CallRecord, started: number, outcome: Record<string, unknown>): void {
    this.#write(() => ({
      event: "call",
      tool: call.tool,
      decision: "allow",
      rule: call.verdict.rule,
      reason: call.verdict.reason,
      ...(call.approval === undefined ? {} : { approval: call.approval }),
      ...call.field,
      duration_ms: Math.round((this.#options.now() - started) * 1000) / 1000,
      ...outcome,
    }));
  }

  /** mcpgate failed while handling a message (which was not forwarded): an `error` event. */
  fault(what: string, message: string): void {
    if (!this.enabled) return;
    try {
      this.#options.audit.write({ event: "error", while: what, error: message });
    } catch (error) {
      this.#options.warn(`could not write an audit record (${(error as Error)?.message ?? String(error)})`);
    }
  }

  /** Which server a record is about: `{ name?, command }`, so a log shared by many servers reads on its own. */
  #server(): { name?: string; command?: readonly string[] } | undefined {
    const { name } = this.#options.server();
    const { command } = this.#options;
    if (name === undefined && command === undefined) return undefined;
    return { ...(name === undefined ? {} : { name }), ...(command === undefined ? {} : { command }) };
  }

  #write(build: () => Record<string, unknown> & { event: "call" }): void {
    if (!this.enabled) return;
    try {
      const client = this.#options.client();
      const server = this.#server();
      this.#options.audit.write({ ...build(), ...(client.name === undefined ? {} : { client }), ...(server === undefined ? {} : { server }) });
    } catch (error) {
      this.#options.warn(`could not write an audit record (${(error as Error)?.message ?? String(error)})`);
    }
  }
}
