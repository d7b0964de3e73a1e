// Which glob, of many, a tool name matches first, in file order, in time linear in the name
// (and makeMatcher: exact names, then that, cached per name):
// a tool name is the caller's text, and a backtracking engine can be made to take exponential
// or high-polynomial time on some globs (see backtrackSafe).
import { RE2JS, RE2Set } from "re2js";
import { backtrackSafe, GLOB_FLAGS, globSource, isGlob } from "./glob.ts";

/**
 * The index of the first glob in `patterns` that matches a name, in time linear in the name.
 * Backtrack-safe globs run as one native RegExp, alternatives in order, an empty group after
 * each marking which matched (a glob's source has none of its own); the others run as one
 * RE2 set, which reports every glob that matches. The lower index wins.
 */
export function firstMatch(patterns: readonly string[]): (name: string) => number | undefined {
  const fast: number[] = [];
  const slow: number[] = [];
  patterns.forEach((pattern, index) => (backtrackSafe(pattern) ? fast : slow).push(index));
  const native = fast.length === 0 ? undefined : new RegExp(`^(?:${fast.map((index) => `(?:${globSource(patterns[index]!)})()`).join("|")})$`, GLOB_FLAGS);
  let set: RE2Set | undefined;
  if (slow.length > 0) {
    set = new RE2Set(RE2Set.ANCHOR_BOTH, RE2JS.DOTALL);
    for (const index of slow) set.add(`(?:${globSource(patterns[index]!, "re2")})`);
    set.compile();
  }
  return (name) => {
    let first = Infinity;
    const match = native?.exec(name);
    if (match) {
      for (let i = 0; i < fast.length; i++) {
        if (match[i + 1] !== undefined) {
          first = fast[i]!;
          break;
        }
      }
    }
    if (set !== undefined) for (const k of set.match(name)) first = Math.min(first, slow[k]!);
    return first === Infinity ? undefined : first;
  };
}

/** Lookups are cached per tool name; a client inventing names cannot grow the cache past this. */
const CACHE_LIMIT = 10_000;

/** The value of the first glob, in file order, that matches a name (see firstMatch). */
function firstGlob<T>(globs: Array<[pattern: string, value: T]>): (name: string) => T | undefined {
  const first = firstMatch(globs.map(([pattern]) => pattern));
  return (name) => {
    const index = first(name);
    return index === undefined ? undefined : globs[index]![1];
  };
}

/**
 * Exact names in a Map (safe for "__proto__"), then the first matching glob, results cached.
 * A glob is never also an exact name: "a[bc]" matches "ab" and "ac", not the text "a[bc]".
 */
export function makeMatcher<T>(items: Array<[pattern: string, value: T]>): (name: string) => T | undefined {
  const exact = new Map<string, T>();
  const globs: Array<[string, T]> = [];
  for (const [pattern, value] of items) {
    if (isGlob(pattern)) globs.push([pattern, value]);
    else if (!exact.has(pattern)) exact.set(pattern, value);
  }
  if (globs.length === 0) return (name) => exact.get(name);
  const glob = firstGlob(globs);
  const cache = new Map<string, T | undefined>();
  return (name) => {
    const hit = exact.get(name);
    if (hit !== undefined) return hit;
    if (cache.has(name)) return cache.get(name);
    const found = glob(name);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(name, found);
    return found;
  };
}
