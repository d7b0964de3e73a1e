// The built-in secret detectors of `redact: { secrets: true }`. Each has a name (what a match
// becomes, [REDACTED:<name>], and what is counted) and an RE2 pattern that decides every match.
// RE2 runs only on a window around a trigger: a fixed alternation of literals and bounded
// classes (no unbounded repetition, so linear on any text) that every match of the detector
// contains. One pass of the triggers over a text costs about what an indexOf does; RE2 over
// the whole text, once per detector, would cost many times the relay of the bytes.
import { RE2JS } from "re2js";
import { ENV_TRIGGER, envSecret } from "./env-secret.ts";
import { isBlank, isKeyChar, skipBlanks, windowed, type Detector } from "./window.ts";

export interface Trigger {
  /** JavaScript regular expression source: literals and bounded classes only. */
  source: string;
  detectors: Detector[];
}

/** How far a private key may run from its BEGIN line to its END line (an RSA 16384-bit key is ~12 KiB). */
const PEM_SPAN = 64 * 1024;
// Compiled at first use, like windowed()'s patterns: most gateways never redact.
let pem: RE2JS | undefined;
const PEM = (): RE2JS =>
  (pem ??= RE2JS.compile(
    // Through its END line; or, cut short (`head` of a key file), through its base64 body.
    "-----BEGIN[ A-Z0-9]*PRIVATE KEY-----(?:[\\s\\S]*?-----END[ A-Z0-9]*PRIVATE KEY-----|(?:(?:\\s|\\\\[nr])*[A-Za-z0-9+/=]+)*)",
  ));
const privateKey: Detector = {
  name: "private-key",
  rank: 0,
  opaque: true,
  find(text, at, _found, out) {
    const window = text.slice(at, Math.min(text.length, at + PEM_SPAN));
    const end = window.indexOf("-----END");
    const matcher = PEM().matcher(end === -1 ? window : window.slice(0, end + 64));
    if (matcher.find() && matcher.start() === 0) out.push({ start: at, end: at + matcher.end(), name: privateKey.name, rank: privateKey.rank });
  },
};

const isBase64 = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2f;
const isQuote = (c: number): boolean => c === 0x22 || c === 0x27;
/** What may stand between a key id and its secret: blanks, line ends, `,` `;` `:` `|`. */
const isSeparator = (c: number): boolean => isBlank(c) || c === 0x0a || c === 0x0d || c === 0x2c || c === 0x3b || c === 0x3a || c === 0x7c;

/** Whether exactly 40 base64 characters (a secret access key's length) start at `i`. */
function forty(text: string, i: number): boolean {
  let n = 0;
  while (n <= 40 && isBase64(text.charCodeAt(i + n))) n++;
  return n === 40;
}

/** After "secret" at `at`: the rest of a key name, `:` or `=`, and 40 base64 characters. */
function secretValueFollows(text: string, at: number): boolean {
  let i = at + 6;
  const reach = Math.min(text.length, i + 24);
  while (i < reach && isKeyChar(text.charCodeAt(i))) i++;
  if (isQuote(text.charCodeAt(i))) i++;
  i = skipBlanks(text, i);
  if (text.charCodeAt(i) !== 0x3a && text.charCodeAt(i) !== 0x3d) return false;
  i = skipBlanks(text, i + 1);
  if (isQuote(text.charCodeAt(i))) i++;
  return forty(text, i);
}

const awsAccessKeyId = windowed("aws-access-key-id", "\\b(?:AKIA|ASIA)[A-Z0-9]{16}\\b", { after: 20, token: true });
/** A secret access key is 40 characters of base64 that nothing marks: only its context does. */
const SECRET_40 = '["\']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)';
const awsSecretByName = windowed("aws-secret-access-key", `(?i:(?:aws)?[_.-]?secret[_.-]?(?:access)?[_.-]?key)["']?[ \\t]{0,8}[:=][ \\t]{0,8}${SECRET_40}`, {
  before: 8,
  after: 100,
  group: 1,
  precheck: secretValueFollows,
});
const awsSecretAfterId = windowed("aws-secret-access-key", `\\b(?:AKIA|ASIA)[A-Z0-9]{16}["']?[\\s,;:|]{1,8}${SECRET_40}`, {
  after: 80,
  group: 1,
  precheck: (text, at) => {
    let i = at + 20;
    if (isQuote(text.charCodeAt(i))) i++;
    const start = i;
    while (i - start < 8 && isSeparator(text.charCodeAt(i))) i++;
    if (i === start) return false;
    if (isQuote(text.charCodeAt(i))) i++;
    return forty(text, i);
  },
});
const github = windowed("github-token", "\\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,244})\\b", { after: 256, token: true });
const gitlab = windowed("gitlab-token", "\\bglpat-[A-Za-z0-9_-]{20,250}", { after: 256, token: true });
const slack = windowed("slack-token", "\\b(?:xox[abprs]-|xapp-[0-9]-)[A-Za-z0-9-]{10,250}", { after: 260, token: true });
const stripe = windowed("stripe-key", "\\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}\\b", { after: 256, token: true });
const google = windowed("google-api-key", "\\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)", { after: 40, group: 1, token: true });
const anthropic = windowed("anthropic-key", "\\bsk-ant-[A-Za-z0-9_-]{20,250}", { after: 260, token: true });
const openai = windowed("openai-key", "\\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,250}|[A-Za-z0-9]{20,250})", { after: 260, token: true });
/** Header (base64url of JSON: "eyJ"), payload, signature (empty for alg "none"). */
const jwt = windowed("jwt", "\\beyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*", { after: 32 * 1024, token: true });

/**
 * The triggers, at most one of which can match at any position (they differ in their first
 * three characters; a line's starts at its newline), each with the detectors it starts.
 */
export const TRIGGERS: readonly Trigger[] = [
  { source: "-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY-----", detectors: [privateKey] },
  { source: "A[KS]IA[A-Z0-9]{16}", detectors: [awsAccessKeyId, awsSecretAfterId] },
  { source: `(?:[sS]ecret|SECRET)[A-Za-z0-9_.-]{0,24}(?:\\\\?["'])?[ \t]{0,8}[:=]`, detectors: [awsSecretByName] },
  { source: "gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22}", detectors: [github] },
  { source: "glpat-[A-Za-z0-9_-]{20}", detectors: [gitlab] },
  { source: "xox[abprs]-[A-Za-z0-9-]{10}|xapp-[0-9]-[A-Za-z0-9-]{10}", detectors: [slack] },
  { source: "[sr]k_(?:live|test)_[A-Za-z0-9]{16}", detectors: [stripe] },
  { source: "AIza[0-9A-Za-z_-]{35}", detectors: [google] },
  { source: "sk-(?:ant-|(?:proj|svcacct|admin)-|[A-Za-z0-9]{20})", detectors: [anthropic, openai] },
  { source: "eyJ[A-Za-z0-9_-]{10}", detectors: [jwt] },
  { source: ENV_TRIGGER, detectors: [envSecret] },
];

/** Detectors looked for at the start of a text, where no trigger can start a line. */
export const START_DETECTORS: readonly Detector[] = [envSecret];

/** Every built-in detector, most specific first: a match's rank is its detector's place here. */
const ALL: readonly Detector[] = [privateKey, awsAccessKeyId, awsSecretByName, awsSecretAfterId, github, gitlab, slack, stripe, google, anthropic, openai, jwt, envSecret];
ALL.forEach((detector, index) => (detector.rank = index));

/** Every built-in detector's name: names a custom pattern may not take. */
export const DETECTOR_NAMES: readonly string[] = [...new Set(ALL.map((detector) => detector.name))];
