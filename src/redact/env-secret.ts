// `KEY=value` lines whose key names a secret (`DB_PASSWORD=…`, `  export GITHUB_TOKEN = …`,
// `- API_KEY=…` in a compose file's list): the value, to the end of its line, is replaced; the
// key is kept. Looked for at the start of every line, by hand first: most lines fail at their
// first characters, and RE2 sees only a key that may name a secret. A line may also start after
// an escaped newline (a file quoted in JSON inside a text): its value then ends at the next
// escaped line end or at an unescaped quote (the end of the JSON string), if not before.
import { RE2JS } from "re2js";
import { isBlank, isKeyChar, skipBlanks, type Detector } from "./window.ts";

/** Key names that say their value is a secret, as whole segments of the key (DB_PASSWORD, api-key, not MAX_TOKENS). */
const SECRET_KEY_WORDS = "password|passwd|pass|passphrase|secret|secrets|token|apikey|api[_.-]key|private[_.-]?key|access[_.-]?key|credential|credentials";
const SECRET_KEY = RE2JS.compile(`(?:[A-Za-z0-9]+[_.-])*(?i:${SECRET_KEY_WORDS})(?:[_.-][A-Za-z0-9]+)*`);
/** What each of those words holds, lower-cased: a cheap test before RE2's. */
const KEY_PARTS = ["pass", "secret", "token", "key", "credential"];
/** How long a key may be. */
const KEY_REACH = 256;
const EXPORT = "export";

/** Where a value quoted in JSON ends, before `end`: at an escaped \n or \r, or at an unescaped quote. */
function quotedEnd(text: string, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i;
    if (c === 0x5c) {
      const next = text.charCodeAt(i + 1);
      if (next === 0x6e || next === 0x72) return i;
      i++;
    }
  }
  return end;
}

export const envSecret: Detector = {
  name: "env-secret",
  rank: 0,
  find(text, line, found, out) {
    let i = skipBlanks(text, line);
    if (text.charCodeAt(i) === 0x2d && isBlank(text.charCodeAt(i + 1))) i = skipBlanks(text, i + 1);
    if (text.startsWith(EXPORT, i) && isBlank(text.charCodeAt(i + EXPORT.length))) i = skipBlanks(text, i + EXPORT.length);
    const keyStart = i;
    const reach = Math.min(text.length, i + KEY_REACH);
    while (i < reach && isKeyChar(text.charCodeAt(i))) i++;
    const keyEnd = i;
    i = skipBlanks(text, i);
    if (keyEnd === keyStart || text.charCodeAt(i) !== 0x3d) return;
    const key = text.slice(keyStart, keyEnd);
    const lower = key.toLowerCase();
    if (!KEY_PARTS.some((part) => lower.includes(part)) || !SECRET_KEY.matcher(key).matches()) return;
    const from = skipBlanks(text, i + 1);
    let end = text.indexOf("\n", from);
    if (end === -1) end = text.length;
    if (found !== "") end = quotedEnd(text, from, end);
    while (end > from && (isBlank(text.charCodeAt(end - 1)) || text.charCodeAt(end - 1) === 0x0d)) end--;
    if (end > from) out.push({ start: from, end, name: envSecret.name, rank: envSecret.rank });
  },
};
