// Redaction of one text: every match of the built-in detectors (when on) and of the custom
// patterns becomes `[REDACTED:<name>]`. Built once per redact block (prepareScanner), applied
// to each string of a result (findMatches; redactText for a text replaced whole). Overlapping
// matches merge into the first one's replacement, so no part of either survives.
import type { RE2JS } from "re2js";
import { START_DETECTORS, TRIGGERS } from "./detectors.ts";
import type { Detector, Match } from "./window.ts";

export interface CustomPattern {
  name: string;
  regex: RE2JS;
}

export interface Scanner {
  /** The triggers' union (see detectors.ts); undefined with secrets off. */
  triggers: RegExp | undefined;
  /**
   * Each trigger alone, sticky, with the detectors it starts: which one a hit of the union is.
   * (Capture groups in the union would tell, but they make V8 scan at half the speed.)
   */
  each: Array<{ sticky: RegExp; detectors: Detector[] }>;
  patterns: CustomPattern[];
}

/** Replacements per detector or pattern name (a Map: a pattern may be named __proto__). */
export type Counts = Map<string, number>;

/** Custom patterns rank after every built-in detector, in the order written. */
const CUSTOM_RANK = 1_000;

export function prepareScanner(secrets: boolean, patterns: CustomPattern[]): Scanner {
  if (!secrets) return { triggers: undefined, each: [], patterns };
  return {
    triggers: new RegExp(TRIGGERS.map((trigger) => `(?:${trigger.source})`).join("|"), "g"),
    each: TRIGGERS.map((trigger) => ({ sticky: new RegExp(trigger.source, "y"), detectors: trigger.detectors })),
    patterns,
  };
}

/** The matches of the built-in detectors in `text`. */
function builtIn(text: string, scanner: Scanner, out: Match[]): void {
  const triggers = scanner.triggers!;
  /** Spans of opaque matches, in order: what starts inside one (a key's base64 body) is not looked at. */
  const opaque: Match[] = [];
  for (const detector of START_DETECTORS) detector.find(text, 0, "", out);
  triggers.lastIndex = 0;
  for (let found = triggers.exec(text); found !== null; found = triggers.exec(text)) {
    const at = found.index;
    const last = opaque[opaque.length - 1];
    if (last !== undefined && at < last.end) {
      triggers.lastIndex = last.end;
      continue;
    }
    const trigger = scanner.each.find(({ sticky }) => {
      sticky.lastIndex = at;
      return sticky.test(text);
    });
    for (const detector of trigger?.detectors ?? []) {
      const before = out.length;
      detector.find(text, at, found[0], out);
      if (detector.opaque) for (let i = before; i < out.length; i++) opaque.push(out[i]!);
    }
    // Triggers may overlap (a key name inside a longer one): the next search starts one further.
    triggers.lastIndex = at + 1;
  }
}

function custom(text: string, patterns: CustomPattern[], out: Match[]): void {
  patterns.forEach(({ name, regex }, index) => {
    const matcher = regex.matcher(text);
    while (matcher.find()) {
      if (matcher.end() > matcher.start()) out.push({ start: matcher.start(), end: matcher.end(), name, rank: CUSTOM_RANK + index });
    }
  });
}

/** The matches to replace, in order, none overlapping: overlapping ones merge into the earliest (longest, most specific). */
export function findMatches(text: string, scanner: Scanner): Match[] {
  let all: Match[] = [];
  if (scanner.triggers !== undefined) builtIn(text, scanner, all);
  if (scanner.patterns.length > 0) custom(text, scanner.patterns, all);
  if (all.length > 0 && text.includes(MARKER)) all = all.filter((match) => !insideMarker(text, match));
  if (all.length <= 1) return all;
  all.sort((a, b) => a.start - b.start || b.end - a.end || a.rank - b.rank);
  const kept: Match[] = [];
  for (const match of all) {
    const last = kept[kept.length - 1];
    if (last !== undefined && match.start < last.end) {
      if (match.end > last.end) last.end = match.end;
      continue;
    }
    kept.push({ ...match });
  }
  return kept;
}

const MARKER = "[REDACTED:";

/**
 * Whether a match lies within a replacement already made (JSON quoted in a text is redacted
 * string by string before the text is scanned whole): it is not redacted, nor counted, twice.
 */
function insideMarker(text: string, { start, end }: Match): boolean {
  const open = text.lastIndexOf(MARKER, start);
  if (open === -1) return false;
  const close = text.indexOf("]", open);
  return close !== -1 && end <= close + 1 && start <= close;
}

/** `text` with `matches` (findMatches') replaced by [REDACTED:<name>]. */
export function replaceMatches(text: string, matches: readonly Match[]): string {
  const parts: string[] = [];
  let at = 0;
  for (const { start, end, name } of matches) {
    parts.push(text.slice(at, start), `[REDACTED:${name}]`);
    at = end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

/** `text` with its matches replaced, adding to `counts`; undefined when nothing matched. */
export function redactText(text: string, scanner: Scanner, counts: Counts): string | undefined {
  const matches = findMatches(text, scanner);
  if (matches.length === 0) return undefined;
  for (const { name } of matches) counts.set(name, (counts.get(name) ?? 0) + 1);
  return replaceMatches(text, matches);
}
