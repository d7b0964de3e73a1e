// How the relay reports to stderr: the sink is injected (stderr in the gateway, a list in tests).
export interface Logger {
  /** Whether info() prints: callers skip building messages nobody will read. */
  verbose: boolean;
  warn(message: string): void;
  info(message: string): void;
}

/** The start of a message, for a log line: at most `limit` characters, and its size if cut. */
export function preview(bytes: Buffer, limit = 500): string {
  const text = bytes.toString("utf8", 0, Math.min(bytes.length, limit));
  return bytes.length > limit ? `${text}… (${bytes.length} bytes)` : text;
}
