// Redaction end to end (SPEC §13): the built gateway in front of the real bash-mcp, driven by the
// SDK's Client. Secrets a command prints never reach the client or the audit log; the rest of
// its output does; a tool without redact gets the server's bytes unchanged; a result over
// max_bytes is withheld; a server's log message is redacted too.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { bashMcp, call, connect, INIT, lines, rawServer, runGateway, tempDir, text, writePolicy } from "./helpers.ts";

const AWS_ID = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const GHP = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po0a1b";
const PEM_BODY = ["MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK"];
const PASSWORD = "hunter2";
/** What must never reach the client or the log. */
const SECRETS = [AWS_ID, AWS_SECRET, GHP, ...PEM_BODY, PASSWORD];

const FILE = [
  "# deploy settings",
  `AWS_ACCESS_KEY_ID=${AWS_ID}`,
  `AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`,
  "AWS_REGION=eu-west-1",
  `deploy token: ${GHP}`,
  "-----BEGIN RSA PRIVATE KEY-----",
  ...PEM_BODY,
  "-----END RSA PRIVATE KEY-----",
  `DB_PASSWORD=${PASSWORD}`,
  "DB_HOST=db.internal",
  "",
].join("\n");
/** FILE as the client must see it. */
const REDACTED = [
  "# deploy settings",
  "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]",
  "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]",
  "AWS_REGION=eu-west-1",
  "deploy token: [REDACTED:github-token]",
  "[REDACTED:private-key]",
  "DB_PASSWORD=[REDACTED:env-secret]",
  "DB_HOST=db.internal",
  "",
].join("\n");
/** The lines that are no secret and must arrive as they are. */
const KEPT = ["# deploy settings", "AWS_REGION=eu-west-1", "DB_HOST=db.internal", "deploy token: ", "AWS_ACCESS_KEY_ID=", "DB_PASSWORD="];

function secretsFile(): string {
  const path = join(tempDir(), "settings.env");
  writeFileSync(path, FILE);
  return path;
}

/** bash-mcp answers `run` with JSON text; its stdout member is what the command printed. */
function stdout(result: unknown): string {
  return (JSON.parse(text(result)) as { stdout: string }).stdout;
}

/** The audit log's events, once the gateway has written its stop event (it exits after the client closes). */
async function auditEvents(path: string): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 250 && !(existsSync(path) && readFileSync(path, "utf8").includes('"event":"stop"')); i++) await delay(20);
  return readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("redaction with bash-mcp", () => {
  it("cat of a file of secrets: none reaches the client, the rest does, _meta counts them, the audit log holds counts only", async () => {
    const audit = join(tempDir(), "audit.jsonl");
    const gate = await connect(writePolicy('version: "1"\ndefault: allow\ntools:\n  run: { redact: { secrets: true } }\n'), bashMcp(), { gatewayArgs: ["--audit", audit] });
    let result: Awaited<ReturnType<typeof gate.client.callTool>>;
    try {
      result = await gate.client.callTool({ name: "run", arguments: { command: `cat ${secretsFile()}` } });
    } finally {
      await gate.close();
    }
    const wire = JSON.stringify(result);
    for (const secret of SECRETS) assert.ok(!wire.includes(secret), `${secret} reached the client`);
    const printed = stdout(result);
    for (const line of KEPT) assert.ok(printed.includes(line), `${JSON.stringify(line)} is missing from ${printed}`);
    assert.equal(printed, REDACTED);
    assert.deepEqual(result._meta?.["mcpgate/redactions"], { "aws-access-key-id": 1, "aws-secret-access-key": 1, "github-token": 1, "private-key": 1, "env-secret": 1 });

    const log = await auditEvents(audit);
    const record = log.find((event) => event.event === "call" && event.tool === "run")!;
    assert.deepEqual(record.redactions, { "aws-access-key-id": 1, "aws-secret-access-key": 1, "github-token": 1, "private-key": 1, "env-secret": 1 });
    const written = readFileSync(audit, "utf8");
    for (const secret of SECRETS) assert.ok(!written.includes(secret), `${secret} is in the audit log`);
  });

  it("a custom pattern is redacted under its own name", async () => {
    const policy = 'version: "1"\ndefault: allow\nall_tools:\n  redact:\n    patterns: [{ name: employee-id, regex: "EMP-[0-9]{6}" }]\n';
    const gate = await connect(writePolicy(policy), bashMcp());
    try {
      const result = await gate.client.callTool({ name: "run", arguments: { command: "echo 'badge EMP-123456, desk 4.12'" } });
      assert.equal(stdout(result), "badge [REDACTED:employee-id], desk 4.12\n");
      // bash-mcp echoes the command back in its answer: that copy is redacted too.
      assert.equal((JSON.parse(text(result)) as { command: string }).command, "echo 'badge [REDACTED:employee-id], desk 4.12'");
      assert.deepEqual(result._meta?.["mcpgate/redactions"], { "employee-id": 2 });
    } finally {
      await gate.close();
    }
  });

  it("a tool without redact gets the server's bytes unchanged, secrets and all", async () => {
    const file = secretsFile();
    const input = lines(INIT, { jsonrpc: "2.0", method: "notifications/initialized" }, call(1, "run", { command: `cat ${file}` }));
    // Another tool redacts: this one is still not decoded.
    const policy = writePolicy('version: "1"\ndefault: allow\ntools:\n  run_background: { redact: { secrets: true } }\n  run: {}\n');
    const gated = await runGateway(["--policy", policy, "--no-audit", "--", ...bashMcp()], input, { until: (out) => out.includes('"id":1}') });
    const direct = await new Promise<string>((resolve, reject) => {
      const [command, ...args] = bashMcp();
      const child = spawn(command!, args, { stdio: ["pipe", "pipe", "ignore"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (out.includes('"id":1}')) child.stdin.end();
      });
      child.on("error", reject);
      child.on("close", () => resolve(out));
      child.stdin.write(input);
    });
    const answer = (out: string): string => out.split("\n").find((line) => line.endsWith('"id":1}'))!;
    assert.ok(answer(direct).includes(GHP));
    assert.equal(answer(gated.stdout), answer(direct));
  });

  it("a result over max_bytes is withheld: an isError result that says so, none of its bytes", async () => {
    const big = join(tempDir(), "big.env");
    writeFileSync(big, `${FILE}${"filler line\n".repeat(400)}`);
    const gate = await connect(writePolicy('version: "1"\ndefault: allow\nall_tools:\n  redact: { max_bytes: 1KiB }\n'), bashMcp());
    try {
      const result = await gate.client.callTool({ name: "run", arguments: { command: `cat ${big}` } });
      assert.equal(result.isError, true);
      assert.match(text(result), /^mcpgate withheld the result of run: it was \d+ bytes, larger than all_tools\.redact\.max_bytes \(1024 bytes\), so it could not be scanned for secrets$/);
      assert.doesNotMatch(JSON.stringify(result), /filler|hunter2/);
      // A small result of the same tool still comes through, redacted.
      const small = await gate.client.callTool({ name: "run", arguments: { command: `echo DB_PASSWORD=${PASSWORD}` } });
      assert.equal(stdout(small), "DB_PASSWORD=[REDACTED:env-secret]\n");
    } finally {
      await gate.close();
    }
  });

});

describe("redaction of results past the 1 MiB streaming threshold", () => {
  // bash-mcp cuts its output at 50 KiB: the fixture server answers with as much as asked.
  it("holds such a result whole and redacts it, or withholds it past max_bytes", async () => {
    const filler = `${"x".repeat(99)}\n`.repeat(20_000);
    const gate = await connect(writePolicy('version: "1"\ndefault: allow\nall_tools:\n  redact: { max_bytes: 8MiB }\n'), rawServer());
    try {
      const held = await gate.client.callTool({ name: "echo", arguments: { text: filler + FILE } });
      assert.notEqual(held.isError, true);
      assert.equal(text(held), `echo: ${JSON.stringify({ text: filler + FILE })}`.replace(AWS_ID, "[REDACTED:aws-access-key-id]").replace(AWS_SECRET, "[REDACTED:aws-secret-access-key]").replace(GHP, "[REDACTED:github-token]").replace(/-----BEGIN RSA[^]*END RSA PRIVATE KEY-----/, "[REDACTED:private-key]").replace(`DB_PASSWORD=${PASSWORD}\\n`, "DB_PASSWORD=[REDACTED:env-secret]\\n"));
    } finally {
      await gate.close();
    }
    const small = await connect(writePolicy('version: "1"\ndefault: allow\nall_tools:\n  redact: { max_bytes: 1MiB }\n'), rawServer());
    try {
      const withheld = await small.client.callTool({ name: "big", arguments: { bytes: 2_000_000 } });
      assert.equal(withheld.isError, true);
      assert.match(text(withheld), /^mcpgate withheld the result of big: it was \d+ bytes, larger than all_tools\.redact\.max_bytes \(1048576 bytes\)/);
      assert.doesNotMatch(JSON.stringify(withheld), /xxxx/);
      // The session goes on.
      assert.equal(text(await small.client.callTool({ name: "echo", arguments: { n: 1 } })), 'echo: {"n":1}');
    } finally {
      await small.close();
    }
  });
});

describe("redaction of a server's log messages", () => {
  it("redacts notifications/message under all_tools' redact", async () => {
    const messages: unknown[] = [];
    const gate = await connect(writePolicy('version: "1"\ndefault: allow\nall_tools:\n  redact: { secrets: true }\n'), rawServer(), {
      setup: (client) => client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => void messages.push(notification.params)),
    });
    try {
      await gate.client.callTool({ name: "log", arguments: { data: { note: "connecting", env: `GITHUB_TOKEN=${GHP}\n` } } });
      assert.deepEqual(messages, [
        { level: "info", logger: "raw-server", data: { note: "connecting", env: "GITHUB_TOKEN=[REDACTED:github-token]\n" }, _meta: { "mcpgate/redactions": { "github-token": 1 } } },
      ]);
    } finally {
      await gate.close();
    }
  });
});
