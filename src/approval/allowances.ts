// "Allow identical calls for the rest of this session": the tool and the canonical text of the
// arguments' bytes (keys sorted, strings by value, numbers by their literal — see
// wire/canonical.ts), so only a call every server reads as the same one goes without asking.
import { canonicalArguments } from "../wire/tools-call.ts";

/** Past this many, the oldest allowance is forgotten (and that call asked about again). */
const LIMIT = 4_096;

export class SessionAllowances {
  readonly #allowed = new Set<string>();

  /** Whether a human allowed the tools/call in `line` (one message) for the session. */
  has(tool: string, line: Buffer): boolean {
    return this.#allowed.size > 0 && this.#allowed.has(key(tool, line));
  }

  add(tool: string, line: Buffer): void {
    this.#allowed.add(key(tool, line));
    if (this.#allowed.size > LIMIT) this.#allowed.delete(this.#allowed.values().next().value as string);
  }
}

function key(tool: string, line: Buffer): string {
  return `${tool}\u0000${canonicalArguments(line)}`;
}
