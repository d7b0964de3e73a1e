// The audit log as `mcpgate replay` needs it: the recorded `call` events, each with its line
// number, session, time and recorded decision. Self-contained on purpose (a few dozen lines):
// replay reads only what it re-decides, and a line it cannot use is reported, never guessed at.
import type { Effect } from "../policy/decision.ts";

/** One recorded tools/call, as replay re-decides it. */
export interface RecordedCall {
  /** 1-based line number in the audit file. */
  line: number;
  ts: string;
  /**
   * When the call was judged, in milliseconds since the epoch: the clock limits are replayed on.
   * A forwarded call's event is written when its answer comes, so its `ts` less `duration_ms`.
   */
  at: number;
  session: string;
  tool: string;
  /** What was decided: the event's `decision`, or "approve" when a human was asked. */
  recorded: Effect;
  /** The rule the recorded decision named. */
  rule: string;
  /** The arguments as sent (audit include_args), or undefined when only their hash was logged. */
  args: Record<string, unknown> | undefined;
  /** The server's command line, as the record names it (for the pins stored for that server). */
  server?: string[];
}

/** A line that could not be used, and why. */
export interface LineProblem {
  line: number;
  message: string;
}

export interface AuditCalls {
  calls: RecordedCall[];
  problems: LineProblem[];
}

/** Events written without a session (never by mcpgate itself) are grouped under this name. */
export const NO_SESSION = "(no session)";

const DECISIONS: ReadonlySet<string> = new Set(["allow", "deny", "approve"]);
/** How verdict.ts words a call that needed a human when no channel could ask one: recorded as deny. */
const NO_CHANNEL = "no approval channel exists";

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * What the gateway decided about the call, as policy effects compare: a human asked (an
 * `approval` field, or a denial because no channel could ask one) is "approve", whatever
 * the human answered; a dry run's "would deny/approve" is what the policy said.
 */
function recordedEffect(event: Record<string, unknown>): Effect {
  if (event.approval !== undefined) return "approve";
  if (event.decision === "deny" && typeof event.reason === "string" && event.reason.includes(NO_CHANNEL)) return "approve";
  return event.decision as Effect;
}

/** Why a parsed `call` event cannot be replayed, or undefined. */
function callProblem(event: Record<string, unknown>): string | undefined {
  if (typeof event.tool !== "string") return `a call event needs a string "tool", got ${JSON.stringify(event.tool) ?? "nothing"}`;
  if (typeof event.decision !== "string" || !DECISIONS.has(event.decision)) return `a call event needs "decision" allow, deny or approve, got ${JSON.stringify(event.decision) ?? "nothing"}`;
  if (typeof event.ts !== "string" || Number.isNaN(Date.parse(event.ts))) return `a call event needs "ts" as an ISO time, got ${JSON.stringify(event.ts) ?? "nothing"}`;
  if (event.args !== undefined && !isObject(event.args)) return `"args" must be an object, got ${JSON.stringify(event.args)}`;
  return undefined;
}

/** The `call` events of an audit log's text, in file order; other events are skipped silently. */
export function readAuditCalls(text: string): AuditCalls {
  const calls: RecordedCall[] = [];
  const problems: LineProblem[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const source = lines[index]!.trim();
    if (source === "") continue;
    const line = index + 1;
    let event: unknown;
    try {
      event = JSON.parse(source);
    } catch {
      // Not the parser's message: it quotes the line (arguments, perhaps) and differs by Node version.
      problems.push({ line, message: `expected a JSON object, got a line that is not JSON (${source.length} characters)` });
      continue;
    }
    if (!isObject(event)) {
      problems.push({ line, message: `expected a JSON object, got ${Array.isArray(event) ? "an array" : JSON.stringify(event)}` });
      continue;
    }
    if (event.event !== "call") continue;
    const problem = callProblem(event);
    if (problem !== undefined) {
      problems.push({ line, message: problem });
      continue;
    }
    const ts = event.ts as string;
    calls.push({
      line,
      ts,
      at: Date.parse(ts) - (typeof event.duration_ms === "number" && event.duration_ms > 0 ? event.duration_ms : 0),
      session: typeof event.session === "string" && event.session !== "" ? event.session : NO_SESSION,
      tool: event.tool as string,
      recorded: recordedEffect(event),
      rule: typeof event.rule === "string" ? event.rule : "",
      args: event.args as Record<string, unknown> | undefined,
      ...serverCommand(event),
    });
  }
  return { calls, problems };
}

/** The record's `server.command`, when it is a list of strings. */
function serverCommand(event: Record<string, unknown>): { server?: string[] } {
  const command = isObject(event.server) ? event.server.command : undefined;
  return Array.isArray(command) && command.every((part) => typeof part === "string") ? { server: command as string[] } : {};
}
