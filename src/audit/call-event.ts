// How a call's arguments appear in the audit log: as sent, when the policy says
// `audit: { include_args: true }`, else as the SHA-256 of their bytes exactly as the client sent
// them ("{}" when the call has none). Hashing the bytes, not a re-serialization, costs no copy of
// a large call and tells apart what a re-serialization would merge (1e400 and null).
import { createHash } from "node:crypto";
import { argumentsSpan } from "../wire/tools-call.ts";

export type ArgsField = { args: Record<string, unknown> } | { args_sha256: string };

/** The audit field for the arguments of the tools/call in `line` (one message), decoded as `args`. */
export function argsField(line: Buffer, args: Record<string, unknown>, includeArgs: boolean): ArgsField {
  if (includeArgs) return { args };
  const span = argumentsSpan(line);
  const hash = createHash("sha256");
  hash.update(span === undefined ? "{}" : line.subarray(span.start, span.end));
  return { args_sha256: hash.digest("hex") };
}
