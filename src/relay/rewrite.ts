// The one message the gateway rewrites on the way back: a tools/list result loses hidden tools.
// Every other member of the result (ttlMs, cacheScope, resultType, nextCursor, _meta…) and every
// kept tool keep their original bytes.
import { decodeSpan, member } from "../wire/message.ts";
import { rebuildObject } from "../wire/rebuild.ts";
import { scanJson, type Span } from "../wire/scan.ts";

/**
 * Sees a list's result members and its tools (the array's elements) before they are filtered,
 * and says which tools to leave out besides those `hiddenBy` names (the pins: see pins/tracker.ts).
 */
export type ListObserver = (buf: Buffer, result: Span[], tools: Span[]) => (tool: string) => boolean;

/** The response without hidden tools, or undefined when it has none to remove. Throws when
 * the result cannot be decoded (the caller must not forward what it could not filter). */
export function withoutHiddenTools(buf: Buffer, members: Span[], hiddenBy: (tool: string) => string | undefined, observe?: ListObserver): string | undefined {
  const span = member(members, "result");
  if (span === undefined) return undefined;
  const result = scanJson(buf, {}, span.start, span.end);
  if (!result.ok) throw new Error(`the result is not JSON (${result.error})`);
  if (result.type === "object" && result.members.filter((item) => item.key === "tools").length > 1) throw new Error("the result holds tools twice");
  const toolsSpan = result.type === "object" ? member(result.members, "tools") : undefined;
  const tools = toolsSpan === undefined ? undefined : scanJson(buf, {}, toolsSpan.start, toolsSpan.end);
  if (tools === undefined || !tools.ok || tools.type !== "array") return undefined;
  const alsoHidden = observe?.(buf, result.members, tools.members);
  const kept = tools.members.filter((element) => {
    const name = (decodeSpan(buf, element) as { name?: unknown } | null)?.name;
    return typeof name !== "string" || (hiddenBy(name) === undefined && alsoHidden?.(name) !== true);
  });
  if (kept.length === tools.members.length) return undefined;
  const list = `[${kept.map((element) => buf.toString("utf8", element.start, element.end)).join(",")}]`;
  const edited = rebuildObject(buf, result.members, { set: { tools: list } });
  return rebuildObject(buf, members, { set: { result: edited } });
}

const INPUT_REQUIRED = Buffer.from("input_required");
const ESCAPE = Buffer.from("\\u");

/** The last member named `key`: what a client decoding with JSON.parse reads. */
function lastMember(members: Span[], key: string): Span | undefined {
  for (let i = members.length - 1; i >= 0; i--) if (members[i]!.key === key) return members[i];
  return undefined;
}

/**
 * When a response's result is an `input_required` round (2026-07-28): the JSON text of the
 * server's requestState (undefined when it sent none). Undefined `round` when it is no round.
 */
export function serverRound(buf: Buffer, members: Span[]): { state: string | undefined } | undefined {
  const span = member(members, "result");
  if (span === undefined) return undefined;
  // Most results are no round: only one that mentions input_required, or could in an escape, is scanned.
  const mentions = (needle: Buffer): boolean => {
    const at = buf.indexOf(needle, span.start);
    return at !== -1 && at < span.end;
  };
  if (!mentions(INPUT_REQUIRED) && !mentions(ESCAPE)) return undefined;
  const result = scanJson(buf, {}, span.start, span.end);
  if (!result.ok || result.type !== "object") return undefined;
  const type = lastMember(result.members, "resultType");
  if (type === undefined || decodeSpan(buf, type) !== "input_required") return undefined;
  const state = lastMember(result.members, "requestState");
  return { state: state === undefined ? undefined : buf.toString("utf8", state.start, state.end) };
}

/** The response with its result's requestState set to `state` (added when it had none). */
export function withRequestState(buf: Buffer, members: Span[], state: string): string {
  const span = member(members, "result")!;
  const result = scanJson(buf, {}, span.start, span.end);
  if (!result.ok) throw new Error("the result is not JSON");
  return rebuildObject(buf, members, { set: { result: rebuildObject(buf, result.members, { set: { requestState: JSON.stringify(state) } }) } });
}
