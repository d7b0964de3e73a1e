// Usage mistakes that commander would answer with "unknown option '-y'" or "too many arguments",
// caught before it parses: a server command given without "--", and a command that does not exist.
import type { Command } from "commander";

export type Mistake = { kind: "no-separator"; corrected: string[] } | { kind: "unknown-command"; name: string };

/** Commands that take the server's argv after "--" (their own options come first). */
const TAKES_SERVER = new Set(["init"]);

/**
 * Where the first argument that is not one of `command`'s options (or an option's value) is in
 * `tokens`, and whether an option came before it. Undefined when there is none, or when an
 * option is unknown: commander's own message is right then.
 */
function firstOperand(command: Command, tokens: readonly string[]): { index: number; afterOption: boolean } | undefined {
  let afterOption = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.startsWith("-") || token === "-") return { index: i, afterOption };
    const equals = token.indexOf("=");
    const name = token.startsWith("--") && equals !== -1 ? token.slice(0, equals) : token;
    const option = command.options.find((candidate) => candidate.long === name || candidate.short === name);
    if (option === undefined) return undefined;
    afterOption = true;
    if ((option.required || option.optional) && equals === -1) i++;
  }
  return undefined;
}

/** The mistake in `argv` (everything mcpgate was given), if it is one of the two above. */
export function findMistake(program: Command, argv: readonly string[]): Mistake | undefined {
  const separator = argv.indexOf("--");
  const ours = separator === -1 ? argv : argv.slice(0, separator);
  const first = firstOperand(program, ours);
  if (first === undefined) return undefined;
  const name = ours[first.index]!;
  const command = program.commands.find((candidate) => candidate.name() === name || candidate.aliases().includes(name));
  const corrected = (at: number): Mistake => ({ kind: "no-separator", corrected: [...argv.slice(0, at), "--", ...argv.slice(at)] });
  if (command === undefined) {
    if (name === "help") return undefined;
    // After --policy and the like, a word that is no command is the server's.
    return first.afterOption ? corrected(first.index) : { kind: "unknown-command", name };
  }
  if (!TAKES_SERVER.has(command.name())) return undefined;
  const start = first.index + 1;
  const server = firstOperand(command, ours.slice(start));
  return server === undefined ? undefined : corrected(start + server.index);
}

/** A token as a POSIX shell reads it back: bare when it can be, else in single quotes. */
export function shellQuote(token: string): string {
  return /^[\w@%+=:,./-]+$/.test(token) ? token : `'${token.replaceAll("'", "'\\''")}'`;
}

/** What mcpgate says about `mistake`, the fix included: a headline, then the lines under it. */
export function mistakeMessage(program: Command, mistake: Mistake): [headline: string, ...details: string[]] {
  if (mistake.kind === "no-separator") return ["put the server command after --, as in:", `  mcpgate ${mistake.corrected.map(shellQuote).join(" ")}`];
  const rows: Array<[string, string]> = [[`mcpgate ${program.usage()}`, "wrap a server (the main job)"]];
  for (const command of program.commands) rows.push([`mcpgate ${command.name()} ${command.usage()}`, command.description()]);
  rows.push(["mcpgate help [COMMAND]", "help for a command"]);
  const width = Math.max(...rows.map(([usage]) => usage.length));
  return [`unknown command '${mistake.name}'. The commands are:`, ...rows.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`)];
}
