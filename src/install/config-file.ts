// One client config file, edited as JSONC text: only the `command` value and the wrapper's part
// of `args` change, so comments, formatting and every other field stay byte for byte, and an
// uninstall after an install gives back the file's exact bytes. A backup is written first.
import { copyFileSync, constants, writeFileSync } from "node:fs";
import { applyEdits, findNodeAtLocation, getNodeValue, parseTree, type Edit, type Node } from "jsonc-parser/lib/esm/main.js";
import { jsoncProblem, type JsonProblem } from "../policy/strict-json.ts";
import type { ConfigLocation } from "./clients.ts";
import { shapeOf, WRAPPER_COMMAND, wrapRewrite } from "./rewrite.ts";

export type Action = { kind: "install"; policy: string } | { kind: "uninstall" };

export type Status = "wrapped" | "already wrapped" | "not wrapped" | "restored";

/** What happened (or would happen) to one server entry. */
export interface ServerOutcome {
  name: string;
  /** For servers in Claude Code's per-project map: the project's path. */
  project?: string;
  status: Status;
  detail?: string;
}

export type FilePlan = { ok: false; problem: JsonProblem } | { ok: true; updated: string; servers: ServerOutcome[] };

/** One server map in the file and, for Claude Code's projects, the project. */
interface ServerMap {
  node: Node;
  project?: string;
}

function serverMaps(root: Node, location: ConfigLocation): ServerMap[] {
  const maps: ServerMap[] = [];
  const top = findNodeAtLocation(root, [location.key]);
  if (top?.type === "object") maps.push({ node: top });
  const projects = location.perProject ? findNodeAtLocation(root, ["projects"]) : undefined;
  for (const property of projects?.type === "object" ? (projects.children ?? []) : []) {
    const [keyNode, value] = property.children ?? [];
    const node = value === undefined ? undefined : findNodeAtLocation(value, [location.key]);
    if (typeof keyNode?.value === "string" && node?.type === "object") maps.push({ node, project: keyNode.value });
  }
  return maps;
}

const raw = (text: string, node: Node): string => text.slice(node.offset, node.offset + node.length);

/** What goes between array elements: as between the first two, or "," and the whitespace before the first. */
function separator(text: string, args: Node): string {
  const [first, second] = args.children ?? [];
  if (first !== undefined && second !== undefined) {
    const between = text.slice(first.offset + first.length, second.offset);
    if (/^\s*,\s*$/.test(between)) return between;
  }
  const lead = first === undefined ? "" : text.slice(args.offset + 1, first.offset);
  return /^\s*\n\s*$/.test(lead) ? `,${lastLineBreak(lead)}` : ", ";
}

/** The last line break of whitespace `gap` ("\r\n" or "\n") and the indentation after it. */
function lastLineBreak(gap: string): string {
  const at = gap.lastIndexOf("\n");
  return gap.slice(at > 0 && gap[at - 1] === "\r" ? at - 1 : at);
}

/** The edits that run `entry` through mcpgate with `policy`. */
function wrapEdits(text: string, entry: Node, policy: string): Edit[] {
  const command = findNodeAtLocation(entry, ["command"])!;
  const args = findNodeAtLocation(entry, ["args"]);
  const { prefix } = wrapRewrite(policy) as { prefix: string[] };
  const edits: Edit[] = [{ offset: command.offset, length: command.length, content: JSON.stringify(WRAPPER_COMMAND) }];
  const inserted = [...prefix.map((arg) => JSON.stringify(arg)), raw(text, command)];
  if (args === undefined) {
    // A new "args" goes right after "command", on a line of its own if "command" has one.
    // (jsonc-parser's modify() reformats around its insertion, which would overlap the edit above.)
    const property = command.parent!;
    const lead = /\s*$/.exec(text.slice(0, property.offset))![0];
    const gap = lead.includes("\n") ? lastLineBreak(lead) : " ";
    return [...edits, { offset: property.offset + property.length, length: 0, content: `,${gap}"args": [${inserted.join(", ")}]` }];
  }
  const elements = args.children ?? [];
  const sep = separator(text, args);
  if (elements.length === 0) return [...edits, { offset: args.offset + 1, length: 0, content: inserted.join(", ") }];
  return [...edits, { offset: elements[0]!.offset, length: 0, content: inserted.join(sep) + sep }];
}

/** The edits that give the wrapped entry its own command back: the text after "--" was it. */
function unwrapEdits(text: string, entry: Node, commandAt: number): Edit[] {
  const command = findNodeAtLocation(entry, ["command"])!;
  const elements = findNodeAtLocation(entry, ["args"])!.children!;
  const first = elements[0]!;
  const rest = elements[commandAt + 1];
  const last = elements[elements.length - 1]!;
  const end = rest === undefined ? last.offset + last.length : rest.offset;
  return [
    { offset: command.offset, length: command.length, content: raw(text, elements[commandAt]!) },
    { offset: first.offset, length: end - first.offset, content: "" },
  ];
}

/** What `action` would make of `text`, a config at `location`, for the servers `chosen` selects. */
export function planFile(text: string, location: ConfigLocation, action: Action, chosen: (name: string) => boolean): FilePlan {
  const problem = jsoncProblem(text);
  if (problem !== undefined) return { ok: false, problem };
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  const servers: ServerOutcome[] = [];
  const edits: Edit[] = [];
  for (const map of root === undefined ? [] : serverMaps(root, location)) {
    for (const property of map.node.children ?? []) {
      const [keyNode, value] = property.children ?? [];
      const name = keyNode?.value;
      if (typeof name !== "string" || value === undefined || !chosen(name)) continue;
      const where = map.project === undefined ? {} : { project: map.project };
      const shape = shapeOf(getNodeValue(value));
      if (action.kind === "install") {
        if (shape.kind === "stdio") {
          edits.push(...wrapEdits(text, value, action.policy));
          servers.push({ name, ...where, status: "wrapped" });
        } else if (shape.kind === "wrapped") {
          const other = shape.policy === action.policy ? "" : ` (not ${action.policy}: uninstall, then install, to switch)`;
          servers.push({ name, ...where, status: "already wrapped", detail: `policy ${shape.policy ?? "from MCPGATE_POLICY"}${other}` });
        } else servers.push({ name, ...where, status: "not wrapped", detail: shape.reason });
      } else if (shape.kind === "wrapped") {
        edits.push(...unwrapEdits(text, value, shape.commandAt));
        servers.push({ name, ...where, status: "restored" });
      } else servers.push({ name, ...where, status: "not wrapped", detail: shape.kind === "stdio" ? "not run through mcpgate: nothing to restore" : shape.reason });
    }
  }
  return { ok: true, updated: applyEdits(text, edits), servers };
}

/** "2026-11-29T21-48-07-123Z": an ISO time that is a valid file name everywhere. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[:.]/g, "-");
}

/** Copies `file` next to itself (never over an existing file), then writes `updated`; the backup's path. */
export function backupAndWrite(file: string, updated: string, now = new Date()): string {
  let backup = `${file}.mcpgate-backup-${stamp(now)}`;
  for (let n = 2; ; n++) {
    try {
      copyFileSync(file, backup, constants.COPYFILE_EXCL);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      backup = `${file}.mcpgate-backup-${stamp(now)}-${n}`;
    }
  }
  writeFileSync(file, updated);
  return backup;
}
