// An entry's JSON Schema as a check: why the arguments fail it, in words that never quote them.
import type { ValidateFunction } from "ajv";

/** Every name a schema declares under `properties`, at any depth: the keys a reason may name. */
function declaredNames(schema: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) declaredNames(item, names);
  else if (typeof schema === "object" && schema !== null) {
    for (const [key, value] of Object.entries(schema)) {
      if (key === "properties" && typeof value === "object" && value !== null && !Array.isArray(value)) for (const name of Object.keys(value)) names.add(name);
      declaredNames(value, names);
    }
  }
  return names;
}

/**
 * The validator's first error, read at once and returned: ajv keeps `.errors` on the shared
 * function, which no later reader may rely on. Its path names only what the schema declares
 * (and array indexes): a key the caller made up is their data, and may be a secret.
 */
export function schemaCheck(validate: ValidateFunction, schema: unknown): (args: unknown) => string | undefined {
  const declared = declaredNames(schema);
  /** The error's path, walked through the arguments: an array's index, a declared key, or neither. */
  const shown = (pointer: string, args: unknown): string => {
    let at = args;
    let path = "";
    for (const raw of pointer.slice(1).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      path += `/${Array.isArray(at) || declared.has(key) ? raw : "(an undeclared key)"}`;
      at = typeof at === "object" && at !== null ? (at as Record<string, unknown>)[key] : undefined;
    }
    return path;
  };
  return (args) => {
    if (validate(args)) return undefined;
    const error = validate.errors?.[0];
    if (error === undefined) return "arguments do not match";
    return `arguments${error.instancePath === "" ? "" : shown(error.instancePath, args)} ${error.message ?? "do not match"}`;
  };
}
