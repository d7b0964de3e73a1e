// The executable's entry: run, flush stdout, exit with the code main() chose — or 70 after an
// internal error, once what was running has stopped (see internal-error.ts).
import { describeInternalError, stopForInternalError } from "./internal-error.ts";
import { EXIT_INTERNAL } from "./exit-codes.ts";
import { main } from "./main.ts";

let failed = false;

function flushThenExit(code: number): void {
  const stdout = process.stdout;
  if (stdout.writableLength === 0 || stdout.destroyed) process.exit(code);
  const timer = setTimeout(() => process.exit(code), 5_000);
  timer.unref();
  stdout.once("error", () => process.exit(code));
  stdout.write("", () => process.exit(code));
}

/** One stderr line, then the server's stop ladder; main() ends when the server has, and we exit 70. */
function internalError(error: unknown): void {
  if (failed) return; // already stopping: one line, one ladder
  failed = true;
  process.exitCode = EXIT_INTERNAL; // should the event loop empty before main() ends
  process.stderr.write(`mcpgate: internal error: ${describeInternalError(error)}\n`);
  if (!stopForInternalError()) flushThenExit(EXIT_INTERNAL);
}

process.on("uncaughtException", internalError);
process.on("unhandledRejection", internalError);
main(process.argv.slice(2)).then(
  (code) => flushThenExit(failed ? EXIT_INTERNAL : code),
  (error: unknown) => (failed ? flushThenExit(EXIT_INTERNAL) : internalError(error)),
);
