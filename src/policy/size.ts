// Sizes in a policy: a number of bytes, or a number with a unit ("32MiB", "500KB", "1 GiB").

const UNITS: Record<string, number> = { B: 1, KB: 1_000, KiB: 1_024, MB: 1_000_000, MiB: 1_048_576, GB: 1_000_000_000, GiB: 1_073_741_824 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/;

/** Bytes for a size, or undefined when it is not one (or is not a positive whole number of bytes). */
export function parseSize(value: unknown): number | undefined {
  let bytes: number;
  if (typeof value === "number") bytes = value;
  else if (typeof value === "string") {
    const match = SIZE.exec(value.trim());
    if (match === null) return undefined;
    bytes = Number(match[1]) * UNITS[match[2] ?? "B"]!;
  } else return undefined;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
