// The starter policy `mcpgate init` writes from a server's tools/list: every tool listed, so
// the server works as before, and `default: deny`, so a tool it adds later is refused until
// someone lists it. A tool the server marks read-only is allowed as is; any other gets a rate
// limit, a net under an agent stuck in a loop, to be tightened by hand.
//
// What the server says (names, descriptions) is text from another program: names are quoted
// where YAML needs it, descriptions become one-line comments, and the result is parsed back
// before anyone sees it.
import { isGlob } from "./glob.ts";

export interface ListedTool {
  name: string;
  description?: string;
  annotations?: { title?: string; readOnlyHint?: boolean; destructiveHint?: boolean; openWorldHint?: boolean };
}

export interface StarterSource {
  /** The server command, as typed. */
  command: string[];
  /** serverInfo from the initialize response, when it gave one. */
  server?: { name?: string; version?: string };
  date: Date;
}

/** The limit a tool that may change things starts with. */
export const STARTER_LIMIT = "60/minute";

export interface Starter {
  yaml: string;
  /** How many tools have an entry, and how many of those are read-only ones allowed as they are. */
  listed: number;
  readOnly: number;
  /** Tools left out (so denied), and why; the policy says so in a comment too. */
  skipped: Array<{ name: string; why: string }>;
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_.\-/]*$/;
const COMMENT_WIDTH = 100;

/** One line of text fit for a YAML comment: no line breaks or other control characters. */
function oneLine(text: string, width = COMMENT_WIDTH): string {
  const line = text.replace(/[\p{Cc}\p{Zl}\p{Zp}\u0085]+/gu, " ").replace(/\s+/g, " ").trim();
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/** The name as a YAML key: bare when plain, else a double-quoted (JSON) string. */
function key(name: string): string {
  return PLAIN_NAME.test(name) && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].includes(name.toLowerCase()) ? name : JSON.stringify(name);
}

function hints(tool: ListedTool): string[] {
  const annotations = tool.annotations ?? {};
  const said: string[] = [];
  if (annotations.readOnlyHint === true) said.push("read-only");
  if (annotations.destructiveHint === true) said.push("destructive");
  if (annotations.openWorldHint === true) said.push("reaches outside systems");
  return said;
}

export function starterPolicy(tools: readonly ListedTool[], source: StarterSource): Starter {
  const out: string[] = [];
  const server = source.server?.name ? ` (${oneLine(`${source.server.name} ${source.server.version ?? ""}`, 60)})` : "";
  out.push(
    `# Starter policy written by \`mcpgate init\` on ${source.date.toISOString().slice(0, 10)} from the tools/list of:`,
    `#   ${oneLine(source.command.join(" "), 200)}${server}`,
    "# Every tool the server offered is listed, so it works as before; a tool it adds later is",
    "# denied until you list it (default: deny). Tools the server marks read-only are allowed as",
    `# they are; the others are capped at ${STARTER_LIMIT}. Tighten each entry with limits, require,`,
    "# deny_if, approve_if or schema; `action: deny` blocks a tool. Check it: mcpgate check FILE",
    'version: "1"',
    "default: deny",
  );
  const seen = new Set<string>();
  const skipped: Starter["skipped"] = [];
  const entries: string[] = [];
  let readOnly = 0;
  for (const tool of tools) {
    if (seen.has(tool.name)) continue;
    seen.add(tool.name);
    if (tool.name === "") {
      skipped.push({ name: tool.name, why: "an empty name" });
      continue;
    }
    // A glob character would make the entry match other tools too.
    if (isGlob(tool.name)) {
      skipped.push({ name: tool.name, why: "glob characters in its name, so an entry would match other tools too" });
      continue;
    }
    const description = oneLine(tool.description ?? tool.annotations?.title ?? "");
    const said = hints(tool);
    if (description !== "") entries.push(`  # ${description}`);
    if (said.length > 0) entries.push(`  # The server says: ${said.join(", ")}.`);
    if (tool.annotations?.readOnlyHint === true) {
      readOnly++;
      entries.push(`  ${key(tool.name)}: {}`);
    } else {
      entries.push(`  ${key(tool.name)}:`, `    limits: ["${STARTER_LIMIT}"]`);
    }
  }
  out.push(entries.length === 0 ? "tools: {}" : "tools:", ...entries);
  for (const { name, why } of skipped) out.push(`# Not listed, so denied: ${oneLine(JSON.stringify(name))}, for ${why}. Add an entry by hand if you need it.`);
  return { yaml: `${out.join("\n")}\n`, listed: seen.size - skipped.length, readOnly, skipped };
}
