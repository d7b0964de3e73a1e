// Diagnostics go to stderr, prefixed "mcpgate:", coloured only when stderr is a terminal.
// stdout belongs to the protocol.
import { chalkStderr as chalk } from "chalk";
import type { Logger } from "../relay/log.ts";

export function stderrLogger(verbose: boolean): Logger {
  const prefix = chalk.dim("mcpgate:");
  return {
    verbose,
    warn: (message) => process.stderr.write(`${prefix} ${chalk.yellow(message)}\n`),
    info: verbose ? (message) => process.stderr.write(`${prefix} ${message}\n`) : () => {},
  };
}

export function printError(message: string): void {
  process.stderr.write(`${chalk.dim("mcpgate:")} ${chalk.red(message)}\n`);
}
