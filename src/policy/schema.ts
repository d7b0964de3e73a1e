// The policy document's shape, in zod. Kept apart from loading (positions) and compiling
// (matchers, counters) so each stage can be read and tested on its own.
import { array, boolean, custom, enum as oneOf, literal, NEVER, number, strictObject, string, union, unknown, type core, type infer as Infer } from "zod";
import { Ajv, type ValidateFunction } from "ajv";
import { conditionProblem, OPERATORS, parsePath } from "./conditions.ts";
import { parseWindow } from "./duration.ts";
import { globProblem } from "./glob.ts";
import { redactSchema, patternSchema } from "./redact-schema.ts";
import { storeKeys } from "./store-schema.ts";

/** Node's timers cannot wait longer than 2^31-1 ms (~24.8 days); one day is plenty for a human. */
const MAX_APPROVAL_TIMEOUT_MS = 86_400_000;
const WINDOW_EXPECTED = "expected second|minute|hour|day or a duration like 30s";
const SHORTHAND = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\S+)\s*$/;

const windowSchema = string({ error: (issue) => `${WINDOW_EXPECTED}, got ${describe(issue.input)}` }).refine(
  (text) => parseWindow(text) !== undefined,
  { error: (issue) => `${WINDOW_EXPECTED}, got ${describe(issue.input)}` },
);

const limitObjectSchema = strictObject({
  counter: string().min(1).optional(),
  window: windowSchema,
  max: number().finite().min(0),
  // global: counted in the shared store (SPEC §14), under the counter's name, which it must have.
  scope: oneOf(["session", "grant", "global"]).optional(),
  increment_from: string()
    .refine((path) => parsePath(path) !== undefined && path !== "args", { error: (issue) => `expected a path into the arguments such as args.amount, got ${describe(issue.input)}` })
    .optional(),
  message: string().optional(),
  // on_error: what a call consumed is given back when its result is an error (SPEC §3).
  refund: oneOf(["on_error", "never"]).optional(),
});

export type LimitObject = Infer<typeof limitObjectSchema>;

/** A limit written as "10/minute" or "100/2h". */
function parseShorthand(text: string): LimitObject | undefined {
  const match = SHORTHAND.exec(text);
  if (match === null || parseWindow(match[2]!) === undefined) return undefined;
  return { max: Number(match[1]), window: match[2]! };
}

const limitSchema = unknown().transform((value, ctx): LimitObject => {
  if (typeof value === "string") {
    const limit = parseShorthand(value);
    if (limit !== undefined) return limit;
    ctx.addIssue({
      code: "custom",
      message: `expected a limit such as "10/minute" or { window, max }, got ${describe(value)}`,
    });
    return NEVER;
  }
  const parsed = limitObjectSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    // Unknown keys stay what they are, so the loader points at each key and can suggest the known one.
    if (issue.code === "unrecognized_keys") ctx.addIssue({ code: "unrecognized_keys", keys: issue.keys, path: issue.path, input: value as Record<string, unknown> });
    else ctx.addIssue({ ...issue, code: "custom", message: issueMessage(issue) });
  }
  return NEVER;
});

const conditionSchema = strictObject({
    path: string(),
    op: oneOf(OPERATORS),
    value: unknown().optional(),
    message: string().optional(),
  })
  .superRefine((condition, ctx) => {
    const problem = conditionProblem(condition);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, path: condition.op === "regex" || problem.includes("value") ? ["value"] : ["path"] });
  });

const conditions = array(conditionSchema).optional();

let ajv: Ajv | undefined;
/** One validator instance, strict: an unknown keyword in a schema is an error, not a no-op. */
export function schemaCompiler(): Ajv {
  ajv ??= new Ajv({ allErrors: false, strict: true });
  return ajv;
}

const jsonSchemaSchema = custom<object>((value) => typeof value === "object" && value !== null && !Array.isArray(value), { error: (issue) => `expected a JSON Schema (a mapping), got ${describe(issue.input)}` }).superRefine((schema, ctx) => {
  try {
    schemaCompiler().compile(schema) satisfies ValidateFunction;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `invalid JSON Schema: ${(error as Error).message}` });
  }
});

export const entrySchema = strictObject({
  action: oneOf(["allow", "deny", "approve"]).optional(),
  reason: string().optional(),
  limits: array(limitSchema).optional(),
  require: conditions,
  deny_if: conditions,
  approve_if: conditions,
  schema: jsonSchemaSchema.optional(),
  redact: redactSchema.optional(),
});

export type EntryDocument = Infer<typeof entrySchema>;

export const policySchema = strictObject({
  version: union([literal("1"), literal(1)], { error: (issue) => `expected "1", got ${describe(issue.input)}` }),
  description: string().optional(),
  default: oneOf(["allow", "deny"]),
  hide: array(string().min(1).superRefine((pattern, ctx) => {
      const problem = globProblem(pattern);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })).optional(),
  all_tools: strictObject({
      limits: array(limitSchema).optional(),
      require: conditions,
      deny_if: conditions,
      approve_if: conditions,
      redact: redactSchema.optional(),
    })
    .optional(),
  // Entries are validated one by one (see load.ts): a record schema would silently drop a
  // tool named "__proto__", and a dropped deny entry is a hole in the policy.
  tools: unknown().optional(),
  audit: strictObject({ include_args: boolean().optional() }).optional(),
  // Pinning tool definitions (SPEC §13); omitted, it is off. Defaults: see DEFAULT_PIN_SETTINGS.
  pins: strictObject({
      on_change: oneOf(["hide", "deny", "warn"]).optional(),
      new_tools: oneOf(["allow", "hide", "deny"]).optional(),
    })
    .optional(),
  approval: strictObject({
      // How long a human gets to answer; below the 60 s most clients wait for a tool call.
      timeout: windowSchema
        .refine((text) => parseWindow(text)! <= MAX_APPROVAL_TIMEOUT_MS, { error: (issue) => `expected at most 1d (a longer wait cannot be timed), got ${describe(issue.input)}` })
        .optional(),
      // Whether the prompt offers "allow identical calls for the rest of this session".
      offer_session: boolean().optional(),
    })
    .optional(),
  ...storeKeys,
});

export type PolicyDocument = Omit<Infer<typeof policySchema>, "tools"> & {
  tools: Array<[name: string, entry: EntryDocument]>;
};

/** How a value reads in an error message: strings quoted, other types named. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${String(value)} (${typeof value})`;
}

type Issue = core.$ZodIssue;

/** One line of text for a zod issue: what was expected and what was found. */
export function issueMessage(issue: Issue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      return `expected ${issue.expected === "object" ? "a mapping" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}, got ${describe(input)}`;
    case "invalid_value":
      return `expected ${issue.values.map(String).join("|")}, got ${describe(input)}`;
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      return `expected a number >= ${String(issue.minimum)}, got ${describe(input)}`;
    case "unrecognized_keys":
      return `unknown key ${issue.keys.map((key) => JSON.stringify(key)).join(", ")}`;
    default:
      return issue.message;
  }
}

const CONDITION_LISTS = new Set(["require", "deny_if", "approve_if"]);

/** The keys a mapping at `path` may have, for "did you mean"; undefined where keys are free (tool names). */
export function knownKeys(path: readonly (string | number)[]): readonly string[] | undefined {
  const [first] = path;
  const last = path[path.length - 1];
  if (path.length === 0) return Object.keys(policySchema.shape);
  if (path.length === 1 && first === "all_tools") return Object.keys(policySchema.shape.all_tools.unwrap().shape);
  if (path.length === 1 && first === "audit") return Object.keys(policySchema.shape.audit.unwrap().shape);
  if (path.length === 1 && first === "approval") return Object.keys(policySchema.shape.approval.unwrap().shape);
  if (path.length === 1 && first === "pins") return Object.keys(policySchema.shape.pins.unwrap().shape);
  if (path.length === 2 && first === "tools") return Object.keys(entrySchema.shape);
  if (last === "redact" && (path.length === 2 || path.length === 3)) return Object.keys(redactSchema.shape);
  if (typeof last === "number" && path[path.length - 2] === "patterns" && path[path.length - 3] === "redact") return Object.keys(patternSchema.shape);
  if (typeof last !== "number" || path.length < 3) return undefined;
  const list = path[path.length - 2];
  if (list === "limits") return Object.keys(limitObjectSchema.shape);
  if (typeof list === "string" && CONDITION_LISTS.has(list)) return Object.keys(conditionSchema.shape);
  return undefined;
}
