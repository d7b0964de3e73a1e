// Redaction of one text: every match of the built-in detectors (when on) and of the custom
// patterns becomes `[REDACTED:<name>]`. Built once per redact block (prepareScanner), applied
// to each string of a result (redactText). Overlapping matches merge into the first one's
// replacement, so no part of either survives.
import type { RE2JS } from "re2js";
import { LINE_DETECTORS, TRIGGERS } from "./detectors.ts";
import type { Detector, Match } from "./window.ts";

export interface CustomPattern {
  name: string;
  regex: RE2JS;
}

export interface Scanner {
  /** The triggers' union, one capture group each (see detectors.ts); undefined with secrets off. */
  triggers: RegExp | undefined;
  /** The detectors each capture group starts, by group number. */
  byGroup: Detector[][];
  patterns: CustomPattern[];
}

/** Replacements per detector or pattern name (a Map: a pattern may be named __proto__). */
export type Counts = Map<string, number>;

/** Custom patterns rank after every built-in detector, in the order written. */
const CUSTOM_RANK = 1_000;

export function prepareScanner(secrets: boolean, patterns: CustomPattern[]): Scanner {
  if (!secrets) return { triggers: undefined, byGroup: [], patterns };
  return {
    triggers: new RegExp(TRIGGERS.map((trigger) => `(${trigger.source})`).join("|"), "g"),
    byGroup: [[], ...TRIGGERS.map((trigger) => trigger.detectors)],
    patterns,
  };
}

/** The matches of the built-in detectors in `text`. */
function builtIn(text: string, scanner: Scanner, out: Match[]): void {
  const triggers = scanner.triggers!;
  /** Spans of opaque matches, in order: what starts inside one (a key's base64 body) is not looked at. */
  const opaque: Match[] = [];
  triggers.lastIndex = 0;
  for (let found = triggers.exec(text); found !== null; found = triggers.exec(text)) {
    const at = found.index;
    const last = opaque[opaque.length - 1];
    if (last !== undefined && at < last.end) {
      triggers.lastIndex = last.end;
      continue;
    }
    let group = 1;
    while (found[group] === undefined) group++;
    for (const detector of scanner.byGroup[group]!) {
      const before = out.length;
      detector.find(text, at, found[0], out);
      if (detector.opaque) for (let i = before; i < out.length; i++) opaque.push(out[i]!);
    }
    // Triggers may overlap (a key name inside a longer one): the next search starts one further.
    triggers.lastIndex = at + 1;
  }
  let next = 0;
  for (const [line, escaped] of lineStarts(text)) {
    while (next < opaque.length && opaque[next]!.end <= line) next++;
    if (next < opaque.length && opaque[next]!.start <= line) continue;
    for (const detector of LINE_DETECTORS) detector.find(text, line, escaped ? ESCAPED_NEWLINE : "", out);
  }
}

/** What a line start after an escaped newline is found as: text that quotes JSON (`{"out":"A=1\nB=2"}`) keeps its lines so. */
export const ESCAPED_NEWLINE = "\\n";

/**
 * Where lines start, in order: the text's start, after each newline, and after each escaped
 * one (a backslash and "n"), flagged. Each kind is searched for once per line, not per start.
 */
function* lineStarts(text: string): Generator<[number, boolean]> {
  yield [0, false];
  let newline = text.indexOf("\n");
  let escaped = text.indexOf(ESCAPED_NEWLINE);
  while (newline !== -1 || escaped !== -1) {
    if (escaped === -1 || (newline !== -1 && newline < escaped)) {
      yield [newline + 1, false];
      newline = text.indexOf("\n", newline + 1);
    } else {
      yield [escaped + 2, true];
      escaped = text.indexOf(ESCAPED_NEWLINE, escaped + 2);
    }
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

/** `text` with its matches replaced, adding to `counts`; undefined when nothing matched. */
export function redactText(text: string, scanner: Scanner, counts: Counts): string | undefined {
  const matches = findMatches(text, scanner);
  if (matches.length === 0) return undefined;
  const parts: string[] = [];
  let at = 0;
  for (const { start, end, name } of matches) {
    parts.push(text.slice(at, start), `[REDACTED:${name}]`);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    at = end;
  }
  parts.push(text.slice(at));
  return parts.join("");
}
