// The `redact` block of all_tools or of a tool entry (SPEC §13), in zod:
// `redact: { secrets: true, patterns: [{ name, regex }], max_bytes: 32MiB }`.
import { constants } from "node:buffer";
import { array, boolean, custom, strictObject, string } from "zod";
import { RE2JS } from "re2js";
import { DETECTOR_NAMES } from "../redact/detectors.ts";
import { parseSize } from "./size.ts";

/** A result is decoded into strings to be scanned, and V8 makes none longer than this. */
const MAX_REDACT_BYTES = constants.MAX_STRING_LENGTH;
const NAME = /^[A-Za-z0-9_-]+$/;

/** How a value reads in an error message (schema.ts has the same; imported there from here would be circular). */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null || value === undefined) return String(value === null ? "null" : "nothing");
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : `${String(value)} (${typeof value})`;
}

/** Why a custom pattern's regex is unusable, or undefined. */
export function regexProblem(source: string): string | undefined {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(source);
  } catch (error) {
    return `invalid regex ${JSON.stringify(source)}: ${(error as Error).message} (patterns use RE2 syntax: no lookaround or backreferences)`;
  }
  // A pattern that matches nothing at all would redact nothing and cost a pass over every result.
  if (regex.matcher("").find()) return `regex ${JSON.stringify(source)} matches empty text, so it would redact nothing`;
  return undefined;
}

export const patternSchema = strictObject({
  name: string().refine((name) => NAME.test(name), { error: (issue) => `expected a name of letters, digits, "_" and "-", got ${shown(issue.input)}` }),
  regex: string().superRefine((source, ctx) => {
    const problem = regexProblem(source);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }),
});

const sizeSchema = custom<number | string>((value) => parseSize(value) !== undefined, {
  error: (issue) => `expected a size such as 32MiB, 512KiB or a number of bytes, got ${shown(issue.input)}`,
}).refine((value) => parseSize(value)! <= MAX_REDACT_BYTES, { error: (issue) => `expected at most ${MAX_REDACT_BYTES} bytes (the longest string Node can decode), got ${shown(issue.input)}` });

export const redactSchema = strictObject({
  secrets: boolean().optional(),
  patterns: array(patternSchema)
    .superRefine((patterns, ctx) => {
      const seen = new Map<string, number>();
      patterns.forEach(({ name }, index) => {
        if (DETECTOR_NAMES.includes(name)) ctx.addIssue({ code: "custom", message: `"${name}" is the name of a built-in detector; give the pattern another`, path: [index, "name"] });
        const first = seen.get(name);
        if (first !== undefined) ctx.addIssue({ code: "custom", message: `"${name}" is the name of patterns[${first}] already; names must be unique`, path: [index, "name"] });
        else seen.set(name, index);
      });
    })
    .optional(),
  max_bytes: sizeSchema.optional(),
});
