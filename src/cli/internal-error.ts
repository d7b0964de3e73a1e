// A fault of mcpgate itself (an uncaught exception, an unhandled rejection) ends the process,
// but not before the server is stopped the polite way: it may be running shell commands, and
// a gateway gone without a word would leave it to notice alone. What is running registers how
// to stop it; the entry (index.ts) reports the error, asks for the stop, and exits when it is done.
import { inspect } from "node:util";

const stops = new Set<(why: string) => void>();

/** Registers how to stop what is running if mcpgate fails; returns the function that unregisters it. */
export function onInternalError(stop: (why: string) => void): () => void {
  stops.add(stop);
  return () => stops.delete(stop);
}

/** Starts every registered stop; returns whether there was any, i.e. whether something is still ending. */
export function stopForInternalError(): boolean {
  const running = [...stops];
  for (const stop of running) stop("mcpgate failed (internal error)");
  return running.length > 0;
}

/** The error in one line — message and where it was thrown, never a stack — for "mcpgate: internal error: …". */
export function describeInternalError(error: unknown): string {
  if (!(error instanceof Error)) return oneLine(`${inspect(error, { breakLength: Infinity })} (thrown, not an Error)`);
  const where = /^\s+at (?:.*\()?(.+?)\)?$/m.exec(error.stack ?? "")?.[1];
  return oneLine(`${error.name}: ${error.message}${where === undefined ? "" : ` (at ${where})`}`);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}
