// What judging a tools/call came to, as calls.ts acts on it: forward it (or `bytes` in its
// place), forward it once the store passes its global limits, ask a human, or neither (a reply
// says why, if it has an id).
import type { Held } from "../approval/coordinator.ts";
import type { SharedCharge, Verdict } from "../policy/decision.ts";
import type { Taken } from "../policy/evaluate.ts";
import type { ModernCall } from "./in-flight.ts";

/** A call on its way to the server: what the audit log records of it, and its bytes if edited. */
interface Going {
  tool: string;
  verdict: Verdict;
  field: Held["field"];
  approval?: "accepted" | "session";
  bytes?: Buffer;
  modern?: ModernCall;
  task?: boolean;
}

export type Judged =
  | ({ action: "forward"; taken?: Taken[] } & Omit<Going, "verdict" | "field"> & Partial<Pick<Going, "verdict" | "field">>)
  /** Forward once the store passes its global limits (store-waits.ts). */
  | ({ action: "count"; shared: SharedCharge; taken: Taken[] } & Going)
  | { action: "ask"; tool: string; verdict: Verdict; args: Record<string, unknown>; field: Held["field"]; modern?: ModernCall; task: boolean }
  | { action: "refuse"; reply?: Buffer };

/** Forward `going`: through the store when it has global limits (`shared`); `taken`, what it was charged here. */
export function forwarding(going: Going, shared: SharedCharge | undefined, taken: Taken[] | undefined): Judged {
  if (shared !== undefined) return { action: "count", ...going, shared, taken: taken ?? [] };
  const { task: _task, ...rest } = going;
  return { action: "forward", ...rest, ...(taken === undefined ? {} : { taken }) };
}

const NEWLINE = Buffer.from("\n");

/** A private copy of one message as a line, to forward later. */
export function asLine(bytes: Buffer): Buffer {
  return bytes[bytes.length - 1] === 0x0a ? Buffer.from(bytes) : Buffer.concat([bytes, NEWLINE]);
}
