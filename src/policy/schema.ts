// The policy document's shape, in zod. Kept apart from loading (positions) and compiling
// (matchers, counters) so each stage can be read and tested on its own.
import { z } from "zod";
import { Ajv, type ValidateFunction } from "ajv";
import { conditionProblem, OPERATORS, parsePath } from "./conditions.ts";
import { parseWindow } from "./duration.ts";

const WINDOW_EXPECTED = "expected second|minute|hour|day or a duration like 30s";
const SHORTHAND = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\S+)\s*$/;

export const windowSchema = z.string({ error: (issue) => `${WINDOW_EXPECTED}, got ${describe(issue.input)}` }).refine(
  (text) => parseWindow(text) !== undefined,
  { error: (issue) => `${WINDOW_EXPECTED}, got ${describe(issue.input)}` },
);

export const limitObjectSchema = z.strictObject({
  counter: z.string().min(1).optional(),
  window: windowSchema,
  max: z.number().finite().min(0),
  scope: z.enum(["session", "grant"]).optional(),
  increment_from: z
    .string()
    .refine((path) => parsePath(path) !== undefined && path !== "args", { error: (issue) => `expected a path into the arguments such as args.amount, got ${describe(issue.input)}` })
    .optional(),
  message: z.string().optional(),
});

export type LimitObject = z.infer<typeof limitObjectSchema>;

/** A limit written as "10/minute" or "100/2h". */
export function parseShorthand(text: string): LimitObject | undefined {
  const match = SHORTHAND.exec(text);
  if (match === null || parseWindow(match[2]!) === undefined) return undefined;
  return { max: Number(match[1]), window: match[2]! };
}

export const limitSchema = z.unknown().transform((value, ctx): LimitObject => {
  if (typeof value === "string") {
    const limit = parseShorthand(value);
    if (limit !== undefined) return limit;
    ctx.addIssue({
      code: "custom",
      message: `expected a limit such as "10/minute" or { window, max }, got ${describe(value)}`,
    });
    return z.NEVER;
  }
  const parsed = limitObjectSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: "custom", message: issueMessage(issue) });
  return z.NEVER;
});

export const conditionSchema = z
  .strictObject({
    path: z.string(),
    op: z.enum(OPERATORS),
    value: z.unknown().optional(),
    message: z.string().optional(),
  })
  .superRefine((condition, ctx) => {
    const problem = conditionProblem(condition);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, path: condition.op === "regex" || problem.includes("value") ? ["value"] : ["path"] });
  });

const conditions = z.array(conditionSchema).optional();

let ajv: Ajv | undefined;
/** One validator instance, strict: an unknown keyword in a schema is an error, not a no-op. */
export function schemaCompiler(): Ajv {
  ajv ??= new Ajv({ allErrors: false, strict: true });
  return ajv;
}

export const jsonSchemaSchema = z.custom<object>((value) => typeof value === "object" && value !== null && !Array.isArray(value), { error: (issue) => `expected a JSON Schema (a mapping), got ${describe(issue.input)}` }).superRefine((schema, ctx) => {
  try {
    schemaCompiler().compile(schema) satisfies ValidateFunction;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: `invalid JSON Schema: ${(error as Error).message}` });
  }
});

export const entrySchema = z.strictObject({
  action: z.enum(["allow", "deny", "approve"]).optional(),
  reason: z.string().optional(),
  limits: z.array(limitSchema).optional(),
  require: conditions,
  deny_if: conditions,
  approve_if: conditions,
  schema: jsonSchemaSchema.optional(),
});

export type EntryDocument = z.infer<typeof entrySchema>;

export const policySchema = z.strictObject({
  version: z.union([z.literal("1"), z.literal(1)], { error: (issue) => `expected "1", got ${describe(issue.input)}` }),
  description: z.string().optional(),
  default: z.enum(["allow", "deny"]),
  hide: z.array(z.string().min(1)).optional(),
  all_tools: z
    .strictObject({
      limits: z.array(limitSchema).optional(),
      require: conditions,
      deny_if: conditions,
      approve_if: conditions,
    })
    .optional(),
  // Entries are validated one by one (see load.ts): a record schema would silently drop a
  // tool named "__proto__", and a dropped deny entry is a hole in the policy.
  tools: z.unknown().optional(),
  audit: z.strictObject({ include_args: z.boolean().optional() }).optional(),
  approval: z
    .strictObject({
      // How long a human gets to answer; below the 60 s most clients wait for a tool call.
      timeout: windowSchema.optional(),
      // Whether the prompt offers "allow identical calls for the rest of this session".
      offer_session: z.boolean().optional(),
    })
    .optional(),
});

export type PolicyDocument = Omit<z.infer<typeof policySchema>, "tools"> & {
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

type Issue = z.core.$ZodIssue;

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
