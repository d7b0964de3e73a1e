// "unknown key "windw" (did you mean "window"?)": a misspelt key named, with the key it was
// probably meant to be, when exactly that is one edit away.

/** Whether `a` and `b` are at most one edit apart: one insertion, deletion, substitution or swap of neighbours. */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const restA = a.slice(start, endA);
  const restB = b.slice(start, endB);
  if (restA.length <= 1 && restB.length <= 1) return true; // one substitution, insertion or deletion
  return restA.length === 2 && restB.length === 2 && restA[0] === restB[1] && restA[1] === restB[0]; // a swap
}

/** The known key `key` was probably meant to be: one edit away, case aside; the first such in `known`. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return known.find((candidate) => candidate !== key && oneEditApart(lower, candidate.toLowerCase()));
}

/** `unknown key "windw"`, and `(did you mean "window"?)` when one of `known` is one edit away. */
export function unknownKeyMessage(key: string, known: readonly string[] | undefined): string {
  const suggestion = known === undefined ? undefined : suggestKey(key, known);
  return `unknown key ${JSON.stringify(key)}${suggestion === undefined ? "" : ` (did you mean ${JSON.stringify(suggestion)}?)`}`;
}
