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
// Compiled at first use: most gateways never redact.
let secretKey: RE2JS | undefined;
const SECRET_KEY = (): RE2JS => (secretKey ??= RE2JS.compile(`(?:[A-Za-z0-9]+[_.-])*(?i:${SECRET_KEY_WORDS})(?:[_.-][A-Za-z0-9]+)*`));
/** Those words, lower-cased, as whole segments (two for api_key and the like): a cheap test before RE2's. */
const WORDS = new Set(["password", "passwd", "pass", "passphrase", "secret", "secrets", "token", "apikey", "privatekey", "accesskey", "credential", "credentials"]);
const PAIRS = new Set(["api key", "private key", "access key"]);

/** Whether a segment of `key` (split at _ . -), or two in a row, is one of WORDS (or PAIRS). */
function namesSecret(key: string): boolean {
  const segments = key.toLowerCase().split(/[_.-]/);
  for (let i = 0; i < segments.length; i++) {
    if (WORDS.has(segments[i]!) || (i > 0 && PAIRS.has(`${segments[i - 1]} ${segments[i]}`))) return true;
  }
  return false;
}
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

/**
 * What starts such a line (a JavaScript regex, no `i` flag: key words as classes per letter), at
 * a newline or an escaped one; the text's own start is looked at apart. Most lines fail at their
 * first characters; a key without one of the words in it never reaches RE2.
 */
const anyCase = (word: string): string => word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
export const ENV_TRIGGER = `(?:\n|\\\\n)[ \t]{0,64}(?:-[ \t]{1,8})?(?:export[ \t]{1,8})?[A-Za-z0-9_.-]{0,200}?(?:${["pass", "secret", "token", "key", "credential"].map(anyCase).join("|")})[A-Za-z0-9_.-]{0,200}[ \t]{0,8}=`;

export const envSecret: Detector = {
  name: "env-secret",
  rank: 0,
  find(text, at, found, out) {
    // Found at a newline, an escaped one ("\\n": a file quoted in JSON inside a text), or the text's start.
    const escaped = found.charCodeAt(0) === 0x5c;
    const line = escaped ? at + 2 : found.charCodeAt(0) === 0x0a ? at + 1 : at;
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
    if (!namesSecret(key) || !SECRET_KEY().matcher(key).matches()) return;
    const from = skipBlanks(text, i + 1);
    let end = text.indexOf("\n", from);
    if (end === -1) end = text.length;
    if (escaped) end = quotedEnd(text, from, end);
    while (end > from && (isBlank(text.charCodeAt(end - 1)) || text.charCodeAt(end - 1) === 0x0d)) end--;
    if (end > from) out.push({ start: from, end, name: envSecret.name, rank: envSecret.rank });
  },
};
