// A text like what a shell or log tool answers with, for the redaction rows of the benchmark:
// access logs, stack traces, code, config dumps, prose that says "token" and "password",
// hashes, UUIDs and base64, and every 1 MiB or so a secret the built-in detectors redact.
// Deterministic, so the benchmark's client knows what each target must deliver.
const LINES = [
  '10.0.3.17 - - [02/Jan/2026:10:00:00 +0000] "GET /api/v1/users?page=2&limit=50 HTTP/1.1" 200 5123 "-" "Mozilla/5.0"',
  "2026-01-02T10:00:00.123Z INFO  request handled in 12ms path=/api/v1/users status=200 user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736",
  "    at Object.<anonymous> (/srv/app/node_modules/express/lib/router/index.js:284:7)",
  "const token = await getToken(request); if (token === undefined) return deny(\"no token\");",
  "Password reset emails are sent by the auth service; see the secret rotation runbook before changing them.",
  "export PATH=/usr/local/bin:/usr/bin:/bin",
  "LOG_LEVEL=info",
  "MAX_TOKENS=4096",
  'SELECT id, name, created_at FROM users WHERE org_id = 42 AND status = \'active\' ORDER BY created_at DESC;',
  "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  dist/app.tar.gz",
  "request 123e4567-e89b-12d3-a456-426614174000 took 42ms (task-list risk-free desk-top)",
  '{"level":"debug","msg":"cache miss","key":"user:1234:profile","ttl":300,"hit_ratio":0.93}',
  "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZyBhbmQga2VlcHMgb24gcnVubmluZw==",
  "WARN  retrying upstream call (attempt 2/5) after ECONNRESET on 10.0.7.4:5432",
];
const SECRETS = [
  "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
  "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "deploy token: ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po0a1b",
  "DB_PASSWORD=hunter2",
];

/** About `bytes` bytes of log-like text (never more), lines in a fixed pseudo-random order. */
export function logText(bytes) {
  const parts = [];
  let size = 0;
  let seed = 1;
  let nextSecret = 1 << 20;
  for (;;) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const line = size >= nextSecret ? SECRETS[(nextSecret >> 20) % SECRETS.length] : LINES[seed % LINES.length];
    if (size >= nextSecret) nextSecret += 1 << 20;
    if (size + line.length + 1 > bytes) break;
    parts.push(line);
    size += line.length + 1;
  }
  return `${parts.join("\n")}\n`;
}
