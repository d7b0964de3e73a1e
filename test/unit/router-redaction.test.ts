// What comes back through the router when a policy redacts (SPEC §13): answers to calls of
// tools with `redact` are redacted or withheld, others pass byte for byte, large lines are held
// whole only while they may need it, log messages are redacted under all_tools' redact, and
// the audit log gets counts. The router driven directly, no processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditEvent, AuditLog } from "../../src/audit/log.ts";
import { recordingRouter } from "./harness.ts";

const GHP = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po0a1b";
const POLICY = `version: "1"
default: allow
tools:
  cat: { redact: { secrets: true, max_bytes: 300 } }
  "log_*": { redact: { patterns: [{ name: ticket, regex: "TCK-[0-9]+" }] } }
  plain: {}
`;
const LOGGED = `version: "1"\ndefault: allow\nall_tools:\n  redact: { secrets: true, max_bytes: 400 }\ntools:\n  raw: { redact: { secrets: false } }\n`;

function harness(policy = POLICY, options: { dryRun?: boolean } = {}) {
  const events: AuditEvent[] = [];
  const audit: AuditLog = { path: undefined, enabled: true, write: (event) => events.push(event), close: async () => {} };
  const warnings: string[] = [];
  const h = recordingRouter(policy, { ...options, audit, log: { verbose: false, warn: (message) => warnings.push(message), info: () => {} } });
  return { ...h, events, warnings, calls: () => events.filter((event) => event.event === "call") };
}

const call = (id: number, name: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{}}}\n`;
const answer = (id: number, text: string) => `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":${JSON.stringify(text)}}]}}\n`;

describe("Router: redacted answers", () => {
  it("redacts the answer to a call of a tool with redact, and records the counts (never the text) in the audit log", () => {
    const h = harness();
    h.client(call(1, "cat"));
    h.server(answer(1, `token ${GHP}\nDB_PASSWORD=hunter2\n`));
    const reply = JSON.parse(h.toClient[0]!);
    assert.equal(reply.result.content[0].text, "token [REDACTED:github-token]\nDB_PASSWORD=[REDACTED:env-secret]\n");
    assert.deepEqual(reply.result._meta, { "mcpgate/redactions": { "github-token": 1, "env-secret": 1 } });
    const [record] = h.calls();
    assert.deepEqual(record!.redactions, { "github-token": 1, "env-secret": 1 });
    assert.equal(record!.is_error, false);
    assert.doesNotMatch(JSON.stringify(h.events), /ghp_|hunter2/);
    assert.deepEqual(h.warnings, ["redacted cat's result [tools.cat.redact]: github-token ×1, env-secret ×1"]);
  });

  it("passes the answer to a tool without redact byte for byte, secrets and all", () => {
    const h = harness();
    h.client(call(1, "plain"));
    const line = answer(1, `token ${GHP}`);
    h.server(line);
    assert.deepEqual(h.toClient, [line]);
    assert.equal(h.calls()[0]!.redactions, undefined);
  });

  it("uses a glob entry's custom pattern, with the built-in detectors unless secrets is false", () => {
    const h = harness(`${POLICY}  "quiet_*": { redact: { secrets: false, patterns: [{ name: ticket, regex: "TCK-[0-9]+" }] } }\n`);
    h.client(call(1, "log_tail"));
    h.server(answer(1, `TCK-42 ${GHP}`));
    h.client(call(2, "quiet_tail"));
    h.server(answer(2, `TCK-42 ${GHP}`));
    assert.equal(JSON.parse(h.toClient[0]!).result.content[0].text, "[REDACTED:ticket] [REDACTED:github-token]");
    assert.equal(JSON.parse(h.toClient[1]!).result.content[0].text, `[REDACTED:ticket] ${GHP}`);
  });

  it("withholds an answer larger than max_bytes: an isError result that says so, and nothing of the server's bytes", () => {
    const h = harness();
    h.client(call(4, "cat"));
    const line = answer(4, `${GHP} ${"x".repeat(400)}`);
    h.server(line);
    const reply = JSON.parse(h.toClient[0]!);
    assert.equal(reply.id, 4);
    assert.equal(reply.result.isError, true);
    assert.equal(reply.result.content[0].text, `mcpgate withheld the result of cat: it was ${line.length} bytes, larger than tools.cat.redact.max_bytes (300 bytes), so it could not be scanned for secrets`);
    assert.doesNotMatch(h.toClient.join(""), /ghp_|xxxx/);
    assert.equal(h.calls()[0]!.is_error, true);
    assert.match(String(h.calls()[0]!.error), /^result withheld: it was \d+ bytes, larger than tools\.cat\.redact\.max_bytes/);
  });

  it("withholds an answer whose strings cannot be decoded (fail closed)", () => {
    const h = harness();
    h.client(call(1, "cat"));
    h.server('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"bad \\x escape"}]}}\n');
    const reply = JSON.parse(h.toClient[0]!);
    assert.equal(reply.result.isError, true);
    assert.match(reply.result.content[0].text, /^mcpgate withheld the result of cat: it could not be decoded to be scanned for secrets/);
  });

  it("redacts a JSON-RPC error's message too", () => {
    const h = harness();
    h.client(call(1, "cat"));
    h.server(`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"auth failed for ${GHP}"}}\n`);
    assert.equal(JSON.parse(h.toClient[0]!).error.message, "auth failed for [REDACTED:github-token]");
  });

  it("redacts in a dry run, where calls are forwarded without a verdict", () => {
    const h = harness(`version: "1"\ndefault: deny\nall_tools:\n  redact: {}\n`, { dryRun: true });
    h.client(call(1, "anything"));
    assert.equal(h.toServer.length, 1);
    h.server(answer(1, GHP));
    assert.equal(JSON.parse(h.toClient[0]!).result.content[0].text, "[REDACTED:github-token]");
  });

  it("redacts the late answer to a call the client cancelled", () => {
    const h = harness();
    h.client(call(3, "cat"));
    h.client('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}\n');
    h.server(answer(3, GHP));
    assert.equal(JSON.parse(h.toClient.at(-1)!).result.content[0].text, "[REDACTED:github-token]");
  });

  it("redacts the elements of a server batch one by one", () => {
    const h = harness();
    h.client(`[${call(1, "cat").trim()},${call(2, "plain").trim()}]\n`);
    h.server(`[${answer(1, GHP).trim()},${answer(2, GHP).trim()}]\n`);
    const [first, second] = JSON.parse(h.toClient[0]!);
    assert.equal(first.result.content[0].text, "[REDACTED:github-token]");
    assert.equal(second.result.content[0].text, GHP);
  });
});

describe("Router: log messages", () => {
  const log = (data: unknown) => `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":${JSON.stringify(data)}}}\n`;

  it("redacts a server's notifications/message under all_tools' redact, and passes other notifications as they are", () => {
    const h = harness(LOGGED);
    h.server(log({ line: `using ${GHP}` }));
    const progress = `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1,"message":"${GHP}"}}\n`;
    h.server(progress);
    const redacted = JSON.parse(h.toClient[0]!);
    assert.deepEqual(redacted.params.data, { line: "using [REDACTED:github-token]" });
    assert.deepEqual(redacted.params._meta, { "mcpgate/redactions": { "github-token": 1 } });
    assert.equal(h.toClient[1], progress);
  });

  it("does not redact log messages when only tool entries redact", () => {
    const h = harness();
    const line = log(GHP);
    h.server(line);
    assert.deepEqual(h.toClient, [line]);
  });

  it("drops a log message larger than max_bytes", () => {
    const h = harness(LOGGED);
    h.server(log("y".repeat(500)));
    assert.deepEqual(h.toClient, []);
    assert.match(h.warnings[0]!, /^dropped a server log message of \d+ bytes: it is larger than all_tools\.redact\.max_bytes \(400\)/);
  });
});

describe("Router: large lines and redaction", () => {
  const chunks = (text: string, size: number): Buffer[] => {
    const bytes = Buffer.from(text);
    const out: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
    return out;
  };
  /** Feeds `line` as a streamed line: its first chunk as the head, the rest as more, its newline as the tail. */
  const stream = (h: ReturnType<typeof harness>, line: string, size = 64): boolean => {
    const [head, ...rest] = chunks(line.slice(0, -1), size);
    const streamed = h.router.serverStreamStart([head!]);
    if (!streamed) {
      h.router.fromServer(Buffer.from(line));
      return false;
    }
    for (const bytes of rest) h.router.serverStreamMore(bytes);
    h.router.serverStreamDone(Buffer.from("\n"));
    return true;
  };

  it("holds an answer to a tool with redact whole, then redacts it", () => {
    const h = harness(LOGGED);
    h.client(call(1, "cat"));
    const line = answer(1, `${"a".repeat(120)} ${GHP} ${"b".repeat(120)}`);
    assert.equal(stream(h, line), true);
    assert.equal(h.toClient.length, 1, "one message, sent whole");
    assert.equal(JSON.parse(h.toClient[0]!).result.content[0].text, `${"a".repeat(120)} [REDACTED:github-token] ${"b".repeat(120)}`);
  });

  it("streams an answer to a tool without redact chunk by chunk, even while a redacted call is in flight", () => {
    const h = harness(LOGGED);
    h.client(call(1, "cat"));
    h.client(call(2, "raw"));
    const line = answer(2, `${GHP} ${"c".repeat(300)}`);
    assert.equal(stream(h, line), true);
    assert.ok(h.toClient.length > 2, "forwarded as it came");
    assert.equal(h.toClient.join(""), line);
  });

  it("holds a line whose id comes last while a redacted call is in flight, and streams the rest once the id names a tool without redact", () => {
    const h = harness(LOGGED);
    h.client(call(1, "cat"));
    h.client(call(2, "raw"));
    const line = `{"result":{"content":[{"type":"text","text":"${"d".repeat(300)}"}]},"jsonrpc":"2.0","id":2}\n`;
    assert.equal(stream(h, line), true);
    assert.equal(h.toClient.join(""), line);
    assert.equal(h.router.pendingCount, 1);
  });

  it("withholds an answer past max_bytes as it comes: the client gets the isError result and none of the line", () => {
    const h = harness(LOGGED);
    h.client(call(1, "cat"));
    const line = answer(1, `${GHP} ${"e".repeat(1000)}`);
    assert.equal(stream(h, line), true);
    assert.equal(h.toClient.length, 1);
    const reply = JSON.parse(h.toClient[0]!);
    assert.equal(reply.id, 1);
    assert.equal(reply.result.isError, true);
    assert.equal(reply.result.content[0].text, `mcpgate withheld the result of cat: it was ${line.length} bytes, larger than all_tools.redact.max_bytes (400 bytes), so it could not be scanned for secrets`);
    assert.equal(h.router.pendingCount, 0);
    assert.equal(h.calls()[0]!.is_error, true);
  });

  it("sends nothing of a held line that turns out malformed, or to answer nothing; a request it named gets an error", () => {
    const h = harness(LOGGED);
    h.client(call(1, "cat"));
    assert.equal(h.router.serverStreamStart([Buffer.from(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"${GHP}`)]), true);
    h.router.serverStreamMore(Buffer.from('"}]} oops'));
    h.router.serverStreamDone(Buffer.from("\n"));
    assert.equal(h.toClient.length, 1);
    const reply = JSON.parse(h.toClient[0]!);
    assert.equal(reply.id, 1);
    assert.match(reply.error.message, /^mcpgate: the server's answer was malformed \(.*\)$/);
    assert.match(h.warnings[0]!, /while it was held to be redacted; it was dropped$/);

    h.client(call(2, "cat"));
    assert.equal(h.router.serverStreamStart([Buffer.from(`{"result":{"content":[{"type":"text","text":"${GHP}`)]), true);
    h.router.serverStreamMore(Buffer.from('"}]},"jsonrpc":"2.0","id":9}'));
    h.router.serverStreamDone(Buffer.from("\n"));
    assert.equal(h.toClient.length, 1, "nothing of the line answering no request");
    assert.equal(h.router.pendingCount, 1);
  });

  it("holds a large log message to redact it", () => {
    const h = harness(LOGGED);
    const line = `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"${"f".repeat(200)} ${GHP}"}}\n`;
    assert.equal(stream(h, line), true);
    assert.equal(JSON.parse(h.toClient[0]!).params.data, `${"f".repeat(200)} [REDACTED:github-token]`);
  });

  it("streams large lines as before when the policy redacts nothing", () => {
    const h = harness(`version: "1"\ndefault: allow\n`);
    h.client(call(1, "cat"));
    const line = answer(1, `${GHP} ${"g".repeat(300)}`);
    assert.equal(stream(h, line), true);
    assert.ok(h.toClient.length > 2);
    assert.equal(h.toClient.join(""), line);
  });
});

describe("Router: redacted answers of tasks", () => {
  const taskCall = (id: number, name: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{},"task":{"ttl":60000}}}\n`;
  const created = (id: number, taskId: string) => `{"jsonrpc":"2.0","id":${id},"result":{"task":{"taskId":"${taskId}","status":"working","ttl":60000}}}\n`;
  const request = (id: number, method: string, taskId: string) => `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":{"taskId":"${taskId}"}}\n`;
  const modernGet = (id: number, taskId: string, text: string) =>
    `{"jsonrpc":"2.0","id":${id},"result":{"taskId":"${taskId}","status":"completed","result":{"content":[{"type":"text","text":${JSON.stringify(text)}}],"resultType":"complete"},"resultType":"complete"}}\n`;

  it("redacts a task's result when it comes by tasks/result or inline in tasks/get, as the tool's own answer would be", () => {
    const h = harness();
    h.client(taskCall(1, "cat"));
    h.server(created(1, "t-1"));
    h.client(request(2, "tasks/result", "t-1"));
    h.server(answer(2, `token ${GHP}`));
    h.client(request(3, "tasks/get", "t-1"));
    h.server(modernGet(3, "t-1", `DB_PASSWORD=hunter2\n`));
    const [, result, got] = h.toClient.map((line) => JSON.parse(line));
    assert.equal(result.result.content[0].text, "token [REDACTED:github-token]");
    assert.equal(got.result.result.content[0].text, "DB_PASSWORD=[REDACTED:env-secret]\n");
    assert.doesNotMatch(h.toClient.join(""), /ghp_|hunter2/);
  });

  it("leaves the tasks of tools without redact alone, and drops a task notification of a redacted tool's task (it may carry the result)", () => {
    const h = harness();
    h.client(taskCall(1, "plain"));
    h.server(created(1, "t-plain"));
    h.client(request(2, "tasks/result", "t-plain"));
    const plain = answer(2, `token ${GHP}`);
    h.server(plain);
    assert.equal(h.toClient[1], plain);
    h.client(taskCall(3, "cat"));
    h.server(created(3, "t-cat"));
    const notify = (taskId: string) => `{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"${taskId}","status":"completed"}}\n`;
    h.server(notify("t-cat"));
    h.server(notify("t-plain"));
    assert.deepEqual(h.toClient.slice(3), [notify("t-plain")]);
  });
});
