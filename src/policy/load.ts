// Reads a policy file (YAML or JSON: one parser, so both get positions) and validates it.
// Every problem is reported, sorted by position, as "FILE:LINE:COL: path: message".
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { globProblem } from "./glob.ts";
import { entrySchema, issueMessage, knownKeys, policySchema, describe, type EntryDocument, type LimitObject, type PolicyDocument } from "./schema.ts";
import { strictJsonProblem } from "./strict-json.ts";
import { unknownKeyMessage } from "./suggest.ts";

export interface Problem {
  line: number;
  col: number;
  path: string;
  message: string;
}

export type LoadResult = { ok: true; policy: PolicyDocument } | { ok: false; problems: Problem[] };

type PathKey = string | number;

export function formatProblem(file: string, problem: Problem): string {
  const where = problem.path === "" ? "" : `${problem.path}: `;
  return `${file}:${problem.line}:${problem.col}: ${where}${problem.message}`;
}

/** "tools.run.limits[0].window" */
function formatPath(path: readonly PathKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else text += text === "" ? key : `.${key}`;
  }
  return text;
}

export function loadPolicyFile(file: string): LoadResult {
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    return { ok: false, problems: [{ line: 1, col: 1, path: "", message: `cannot read policy: ${why}` }] };
  }
  // YAML reads JSON too (for positions), but would accept what JSON does not.
  if (extname(file).toLowerCase() === ".json") {
    const invalid = strictJsonProblem(source);
    if (invalid !== undefined) return { ok: false, problems: [{ ...invalid, path: "" }] };
  }
  return parsePolicy(source);
}

export function parsePolicy(source: string): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number): { line: number; col: number } => lines.linePos(offset);

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => ({
      ...at(error.pos[0]),
      path: "",
      message: error.message.replace(/ at line \d+, column \d+[\s\S]*$/, ""),
    }));
    return { ok: false, problems };
  }
  if (doc.contents === null) return { ok: false, problems: [{ line: 1, col: 1, path: "", message: "the policy is empty" }] };

  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const problems: Problem[] = [];
  const report = (path: PathKey[], message: string, onKey = false): void => {
    problems.push({ ...at(offsetOf(doc, path, onKey)), path: formatPath(path), message });
  };

  const top = policySchema.safeParse(raw, { reportInput: true });
  if (!top.success) {
    for (const issue of top.error.issues) {
      const path = issue.path as PathKey[];
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) report([...path, key], unknownKeyMessage(key, knownKeys(path)), true);
      } else {
        report(path, issueMessage(issue));
      }
    }
  }

  const tools: Array<[string, EntryDocument]> = [];
  const rawTools = (raw as { tools?: unknown } | null)?.tools;
  if (rawTools !== undefined && rawTools !== null) {
    if (typeof rawTools !== "object" || Array.isArray(rawTools)) {
      report(["tools"], `expected a mapping of tool names to entries, got ${describe(rawTools)}`);
    } else {
      for (const [name, value] of Object.entries(rawTools)) {
        const badGlob = globProblem(name);
        if (badGlob !== undefined) report(["tools", name], badGlob, true);
        const entry = entrySchema.safeParse(value ?? {}, { reportInput: true });
        if (entry.success) {
          tools.push([name, entry.data]);
          continue;
        }
        for (const issue of entry.error.issues) {
          const path = ["tools", name, ...(issue.path as PathKey[])];
          if (issue.code === "unrecognized_keys") {
            for (const key of issue.keys) report([...path, key], unknownKeyMessage(key, knownKeys(path)), true);
          } else {
            report(path, issueMessage(issue));
          }
        }
      }
    }
  }

  if (top.success) {
    const offset = (path: PathKey[]): number => offsetOf(doc, path, false);
    for (const conflict of counterConflicts({ ...top.data, tools }, offset)) report(conflict.path, conflict.message);
  }

  if (problems.length > 0 || !top.success) {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, problems };
  }
  return { ok: true, policy: { ...top.data, tools } };
}

/** What a limit counts, as a message says it. */
function measure(limit: LimitObject): string {
  return limit.increment_from ?? "1 (calls)";
}

/** Where a limit's counter lives: in this gateway, or in the shared store. */
const where = (limit: LimitObject): string => (limit.scope === "global" ? "scope: global" : `scope: ${limit.scope ?? "session"}`);
const refund = (limit: LimitObject): string => `refund: ${limit.refund ?? "never"}`;

/**
 * What every limit sharing a counter must agree on, each with how a message says it: what it
 * counts (were one limit to count calls and another args.amount, a call would be checked in one
 * measure and charged in the other), where it is kept (one log, not a session's and the store's)
 * and whether a failed call gets it back (a charge is refunded whole or not at all).
 */
const AGREED: Array<{ key: keyof LimitObject; same(a: LimitObject, b: LimitObject): boolean; here(limit: LimitObject): string; there(limit: LimitObject): string; what: string }> = [
  { key: "increment_from", same: (a, b) => a.increment_from === b.increment_from, here: (limit) => `counted by ${measure(limit)}`, there: (limit) => `by ${measure(limit)}`, what: "count the same thing" },
  { key: "scope", same: (a, b) => (a.scope === "global") === (b.scope === "global"), here: where, there: where, what: "be kept in the same place" },
  { key: "refund", same: (a, b) => (a.refund ?? "never") === (b.refund ?? "never"), here: refund, there: refund, what: "be refunded alike" },
];

/**
 * Limits that share a counter but disagree on what it is (AGREED), each reported at the later
 * limit in file order, on the key that disagrees if it has one; and global limits without a
 * counter name, which gateways could not share.
 */
function counterConflicts(policy: PolicyDocument, offset: (path: PathKey[]) => number): Array<{ path: PathKey[]; message: string }> {
  const named: Array<{ path: PathKey[]; counter: string; limit: LimitObject; at: number }> = [];
  const conflicts: Array<{ path: PathKey[]; message: string }> = [];
  const collect = (limits: LimitObject[] | undefined, at: PathKey[]): void => {
    (limits ?? []).forEach((limit, index) => {
      const path = [...at, "limits", index];
      if (limit.counter !== undefined) named.push({ path, counter: limit.counter, limit, at: offset(path) });
      else if (limit.scope === "global") {
        conflicts.push({ path: [...path, "scope"], message: "a scope: global limit needs a counter name: every gateway sharing the store counts under that name (add counter: NAME)" });
      }
    });
  };
  collect(policy.all_tools?.limits, ["all_tools"]);
  for (const [name, entry] of policy.tools) collect(entry.limits, ["tools", name]);
  named.sort((a, b) => a.at - b.at);

  const first = new Map<string, (typeof named)[number]>();
  for (const item of named) {
    const earlier = first.get(item.counter);
    if (earlier === undefined) {
      first.set(item.counter, item);
      continue;
    }
    const differs = AGREED.find((rule) => !rule.same(earlier.limit, item.limit));
    if (differs === undefined) continue;
    conflicts.push({
      path: item.limit[differs.key] === undefined ? item.path : [...item.path, differs.key],
      message: `counter ${JSON.stringify(item.counter)} is ${differs.here(item.limit)} here but ${differs.there(earlier.limit)} at ${formatPath(earlier.path)}; limits sharing a counter must ${differs.what}`,
    });
  }
  return conflicts;
}

/** Source offset of the node at `path` (or of its key), falling back to the nearest ancestor. */
function offsetOf(doc: Document, path: PathKey[], onKey: boolean): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    if (onKey && depth === path.length && depth > 0) {
      const parent = prefix.length === 1 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const last = prefix[prefix.length - 1];
        const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
        const range = (pair?.key as Node | undefined)?.range;
        if (range) return range[0];
      }
      continue;
    }
    const node = depth === 0 ? doc.contents : (doc.getIn(prefix, true) as Node | undefined);
    if (node && typeof node === "object" && "range" in node && node.range) return node.range[0];
  }
  return 0;
}
