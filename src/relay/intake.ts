// The first look at a client line: is it one JSON value mcpgate can route, and nothing a
// server's framing or decoder could read as other messages? Pure: the line in, the message (or
// batch) to route, or the error to answer with and why.
import { lineProblem } from "../wire/line-check.ts";
import { classify, member, NULL_ID, parseId, type Id, type Message } from "../wire/message.ts";
import { errorReply, INVALID_REQUEST, PARSE_ERROR } from "../wire/reply.ts";
import { scanJson, type ScanOptions, type Span } from "../wire/scan.ts";

/**
 * How deep a client message may nest. Nothing in MCP comes near it, and every structure mcpgate
 * decodes (a call's arguments: hashed, shown to a human) stays far from any stack limit.
 */
export const MAX_CLIENT_DEPTH = 128;
const CLIENT_SCAN: ScanOptions = { maxDepth: MAX_CLIENT_DEPTH };

export type Intake =
  | { kind: "message"; message: Message }
  | { kind: "batch"; elements: Span[] }
  | { kind: "refused"; reply: Buffer; why: string };

/** Takes in the client line `line`, whose content (its terminator aside) ends at `end` > 0. */
export function intake(line: Buffer, end: number): Intake {
  const scan = scanJson(line, CLIENT_SCAN, 0, end);
  if (!scan.ok) {
    const why = `${scan.tooDeep ? "not acceptable" : "not JSON"} (${scan.error} at byte ${scan.at})`;
    const reply = scan.tooDeep ? errorReply(idOf(line, scan.members) ?? NULL_ID, INVALID_REQUEST, `Invalid Request: ${scan.error}`) : errorReply(NULL_ID, PARSE_ERROR, `Parse error: ${scan.error} at byte ${scan.at}`);
    return { kind: "refused", reply, why };
  }
  if (scan.type === "scalar") return { kind: "refused", reply: errorReply(NULL_ID, INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object or batch"), why: "not a JSON-RPC object or batch" };
  const message = scan.type === "object" ? classify(line, scan) : undefined;
  // What the server's framing or decoder could read as other messages is refused whole.
  const problem = message?.kind === "invalid" ? undefined : lineProblem(line, end);
  if (problem !== undefined) {
    const where = problem.at === undefined ? "" : ` at byte ${problem.at}`;
    const id = message?.kind === "request" ? message.id : NULL_ID;
    return { kind: "refused", reply: errorReply(id, PARSE_ERROR, `Parse error: ${problem.reason}${where}; refused so the server cannot read a message other than the one judged`), why: `${problem.reason}${where}` };
  }
  return message === undefined ? { kind: "batch", elements: scan.members } : { kind: "message", message };
}

/** The id of the one message `line` holds, if it is an object with a valid id. */
export function idOfLine(line: Buffer, end: number): Id | undefined {
  const scan = scanJson(line, CLIENT_SCAN, 0, end);
  return scan.ok && scan.type === "object" ? idOf(line, scan.members) : undefined;
}

function idOf(buf: Buffer, members: Span[]): Id | undefined {
  const span = member(members, "id");
  return span === undefined ? undefined : parseId(buf.toString("utf8", span.start, span.end));
}
