// What a detector is, and the common kind: an RE2 pattern run on a small window of the text
// around a trigger, so that RE2's cost follows the triggers found, not the text's length.
import { RE2JS } from "re2js";

export interface Match {
  start: number;
  end: number;
  name: string;
  /** Which of two matches of the same span names it: the lower (the more specific detector). */
  rank: number;
}

export interface Detector {
  name: string;
  /** Its place among the detectors (set where they are listed): see Match.rank. */
  rank: number;
  /** Adds the matches around a trigger that starts at `at` and reads `found` (for a line detector: the line's start). */
  find(text: string, at: number, found: string, out: Match[]): void;
  /** Triggers inside its matches are not looked at (a private key's base64 body). */
  opaque?: true;
}

/** Characters a token is made of (base64, base64url, JWT dots, key prefixes). */
export function isTokenChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x2b || c === 0x2f || c === 0x3d;
}

/** Characters of a key name in `KEY=value`. */
export function isKeyChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e || c === 0x2d;
}

export const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

export function skipBlanks(text: string, i: number): number {
  while (isBlank(text.charCodeAt(i))) i++;
  return i;
}

export interface WindowOptions {
  /** How far before its trigger a match may start. */
  before?: number;
  /** How far after its trigger's start a match may end. */
  after: number;
  /** The capture group replaced (0: the whole match). */
  group?: number;
  /** The match is one run of token characters: the window ends where the run does. */
  token?: boolean;
  /** A cheap test of the text at the trigger, before RE2 is run at all. */
  precheck?(text: string, at: number): boolean;
}

/**
 * A detector whose matches contain their trigger and lie within `before` and `after` of it.
 * One more character is kept each side of the window, so \b and end checks read the real
 * neighbours.
 */
export function windowed(name: string, pattern: string, options: WindowOptions): Detector {
  // Compiled at first use: RE2 expands counted repetition ({20,250}) into states, and every
  // gateway loads the detectors, most with no `redact` at all (start-up paid ~70 ms for them).
  let re: RE2JS | undefined;
  const { before = 0, after, group = 0, token = false, precheck } = options;
  const detector: Detector = {
    name,
    rank: 0,
    find(text, at, _found, out) {
      if (precheck !== undefined && !precheck(text, at)) return;
      const from = Math.max(0, at - before - 1);
      let to = Math.min(text.length, at + after);
      if (token) {
        let end = at;
        while (end < to && isTokenChar(text.charCodeAt(end))) end++;
        to = end;
      }
      re ??= RE2JS.compile(pattern);
      const matcher = re.matcher(text.slice(from, Math.min(text.length, to + 1)));
      const trigger = at - from;
      while (matcher.find()) {
        if (matcher.start() > trigger) return;
        if (matcher.end() <= trigger) continue;
        const start = matcher.start(group);
        const end = matcher.end(group);
        if (end > start) out.push({ start: from + start, end: from + end, name, rank: detector.rank });
      }
    },
  };
  return detector;
}
