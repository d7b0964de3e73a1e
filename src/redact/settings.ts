// A redact block of the policy, compiled once: all_tools' block merged with a tool entry's.
// Key by key, the entry's `secrets` and `max_bytes` win; its `patterns` are added to all_tools'
// (one with the name of an all_tools pattern replaces it), so an entry cannot drop a pattern
// every tool is meant to have.
import { RE2JS } from "re2js";
import { parseSize } from "../policy/size.ts";
import { prepareScanner, type Scanner } from "./scan-text.ts";

export interface RedactDocument {
  secrets?: boolean | undefined;
  patterns?: Array<{ name: string; regex: string }> | undefined;
  max_bytes?: number | string | undefined;
}

export interface CompiledRedaction {
  /** Where it was written: "all_tools.redact" or "tools.<key>.redact". */
  rule: string;
  /** A result larger than this is withheld whole: it is not scanned, so it is not sent. */
  maxBytes: number;
  secrets: boolean;
  /** Names of the custom patterns, in order. */
  patterns: string[];
  scanner: Scanner;
}

export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** The redaction of a tool (or of server log messages): undefined when it scans for nothing. */
export function compileRedaction(allTools: RedactDocument | undefined, entry: RedactDocument | undefined, rule: string): CompiledRedaction | undefined {
  if (allTools === undefined && entry === undefined) return undefined;
  const secrets = entry?.secrets ?? allTools?.secrets ?? true;
  const patterns = new Map<string, string>();
  for (const pattern of [...(allTools?.patterns ?? []), ...(entry?.patterns ?? [])]) {
    patterns.delete(pattern.name);
    patterns.set(pattern.name, pattern.regex);
  }
  if (!secrets && patterns.size === 0) return undefined;
  const maxBytes = parseSize(entry?.max_bytes ?? allTools?.max_bytes) ?? DEFAULT_MAX_BYTES;
  const custom = [...patterns].map(([name, regex]) => ({ name, regex: RE2JS.compile(regex) }));
  return { rule, maxBytes, secrets, patterns: [...patterns.keys()], scanner: prepareScanner(secrets, custom) };
}
