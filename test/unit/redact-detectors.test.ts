// The built-in detectors, one by one: real-looking samples each must redact (under its own
// name), and near-misses none may touch. Samples are the providers' documented examples or
// strings of their shape; none is a live credential.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DETECTOR_NAMES } from "../../src/redact/detectors.ts";
import { findMatches, redactText, type Counts } from "../../src/redact/scan-text.ts";
import { compileRedaction } from "../../src/redact/settings.ts";

const { scanner } = compileRedaction({ secrets: true }, undefined, "all_tools.redact")!;

/** The text with its secrets replaced, and the counts. */
function redact(text: string): { text: string; counts: Record<string, number> } {
  const counts: Counts = new Map();
  return { text: redactText(text, scanner, counts) ?? text, counts: Object.fromEntries(counts) };
}

const AWS_ID = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const GHP = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po0a1b";
const PEM = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
  "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
  "-----END RSA PRIVATE KEY-----",
].join("\n");
const JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

describe("built-in detectors: what each redacts", () => {
  const cases: Array<[name: string, text: string, expected: string]> = [
    ["private-key", `key:\n${PEM}\nafter`, "key:\n[REDACTED:private-key]\nafter"],
    ["private-key (PKCS#8)", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----", "[REDACTED:private-key]"],
    ["private-key (OpenSSH)", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n", "[REDACTED:private-key]\n"],
    ["private-key cut short (head of the file)", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBYX1l7cVq3MCoPpbhcDtvO1Lqr0c1q9v9uVf0SjF1yPoAoGCCqGSM49\nAwEHoUQDQgAE\n$ ", "[REDACTED:private-key]\n$ "],
    ["aws-access-key-id", `id ${AWS_ID} here`, "id [REDACTED:aws-access-key-id] here"],
    ["aws-access-key-id (temporary, ASIA)", "ASIAY34FZKBOKMUTVV7A", "[REDACTED:aws-access-key-id]"],
    ["aws-secret-access-key after its name", `aws_secret_access_key = ${AWS_SECRET}`, "aws_secret_access_key = [REDACTED:aws-secret-access-key]"],
    ["aws-secret-access-key in export-credentials JSON", `"SecretAccessKey": "${AWS_SECRET}",`, '"SecretAccessKey": "[REDACTED:aws-secret-access-key]",'],
    ["aws key pair in a credentials CSV", `Access key ID,Secret access key\n${AWS_ID},${AWS_SECRET}\n`, "Access key ID,Secret access key\n[REDACTED:aws-access-key-id],[REDACTED:aws-secret-access-key]\n"],
    ["github-token (classic)", `token: ${GHP}.`, "token: [REDACTED:github-token]."],
    ["github-token (OAuth, app, refresh)", "gho_16C7e42F292c6912E7710c838347Ae178B4a ghs_16C7e42F292c6912E7710c838347Ae178B4a", "[REDACTED:github-token] [REDACTED:github-token]"],
    ["github-token (fine-grained)", "github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU", "[REDACTED:github-token]"],
    ["gitlab-token", "PRIVATE-TOKEN: glpat-Xy3zAbCdEfGhIjKlMnOp", "PRIVATE-TOKEN: [REDACTED:gitlab-token]"],
    ["slack-token (bot)", "xoxb-2648493012-2702130437462-ZjJ5cTLkSg3ATfFzTm9bnQ0M", "[REDACTED:slack-token]"],
    ["slack-token (app-level)", "xapp-1-A01BCDEF2GH-1234567890123-0a1b2c3d4e5f", "[REDACTED:slack-token]"],
    ["stripe-key (live secret)", "sk_live_51H8example0123456789abcdEFGH", "[REDACTED:stripe-key]"],
    ["stripe-key (restricted, test)", "rk_live_0123456789abcdefABCDEF sk_test_4eC39HqLyjWDarjtT1zdp7dc", "[REDACTED:stripe-key] [REDACTED:stripe-key]"],
    ["google-api-key", "key=AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe&q=x", "key=[REDACTED:google-api-key]&q=x"],
    ["openai-key (legacy)", "sk-Ab3dEfGhIjKlMnOpT3BlbkFJQrStUvWxYz0123456789ab", "[REDACTED:openai-key]"],
    ["openai-key (project)", "OPENAI: sk-proj-Ab3dEf_GhIjKlMn-OpQrStUvWxYz0123456789abcdEF", "OPENAI: [REDACTED:openai-key]"],
    ["anthropic-key", "sk-ant-api03-Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789_abcdEFGH-ijklMNOP", "[REDACTED:anthropic-key]"],
    ["jwt", `Authorization: Bearer ${JWT}`, "Authorization: Bearer [REDACTED:jwt]"],
    ["env-secret", "DB_HOST=db\nDB_PASSWORD=hunter2\n", "DB_HOST=db\nDB_PASSWORD=[REDACTED:env-secret]\n"],
    ["env-secret (export, spaces, quotes, CRLF)", 'export API_KEY = "abc def"\r\nX=1', "export API_KEY = [REDACTED:env-secret]\r\nX=1"],
    ["env-secret (lower case, compose list)", "  - mysql_root_password=s3cr3t\n", "  - mysql_root_password=[REDACTED:env-secret]\n"],
    ["env-secret (a .env file quoted in JSON inside a text: escaped newlines)", 'out: {"stdout":"A=1\\nDB_PASSWORD=hunter2\\nB=2","rc":0}', 'out: {"stdout":"A=1\\nDB_PASSWORD=[REDACTED:env-secret]\\nB=2","rc":0}'],
    ["env-secret (quoted in JSON, last line: ends at the closing quote)", '{"s":"A=1\\nAPI_KEY=abc"}', '{"s":"A=1\\nAPI_KEY=[REDACTED:env-secret]"}'],
    ["env-secret (an escaped newline inside a real line is part of the value)", 'PRIVATE_KEY="MIIE\\nabc"\nX=1', "PRIVATE_KEY=[REDACTED:env-secret]\nX=1"],
    ["env-secret (secret-named keys)", "GITHUB_TOKEN=abc\nCLIENT_SECRET=def\nAWS_SESSION_TOKEN=ghi\nPRIVATE_KEY=jkl\nDB_PASS=mno\nCREDENTIALS=pqr", "GITHUB_TOKEN=[REDACTED:env-secret]\nCLIENT_SECRET=[REDACTED:env-secret]\nAWS_SESSION_TOKEN=[REDACTED:env-secret]\nPRIVATE_KEY=[REDACTED:env-secret]\nDB_PASS=[REDACTED:env-secret]\nCREDENTIALS=[REDACTED:env-secret]"],
  ];
  for (const [label, text, expected] of cases) {
    it(label, () => assert.equal(redact(text).text, expected));
  }

  it("names every detector it has", () => {
    assert.deepEqual(
      [...DETECTOR_NAMES].sort(),
      ["anthropic-key", "aws-access-key-id", "aws-secret-access-key", "env-secret", "github-token", "gitlab-token", "google-api-key", "jwt", "openai-key", "private-key", "slack-token", "stripe-key"],
    );
  });
});

describe("built-in detectors: near-misses left alone", () => {
  const misses: Array<[label: string, text: string]> = [
    ["AKIA followed by too few characters", "AKIAIOSFODNN7EXAMP is short"],
    ["AKIA inside a longer word", "XAKIAIOSFODNN7EXAMPLE and AKIAIOSFODNN7EXAMPLEXYZ"],
    ["a 40-character base64 string with no key name or key id near", `checksum ${AWS_SECRET} ok`],
    ['"password" in prose, without =', "Enter your password when asked; the password: field is required"],
    ["a key that names no secret", "PATH=/usr/bin\nPWD=/home/me\nMAX_TOKENS=4096\nTOKENIZER=bpe\nBYPASS_CACHE=1\nPRIMARY_KEY=id"],
    ["a secret-named key mid-line (code, not a .env line)", "const token = getToken(); let password = prompt();"],
    ["a secret-named key with no value", "DB_PASSWORD=\nAPI_KEY=   \n"],
    ["a sha256 hex digest", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    ["a git commit id (40 hex)", "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"],
    ["a UUID", "request 123e4567-e89b-12d3-a456-426614174000 done"],
    ["base64 of ordinary text", "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw=="],
    ["base64 of JSON without the JWT's dots", "eyJuYW1lIjoiSm9obiBEb2UiLCJhZ2UiOjQyfQ=="],
    ["hyphenated words after sk-", "task-list risk-free desk-top sk-learn-compatible-estimator-names"],
    ["token prefixes with too little after them", "ghp_short glpat-short xoxb-1 sk_live_x AIzaShort sk-ant-x"],
    ["a public certificate (not a private key)", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n-----END CERTIFICATE-----"],
    ["a Stripe publishable key", "pk_live_51H8example0123456789abcdEFGH"],
  ];
  for (const [label, text] of misses) {
    it(label, () => assert.deepEqual(findMatches(text, scanner), []));
  }
});

describe("built-in detectors: counts and overlaps", () => {
  it("counts each replacement under its detector's name", () => {
    const { counts } = redact(`${GHP} ${GHP}\nDB_PASSWORD=x\n${AWS_ID}`);
    assert.deepEqual(counts, { "github-token": 2, "env-secret": 1, "aws-access-key-id": 1 });
  });

  it("names a match found by two detectors after the more specific one, and counts it once", () => {
    const { text, counts } = redact(`AWS_ACCESS_KEY_ID=${AWS_ID}\nAWS_SECRET_ACCESS_KEY=${AWS_SECRET}\n`);
    assert.equal(text, "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]\nAWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]\n");
    assert.deepEqual(counts, { "aws-access-key-id": 1, "aws-secret-access-key": 1 });
  });

  it("merges overlapping matches so no part of either survives", () => {
    // The .env value holds a token and more; the whole value goes, as one replacement.
    const { text, counts } = redact(`GITHUB_TOKEN=Bearer ${GHP} extra\n`);
    assert.equal(text, "GITHUB_TOKEN=[REDACTED:env-secret]\n");
    assert.deepEqual(counts, { "env-secret": 1 });
  });

  it("does not look for tokens inside a private key's body", () => {
    const body = `-----BEGIN PRIVATE KEY-----\n${GHP}\n${AWS_ID}AAAA\n-----END PRIVATE KEY-----`;
    assert.deepEqual(redact(body).counts, { "private-key": 1 });
  });

  it("leaves a text with nothing to redact as the same string", () => {
    const counts: Counts = new Map();
    assert.equal(redactText("nothing here", scanner, counts), undefined);
    assert.equal(counts.size, 0);
  });
});
