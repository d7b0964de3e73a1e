// Command-line wiring. Everything after the first "--" is the server's argv, untouched by
// option parsing, so server flags can never be mistaken for ours.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { check, type CheckOptions } from "./check.ts";
import { counters, type CountersOptions } from "./counters.ts";
import { EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { channelProblem, explain, type ExplainOptions } from "./explain.ts";
import { init, type InitOptions } from "./init.ts";
import { install, uninstall, type InstallOptions, type UninstallOptions } from "./install.ts";
import { CLIENT_NAMES, clientNameProblem, type ClientName } from "../install/clients.ts";
import { logCommand, type LogOptions } from "./log-command.ts";
import { pinsAccept, pinsClear, pinsList, type PinsAcceptOptions, type PinsClearOptions, type PinsListOptions } from "./pins.ts";
import { printError } from "./log.ts";
import { replayCommand, type ReplayOptions } from "./replay.ts";
import type { Channel } from "../policy/verdict.ts";
import { findMistake, mistakeMessage } from "./usage.ts";
import { wrap, type WrapOptions } from "./wrap.ts";

declare const MCPGATE_VERSION: string;
const version = typeof MCPGATE_VERSION === "string" ? MCPGATE_VERSION : "0.0.0-dev";

function parseMs(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`expected a whole number of milliseconds, got ${JSON.stringify(text)}`);
  return value;
}

/** A blank approver would run `sh -c ""`, which exits 0: it would approve everything. */
function parseCommand(text: string): string {
  if (text.trim() === "") throw new InvalidArgumentError("expected a command; an empty one would approve every call");
  return text;
}

function parseChannel(text: string): Channel {
  const problem = channelProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return text as Channel;
}

/** Repeatable --client: each one a client mcpgate knows. */
function collectClient(text: string, previous: ClientName[] = []): ClientName[] {
  const problem = clientNameProblem(text);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return [...previous, text as ClientName];
}

const collect = (text: string, previous: string[] = []): string[] => [...previous, text];

export async function main(argv: string[]): Promise<number> {
  const separator = argv.indexOf("--");
  const ours = separator === -1 ? argv : argv.slice(0, separator);
  const server = separator === -1 ? [] : argv.slice(separator + 1);
  let result: Promise<number> | number = EXIT_OK;

  const program = new Command("mcpgate")
    .description("A policy gateway for MCP servers: checks every tools/call against a policy file before the server sees it.")
    .usage("--policy FILE [options] -- COMMAND [ARGS...]")
    .version(version, "-V, --version")
    .option("-p, --policy <file>", "policy file, YAML or JSON (default: $MCPGATE_POLICY)")
    .option("--audit <file>", 'append audit events (JSON Lines) to FILE; "-" for stderr (default: the user state directory)')
    .option("--no-audit", "write no audit log")
    .option("--dry-run", 'judge every call and log "would deny", but forward all of them')
    .option("--approver <command>", "shell command asked about calls that need approval: gets the call as JSON on stdin, exit 0 approves (default: ask the client by elicitation)", parseCommand)
    .option("--no-watch", "do not watch the policy file; by default a change to it is loaded without a restart")
    .option("-v, --verbose", "log every decision and lifecycle step to stderr")
    .option("--shutdown-grace <ms>", "how long the server gets to exit after its stdin closes, and again after SIGTERM", parseMs, 2000)
    .addHelpText(
      "after",
      `
Examples:
  mcpgate --policy policy.yaml -- npx -y bash-mcp
  mcpgate init -o policy.yaml -- npx -y bash-mcp
  mcpgate check policy.yaml other.json

In an MCP client config (Claude Desktop, Cursor, VS Code, Claude Code):
  "command": "npx",
  "args": ["-y", "mcpgate", "--policy", "/abs/path/policy.yaml", "--", "npx", "-y", "bash-mcp"]`,
    )
    .exitOverride()
    .action((options: WrapOptions) => {
      result = wrap(server, options, version);
    });

  program
    .command("check")
    .description("validate policy files; exit 0 if all are valid, 1 if any is not")
    .argument("[files...]", "policy files (default: $MCPGATE_POLICY)")
    .option("--json", "machine-readable output: [{ file, ok, problems, warnings }]")
    .action((files: string[], options: CheckOptions) => {
      result = check(files, options);
    });

  program
    .command("explain")
    .description("print the decision for one call and every check behind it, without starting a server; exit 0 allow, 1 deny, 3 approve")
    .argument("<tool>", "tool name")
    .argument("[json_args]", "the call's arguments as a JSON object")
    .option("-p, --policy <file>", "policy file (default: $MCPGATE_POLICY)")
    .option("--json", "machine-readable output")
    .option("--channel <channel>", "how the relay could ask a human about a call needing approval: elicitation (the client), approver (--approver), or none, under which such a call is denied", parseChannel, "elicitation")
    .addHelpText("after", "\nAfter --, the server's command (as wrapped): the tool is judged with that server's stored pins too (policy key pins).")
    .action((tool: string, json: string | undefined, options: ExplainOptions, command: Command) => {
      // --policy before the subcommand's arguments is parsed as the program's own option.
      const policy = options.policy ?? (command.parent?.opts() as WrapOptions | undefined)?.policy;
      result = explain(tool, json, { ...options, ...(policy === undefined ? {} : { policy }) }, server);
    });

  program
    .command("replay")
    .description("re-decide the calls an audit log recorded under another policy, and print those whose decision would change")
    .usage("--policy FILE [AUDIT_FILE] [--json]")
    .argument("[audit_file]", "the audit log (default: the user state directory's)")
    .option("-p, --policy <file>", "the policy to replay (default: $MCPGATE_POLICY)")
    .option("--json", "one JSON object per changed or undetermined call, then a summary object (JSON Lines)")
    .action((file: string | undefined, options: ReplayOptions, command: Command) => {
      // --policy before the subcommand is parsed as the program's own option.
      const policy = options.policy ?? (command.parent?.opts() as WrapOptions | undefined)?.policy;
      result = replayCommand(file, { ...options, ...(policy === undefined ? {} : { policy }) });
    });

  program
    .command("init")
    .description("start a server, list its tools, and write a starter policy that names them")
    .usage("[-o FILE] [options] -- COMMAND [ARGS...]")
    .option("-o, --output <file>", 'write the policy to FILE (default: stdout, or "-")')
    .option("--force", "overwrite FILE if it exists")
    .option("--timeout <ms>", "how long the server gets to answer each request", parseMs, 30_000)
    .action((options: InitOptions) => {
      result = init(server, options, version);
    });

  program
    .command("install")
    .description("run the stdio servers in your MCP client configs through mcpgate, backing up each file first")
    .usage("--policy FILE [--client NAME] [--server NAME] [--dry-run]")
    .option("-p, --policy <file>", "policy file; its absolute path goes into the configs (default: $MCPGATE_POLICY)")
    .option("--client <name>", `only this client's configs: ${CLIENT_NAMES.join(", ")} (repeatable)`, collectClient)
    .option("--server <name>", "only the server of this name (repeatable)", collect)
    .option("--dry-run", "print the diff of each file instead of writing it")
    .action((options: InstallOptions, command: Command) => {
      // --policy and --dry-run are also the program's own options, which commander gives them to.
      const parent = (command.parent?.opts() ?? {}) as WrapOptions & { dryRun?: boolean };
      const policy = options.policy ?? parent.policy;
      result = install({ ...options, ...(policy === undefined ? {} : { policy }), dryRun: options.dryRun === true || parent.dryRun === true });
    });

  program
    .command("uninstall")
    .description("give the servers install wrapped their own commands back")
    .usage("[--client NAME] [--server NAME] [--dry-run]")
    .option("--client <name>", `only this client's configs: ${CLIENT_NAMES.join(", ")} (repeatable)`, collectClient)
    .option("--server <name>", "only the server of this name (repeatable)", collect)
    .option("--dry-run", "print the diff of each file instead of writing it")
    .action((options: UninstallOptions, command: Command) => {
      const parent = (command.parent?.opts() ?? {}) as { dryRun?: boolean };
      result = uninstall({ ...options, dryRun: options.dryRun === true || parent.dryRun === true });
    });

  program
    .command("log")
    .description("print the audit log's calls, filtered, or a table per server and tool (--summary)")
    .argument("[audit_file]", "the audit log (default: the user state directory's, as the gateway writes it)")
    .option("--session <id>", "only this session (an id or a prefix of one)")
    .option("--server <name>", "only this server: its serverInfo name, or an element of its command (or that element's file name)")
    .option("--tool <glob>", "only tools matching the glob")
    .option("--decision <decision>", "only allow, deny, or approve (calls a human was asked about)")
    .option("--since <when>", "only calls since a duration ago (30m, 1h, 2d) or an ISO time")
    .option("-f, --follow", "keep reading as the log grows, across rotation (Ctrl-C stops)")
    .option("--summary", "a table per server and tool: calls, allowed, denied, approved, p50/p95 duration")
    .option("--json", "print the selected call events as JSON Lines, as written (with --summary: its rows as a JSON array)")
    .action((file: string | undefined, options: LogOptions) => {
      result = logCommand(file, options);
    });

  program
    .command("counters")
    .description("print each scope: global counter's use in the shared store, and when it frees up (nothing is counted)")
    .option("-p, --policy <file>", "policy file (default: $MCPGATE_POLICY)")
    .option("--json", "machine-readable output: [{ counter, rule, max, window, used, freesInMs? }]")
    .action((options: CountersOptions, command: Command) => {
      const policy = options.policy ?? (command.parent?.opts() as WrapOptions | undefined)?.policy;
      result = counters({ ...options, ...(policy === undefined ? {} : { policy }) });
    });

  const pins = program
    .command("pins")
    .description("the pins of tool definitions (policy key pins): list them, accept a change, clear them")
    .usage("[list|accept|clear] [options]");
  pins
    .command("list", { isDefault: true })
    .description("each server's pinned tools, and those changed or new since, with the command that accepts each")
    .argument("[server]", "only this server: its id (or a prefix), its serverInfo name, or an element of its command")
    .option("--server <name>", "the same as [server]")
    .option("-p, --policy <file>", "also say what this policy's pins settings do with each change (default: $MCPGATE_POLICY)")
    .option("--json", "machine-readable output")
    .action((selector: string | undefined, options: PinsListOptions) => {
      const policy = options.policy ?? (program.opts() as WrapOptions).policy;
      result = pinsList(selector, { ...options, ...(policy === undefined ? {} : { policy }) });
    });
  pins
    .command("accept")
    .description("pin the definition a session saw of a changed or new tool, so it passes again")
    .usage("[SERVER] TOOL [--sha256 PREFIX] | SERVER --all")
    .argument("[operands...]", "the server (id, serverInfo name, or command element; optional when one server saw TOOL) and the tool")
    .option("--server <name>", "the server, given as an option: then every operand is a tool")
    .option("--sha256 <prefix>", "accept only if the definition seen has this hash (the denial's command says it)")
    .option("--all", "accept every change and new tool of the server")
    .action((operands: string[], options: PinsAcceptOptions) => {
      result = pinsAccept([...operands, ...server], options);
    });
  pins
    .command("clear")
    .description("forget pins: a server's, some of its tools', or (--all) every server's; the next session pins afresh")
    .usage("SERVER [TOOL...] | --all")
    .argument("[operands...]", "the server, then tools (default: all of its tools)")
    .option("--server <name>", "the server, given as an option: then every operand is a tool")
    .option("--all", "every server's pins")
    .action((operands: string[], options: PinsClearOptions) => {
      result = pinsClear([...operands, ...server], options);
    });
  for (const command of pins.commands) command.exitOverride();

  for (const command of program.commands) command.exitOverride();
  program.addOption(new Option("--no-color", "no colours on stderr").hideHelp());
  program.helpCommand("help [command]", "help for a command");

  const mistake = findMistake(program, argv);
  if (mistake !== undefined) {
    const [headline, ...details] = mistakeMessage(program, mistake);
    printError(headline);
    for (const line of details) process.stderr.write(`${line}\n`);
    return EXIT_USAGE;
  }

  try {
    await program.parseAsync(ours, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw error;
  }
  return result;
}
