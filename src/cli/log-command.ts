// `mcpgate log [AUDIT_FILE]`: the audit log's calls, one line each (time, server, tool,
// decision, rule, reason, duration), filtered; --json prints the selected events as written,
// --summary a table per server and tool (with --json, its rows as a JSON array), --follow keeps reading as the log grows and rotates.
// Colours only when stdout is a terminal.
import { Chalk, supportsColor, type ChalkInstance } from "chalk";
import { defaultAuditPath } from "../audit/log.ts";
import { follow, readWhole, type FollowSink } from "../audit/follow.ts";
import { AuditReader, DECISIONS, selected, serverName, type LoggedCall, type Decision, type Filter } from "../audit/reader.ts";
import { compileGlob } from "../policy/glob.ts";
import { parseWindow } from "../policy/duration.ts";
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { printError } from "./log.ts";
import { summarize, summaryTable } from "./log-summary.ts";

export interface LogOptions {
  session?: string;
  server?: string;
  tool?: string;
  decision?: string;
  since?: string;
  follow?: boolean;
  summary?: boolean;
  json?: boolean;
}

/** The filter the options describe, or the sentence saying which option is wrong. */
export function parseFilter(options: LogOptions, now = Date.now()): Filter | string {
  const filter: Filter = {};
  if (options.session !== undefined) filter.session = options.session;
  if (options.server !== undefined) filter.server = options.server;
  if (options.tool !== undefined) {
    try {
      filter.tool = compileGlob(options.tool);
    } catch (error) {
      return `--tool: ${(error as Error).message}`;
    }
  }
  if (options.decision !== undefined) {
    if (!(DECISIONS as readonly string[]).includes(options.decision)) return `--decision: expected allow, deny or approve, got ${JSON.stringify(options.decision)}`;
    filter.decision = options.decision as Decision;
  }
  if (options.since !== undefined) {
    const window = parseWindow(options.since);
    const at = window !== undefined ? now - window : /^\d{4}-\d{2}-\d{2}/.test(options.since) ? Date.parse(options.since) : Number.NaN;
    if (Number.isNaN(at)) return `--since: expected a duration such as 30m, 1h, 2d or an ISO time such as 2026-05-01T12:00:00Z, got ${JSON.stringify(options.since)}`;
    filter.since = at;
  }
  return filter;
}

function text(value: unknown): string {
  return typeof value === "string" ? value.replace(/\s+/g, " ") : value === undefined ? "-" : JSON.stringify(value);
}

/** One call as a line: time, server, tool, decision, rule, reason, duration. */
export function formatCall({ event, server }: LoggedCall, chalk: ChalkInstance): string {
  const time = typeof event.ts === "string" ? event.ts.replace(/\.\d+Z$/, "Z") : "-";
  const decision = String(event.decision ?? "-");
  const shown = `${event.dry_run === true ? "WOULD " : ""}${decision.toUpperCase()}`;
  const paint = decision === "allow" ? chalk.green : decision === "deny" ? chalk.red : chalk.yellow;
  const approval = event.approval === undefined ? "" : ` (approval: ${text(event.approval)})`;
  const duration = typeof event.duration_ms === "number" ? `${event.duration_ms} ms` : "-";
  return [chalk.dim(time), serverName(server), chalk.bold(text(event.tool)), paint(shown) + approval, text(event.rule), text(event.reason), duration].join("  ");
}

export async function logCommand(file: string | undefined, options: LogOptions): Promise<number> {
  const filter = parseFilter(options);
  if (typeof filter === "string") {
    printError(filter);
    return EXIT_USAGE;
  }
  if (options.follow === true && options.summary === true) {
    printError("--summary reads the log to its end; it cannot be combined with --follow");
    return EXIT_USAGE;
  }
  const path = file ?? defaultAuditPath();
  const chalk = new Chalk({ level: process.stdout.isTTY ? (supportsColor ? supportsColor.level : 1) : 0 });
  const records: LoggedCall[] = [];
  const out: string[] = [];
  const flush = (): void => {
    if (out.length > 0) process.stdout.write(`${out.join("\n")}\n`);
    out.length = 0;
  };
  const show = (record: LoggedCall): string => (options.json === true ? record.line : formatCall(record, chalk));
  const reader = new AuditReader({
    // Read whole, the log is filtered and printed at its end, when each session's server name
    // is known (a call denied before the server answered initialize is named too); followed,
    // each call is printed as it comes, named as far as the log has said so far.
    call(record) {
      if (options.follow !== true) records.push(record);
      else if (selected(record, filter)) out.push(show(record));
    },
    malformed(lineNumber, problem) {
      flush();
      printError(`${path}:${lineNumber}: ${problem}; skipped`);
    },
  });
  const sink: FollowSink = {
    data(chunk) {
      reader.push(chunk);
      flush();
    },
    rotated() {
      reader.end();
      reader.restart();
      flush();
    },
  };
  try {
    if (options.follow === true) {
      follow(path, sink);
      // Runs until the process is stopped (Ctrl-C).
      return await new Promise<number>(() => {});
    }
    readWhole(path, sink);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    printError(code === "ENOENT" ? `no audit log at ${path}: pass the audit file (as given to --audit), or wrap a server first` : `cannot read the audit log ${path} (${code ?? (error as Error).message})`);
    return EXIT_INVALID;
  }
  reader.end();
  flush();
  const chosen = records.filter((record) => selected(record, filter));
  if (options.summary === true) process.stdout.write(options.json === true ? `${JSON.stringify(summarize(chosen))}\n` : summaryTable(summarize(chosen), chalk));
  else {
    out.push(...chosen.map(show));
    flush();
  }
  return EXIT_OK;
}
