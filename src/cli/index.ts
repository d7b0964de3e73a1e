// The executable's entry: run, flush stdout, exit with the code main() chose.
import { EXIT_INTERNAL } from "./exit-codes.ts";
import { main } from "./main.ts";

function flushThenExit(code: number): void {
  const stdout = process.stdout;
  if (stdout.writableLength === 0 || stdout.destroyed) process.exit(code);
  const timer = setTimeout(() => process.exit(code), 5_000);
  timer.unref();
  stdout.once("error", () => process.exit(code));
  stdout.write("", () => process.exit(code));
}

main(process.argv.slice(2)).then(flushThenExit, (error: unknown) => {
  process.stderr.write(`mcpgate: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  flushThenExit(EXIT_INTERNAL);
});
