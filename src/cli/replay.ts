// `mcpgate replay --policy FILE [AUDIT_FILE] [--json]`: what a policy would have decided about
// the calls an audit log recorded. Prints the calls whose decision would change, and those it
// cannot decide (hashed arguments under rules that read them), then a summary. Exit 0 whatever
// changed: replay reports, it does not gate; 1 when the policy or the audit file is unusable.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Chalk, supportsColor, type ChalkInstance } from "chalk";
import { defaultAuditPath } from "../audit/log.ts";
import type { Effect } from "../policy/decision.ts";
import { readAuditCalls, type LineProblem } from "../replay/read.ts";
import { replay, type ReplayOutcome, type ReplaySummary } from "../replay/replay.ts";
import { EXIT_INVALID, EXIT_OK } from "./exit-codes.ts";
import { printError, stderrLogger } from "./log.ts";
import { storedPinFacts } from "./pins.ts";
import { requirePolicy } from "./policy.ts";

export interface ReplayOptions {
  policy?: string;
  json?: boolean;
}

/** Malformed lines reported one by one; past this many, only their count. */
const PROBLEMS_SHOWN = 20;

/** The audit file's text, or undefined after saying why it cannot be read. */
function readAudit(file: string, given: boolean): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      const where = given ? `(working directory ${process.cwd()})` : "(the default location: pass AUDIT_FILE for a log written elsewhere with --audit)";
      printError(`no audit log at ${resolve(file)} ${where}`);
    } else {
      printError(`cannot read the audit log ${file}: ${code ?? (error as Error).message}`);
    }
    return undefined;
  }
}

function reportProblems(file: string, problems: LineProblem[]): void {
  const warn = stderrLogger(false).warn;
  for (const problem of problems.slice(0, PROBLEMS_SHOWN)) warn(`${file}:${problem.line}: ${problem.message}; line skipped`);
  if (problems.length > PROBLEMS_SHOWN) warn(`${file}: ${problems.length - PROBLEMS_SHOWN} more malformed lines skipped`);
}

/** One changed or undetermined call as a JSON object (snake_case, as the audit log). */
export function outcomeJson(outcome: ReplayOutcome): object {
  const { call } = outcome;
  const base = { line: call.line, ts: call.ts, session: call.session, tool: call.tool, recorded: call.recorded, recorded_rule: call.rule };
  if (outcome.status === "undetermined") return { type: "undetermined", ...base, needs_args: outcome.needs };
  const { verdict } = outcome;
  return { type: "changed", ...base, decision: verdict.effect, rule: verdict.rule, reason: verdict.reason, ...(verdict.retryAfterMs === undefined ? {} : { retry_after_ms: verdict.retryAfterMs }) };
}

export function summaryJson(summary: ReplaySummary, skippedLines: number): object {
  const { calls, sessions, unchanged, changed, undetermined, allowToDeny, denyToAllow, toApprove, fromApprove } = summary;
  return { type: "summary", calls, sessions, unchanged, changed, allow_to_deny: allowToDeny, deny_to_allow: denyToAllow, to_approve: toApprove, from_approve: fromApprove, undetermined, skipped_lines: skippedLines };
}

const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

/** "Replayed 5 calls in 2 sessions: 3 unchanged, 1 changed (1 allow → deny), 1 undetermined." */
export function summaryText(summary: ReplaySummary): string {
  const parts = [
    [summary.allowToDeny, "allow → deny"],
    [summary.denyToAllow, "deny → allow"],
    [summary.toApprove, "→ approve"],
    [summary.fromApprove, "approve →"],
  ] as const;
  const breakdown = parts.filter(([count]) => count > 0).map(([count, what]) => `${count} ${what}`);
  const changed = `${summary.changed} changed${breakdown.length === 0 ? "" : ` (${breakdown.join(", ")})`}`;
  return `Replayed ${plural(summary.calls, "call")} in ${plural(summary.sessions, "session")}: ${summary.unchanged} unchanged, ${changed}, ${summary.undetermined} undetermined.`;
}

function paint(chalk: ChalkInstance, effect: Effect | "?"): string {
  const word = effect.toUpperCase();
  return effect === "allow" ? chalk.green(word) : effect === "deny" ? chalk.red(word) : effect === "approve" ? chalk.yellow(word) : chalk.magenta(word);
}

/** One line per changed or undetermined call: time, session (first 8), tool, recorded → now, why. */
export function outcomeText(outcome: ReplayOutcome, chalk: ChalkInstance): string {
  const { call } = outcome;
  const head = `${chalk.dim(call.ts)}  ${call.session.slice(0, 8)}  ${chalk.bold(call.tool)}  ${paint(chalk, call.recorded)} → `;
  if (outcome.status === "undetermined") {
    const [first, ...rest] = outcome.needs;
    const more = rest.length === 0 ? "" : ` (and ${plural(rest.length, "other rule")})`;
    return `${head}${paint(chalk, "?")}  undetermined: ${first}${more} reads the arguments, which the log holds only as a hash (audit: { include_args: true } records them)`;
  }
  const { verdict } = outcome;
  return `${head}${paint(chalk, verdict.effect)}  ${verdict.rule}: ${chalk.dim(verdict.reason)}`;
}

export function replayCommand(auditFile: string | undefined, options: ReplayOptions): number {
  const loaded = requirePolicy(options.policy);
  if (typeof loaded === "number") return loaded;
  const { policy } = loaded;
  const file = auditFile ?? defaultAuditPath();
  const text = readAudit(file, auditFile !== undefined);
  if (text === undefined) return EXIT_INVALID;

  const { calls, problems } = readAuditCalls(text);
  reportProblems(file, problems);
  // The pins stored now, read once per server and tool (a log holds many calls of each).
  const pinsSeen = new Map<string, ReturnType<typeof storedPinFacts>>();
  const pinsFor = (command: readonly string[], tool: string) => {
    const key = JSON.stringify([command, tool]);
    if (!pinsSeen.has(key)) pinsSeen.set(key, storedPinFacts(command, tool));
    return pinsSeen.get(key)?.facts;
  };
  const { outcomes, summary } = replay(policy, calls, policy.pins === undefined ? undefined : pinsFor);
  const shown = outcomes.filter((outcome) => outcome.status !== "unchanged");
  if (options.json) {
    const lines = [...shown.map(outcomeJson), summaryJson(summary, problems.length)].map((value) => JSON.stringify(value));
    process.stdout.write(`${lines.join("\n")}\n`);
    return EXIT_OK;
  }
  // Colours only when stdout is a terminal, as for any report meant for a person.
  const chalk = new Chalk({ level: process.stdout.isTTY ? (supportsColor ? supportsColor.level : 1) : 0 });
  const lines = shown.map((outcome) => outcomeText(outcome, chalk));
  if (lines.length > 0) lines.push("");
  lines.push(chalk.bold(summaryText(summary)));
  process.stdout.write(`${lines.join("\n")}\n`);
  return EXIT_OK;
}
