// The one message the gateway rewrites on the way back: a tools/list result loses hidden tools.
// Every other member keeps its original bytes.
import { decodeSpan, member } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";

/** An object message rebuilt from its members, with `replace` supplying new values by key. */
function rebuildObject(buf: Buffer, members: Span[], replace: Record<string, string>): string {
  const parts = members.map((span) => {
    const key = span.key!;
    const value = Object.hasOwn(replace, key) ? replace[key] : buf.toString("utf8", span.start, span.end);
    return `${JSON.stringify(key)}:${value}`;
  });
  return `{${parts.join(",")}}`;
}

/** The response without hidden tools, or undefined when it has none to remove. Throws when
 * the result cannot be decoded (the caller must not forward what it could not filter). */
export function withoutHiddenTools(buf: Buffer, members: Span[], hiddenBy: (tool: string) => string | undefined): string | undefined {
  const span = member(members, "result");
  if (span === undefined) return undefined;
  const result = decodeSpan(buf, span);
  const tools = (result as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(tools)) return undefined;
  const kept = tools.filter((tool) => {
    const name = (tool as { name?: unknown } | null)?.name;
    return typeof name !== "string" || hiddenBy(name) === undefined;
  });
  if (kept.length === tools.length) return undefined;
  return rebuildObject(buf, members, { result: JSON.stringify({ ...(result as object), tools: kept }) });
}
