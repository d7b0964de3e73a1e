// Conditions on a call's arguments: { path, op, value, message? }. A path that does not resolve
// makes `exists` false and every other operator false; a type mismatch is false, never a throw.
// Regular expressions run on RE2 (re2js): linear in the input, so no pattern can stall the relay.
import { RE2JS } from "re2js";

export const OPERATORS = ["eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists"] as const;
export type Operator = (typeof OPERATORS)[number];

export interface ConditionDocument {
  path: string;
  op: Operator;
  value?: unknown;
  message?: string;
}

export interface CompiledCondition {
  rule: string;
  path: string;
  op: Operator;
  value: unknown;
  message?: string;
  test(args: unknown): boolean;
}

const MISSING = Symbol("missing");

/** "args.a.b" → ["a", "b"]; undefined when the path does not start at args. */
export function parsePath(path: string): string[] | undefined {
  const parts = path.split(".");
  if (parts[0] !== "args" || parts.some((part) => part === "")) return undefined;
  return parts.slice(1);
}

/** The value at `segments` inside `args`, by own properties only (never the prototype chain). */
export function resolve(args: unknown, segments: string[]): unknown {
  let current: unknown = args;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return MISSING;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment) || Number(segment) >= current.length) return MISSING;
      current = current[Number(segment)];
    } else {
      if (!Object.hasOwn(current, segment)) return MISSING;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}

function isMissing(value: unknown): boolean {
  return value === MISSING;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * An argument value as a reason may say it: by type and size, never its content, since a
 * reason reaches the agent, the audit log and stderr even when arguments are not logged.
 */
export function describeShape(value: unknown): string {
  if (isMissing(value) || value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return `a string of ${count([...value].length, "character", "characters")}`;
  if (typeof value === "number") return Number.isNaN(value) ? "NaN" : !Number.isFinite(value) ? "a non-finite number" : value < 0 ? "a negative number" : "a number";
  if (typeof value === "boolean") return "a boolean";
  if (Array.isArray(value)) return `an array of ${count(value.length, "item", "items")}`;
  if (typeof value === "object") return `an object with ${count(Object.keys(value).length, "key", "keys")}`;
  return `a ${typeof value}`;
}

/** Equality of JSON values: same type and same contents, key order aside. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => jsonEqual(item, other[index]));
  }
  const aKeys = Object.keys(a);
  const bObject = b as Record<string, unknown>;
  return aKeys.length === Object.keys(bObject).length && aKeys.every((key) => Object.hasOwn(bObject, key) && jsonEqual((a as Record<string, unknown>)[key], bObject[key]));
}

/** Why a condition document is unusable, or undefined if it compiles. */
export function conditionProblem(condition: ConditionDocument): string | undefined {
  const { op, value } = condition;
  if (parsePath(condition.path) === undefined) return `path must start with "args" (such as args.command), got ${JSON.stringify(condition.path)}`;
  if ((op === "in" || op === "not_in") && !Array.isArray(value)) return `${op} needs a list as value`;
  if ((op === "lt" || op === "lte" || op === "gt" || op === "gte") && (typeof value !== "number" || !Number.isFinite(value))) return `${op} needs a number as value`;
  if (op === "exists" && value !== undefined && typeof value !== "boolean") return "exists takes true or false as value";
  if (op === "regex") {
    if (typeof value !== "string") return "regex needs a pattern (a string) as value";
    try {
      RE2JS.compile(value);
    } catch (error) {
      return `invalid regex ${JSON.stringify(value)}: ${(error as Error).message} (patterns use RE2 syntax: no lookaround or backreferences)`;
    }
  }
  if (op !== "exists" && value === undefined) return `${op} needs a value`;
  return undefined;
}

export function compileCondition(condition: ConditionDocument, rule: string): CompiledCondition {
  const segments = parsePath(condition.path)!;
  const { op, value } = condition;
  let predicate: (actual: unknown) => boolean;
  switch (op) {
    case "eq":
      predicate = (actual) => jsonEqual(actual, value);
      break;
    case "neq":
      predicate = (actual) => !jsonEqual(actual, value);
      break;
    case "in":
      predicate = (actual) => (value as unknown[]).some((item) => jsonEqual(actual, item));
      break;
    case "not_in":
      predicate = (actual) => !(value as unknown[]).some((item) => jsonEqual(actual, item));
      break;
    case "lt":
      predicate = (actual) => typeof actual === "number" && actual < (value as number);
      break;
    case "lte":
      predicate = (actual) => typeof actual === "number" && actual <= (value as number);
      break;
    case "gt":
      predicate = (actual) => typeof actual === "number" && actual > (value as number);
      break;
    case "gte":
      predicate = (actual) => typeof actual === "number" && actual >= (value as number);
      break;
    case "regex": {
      const pattern = RE2JS.compile(value as string);
      predicate = (actual) => typeof actual === "string" && pattern.test(actual);
      break;
    }
    case "contains":
      predicate = (actual) =>
        (typeof actual === "string" && typeof value === "string" && actual.includes(value)) || (Array.isArray(actual) && actual.some((item) => jsonEqual(item, value)));
      break;
    case "exists":
      break;
  }
  const wanted = value === undefined ? true : value;
  const test =
    op === "exists"
      ? (args: unknown): boolean => !isMissing(resolve(args, segments)) === wanted
      : (args: unknown): boolean => {
          const actual = resolve(args, segments);
          return !isMissing(actual) && predicate(actual);
        };
  const compiled: CompiledCondition = { rule, path: condition.path, op, value, test };
  if (condition.message !== undefined) compiled.message = condition.message;
  return compiled;
}

/** How a condition reads in a denial: "args.command regex \"\\brm\\b\"". */
export function describeCondition(condition: CompiledCondition): string {
  if (condition.op === "exists") return `${condition.path} ${condition.value === false ? "must not exist" : "exists"}`;
  return `${condition.path} ${condition.op} ${JSON.stringify(condition.value)}`;
}
