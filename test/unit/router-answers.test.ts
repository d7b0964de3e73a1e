// What reaches each side is exactly what was judged: lines a server's framing would split, deep
// nesting, answers to requests the server never got, lists answered under a retyped id, faults
// while handling one message. The router driven directly, no processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { AuditLog } from "../../src/audit/log.ts";
import type { ApprovalAnswer } from "../../src/approval/answer.ts";
import { MAX_CLIENT_DEPTH } from "../../src/relay/router.ts";
import { recordingRouter } from "./harness.ts";

const POLICY = 'version: "1"\ndefault: deny\nhide: [secret]\ntools:\n  echo: {}\n  secret: {}\n  ask: { action: approve }\n';

function harness(options: { audit?: AuditLog; approver?: () => Promise<ApprovalAnswer> } = {}) {
  const warnings: string[] = [];
  const h = recordingRouter(POLICY, { ...options, log: { verbose: false, warn: (message) => warnings.push(message), info: () => {} } });
  return { ...h, warnings, replies: () => h.toClient.map((line) => JSON.parse(line) as Record<string, any>) };
}

const call = (id: string, name: string, args = "{}") => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${args}}}\n`;
const SMUGGLED = '{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"secret","arguments":{}}}';

describe("Router: client lines a server's framing could split", () => {
  it("refuses a bare CR inside a string or between tokens, and any other raw control character, answering under the request's id", () => {
    const h = harness();
    // Read with universal newlines, the smuggled call is a line of its own.
    h.client(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_":\r${SMUGGLED}\r}}\n`);
    h.client('{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"a\rb"}}\n');
    h.client(call("3", "echo", '{"text":"a\u000bb"}'));
    h.client(call("4", "echo", '{"text":"a\u001cb"}'));
    h.client(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"x":"\r${SMUGGLED}"}}\n`);
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(
      h.replies().map((reply) => [reply.id, reply.error.code]),
      [[1, -32700], [2, -32700], [3, -32700], [4, -32700], [null, -32700]],
    );
    assert.match(h.replies()[0]!.error.message, /bare carriage return \(\\r\), which some servers' framing reads as a line end at byte 54/);
    assert.match(h.replies()[2]!.error.message, /raw control character 0x0b, which JSON does not allow/);
  });

  it("refuses a batch holding a bare CR whole, and bytes that are not UTF-8", () => {
    const h = harness();
    h.client(`[{"jsonrpc":"2.0","id":1,"method":"ping"},\r${SMUGGLED}]\n`);
    h.router.fromClient(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ech'), Buffer.from([0xff]), Buffer.from('o"}}\n')]));
    h.router.fromClient(Buffer.concat([Buffer.from(call("3", "echo", '{"t":"').trimEnd()), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}}\n')]));
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(h.replies().map((reply) => reply.error.code), [-32700, -32700, -32700]);
    assert.match(h.replies()[2]!.error.message, /not valid UTF-8/);
  });

  it("still forwards tabs, CRLF line ends and every character above U+001F as they are", () => {
    const h = harness();
    const lines = [`{"jsonrpc":"2.0",\t"id":1,"method":"ping"}\r\n`, call("2", "echo", '{"t":"é\u2028\u0085😀\u007f"}')];
    for (const line of lines) h.client(line);
    assert.deepEqual(h.toServer, lines);
  });

  it("never forwards a line with a control byte at any position, and answers each (property)", () => {
    const clean = call("7", "echo", '{"text":"hello world"}').trimEnd();
    fc.assert(
      fc.property(fc.nat(clean.length), fc.constantFrom(0x0d, 0x00, 0x08, 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0x1f), (at, byte) => {
        // (A CR right before the newline is the CRLF line end, which is not inside the message.)
        fc.pre(!(byte === 0x0d && at === clean.length));
        const h = harness();
        h.client(`${clean.slice(0, at)}${String.fromCharCode(byte)}${clean.slice(at)}\n`);
        assert.deepEqual(h.toServer, []);
        assert.equal(h.toClient.length, 1);
      }),
      { numRuns: 200 },
    );
  });
});

describe("Router: nesting", () => {
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it(`refuses a message nested deeper than ${MAX_CLIENT_DEPTH} levels under its id, and goes on`, () => {
    const h = harness();
    // The envelope, params and arguments are three levels.
    // The envelope and params are two levels; the arguments object is the first of nested()'s.
    h.client(call("1", "echo", nested(MAX_CLIENT_DEPTH - 2)));
    h.client(call("2", "echo", nested(MAX_CLIENT_DEPTH - 1)));
    h.client(call("3", "echo", nested(5_000)));
    h.client(`{"jsonrpc":"2.0","id":4,"method":"ping","params":${nested(10_000)}}\n`);
    h.client('{"jsonrpc":"2.0","id":5,"method":"ping"}\n');
    assert.deepEqual(h.toServer.map((line) => JSON.parse(line).id), [1, 5]);
    assert.deepEqual(
      h.replies().map((reply) => [reply.id, reply.error.code]),
      [[2, -32600], [3, -32600], [4, -32600]],
    );
    assert.match(h.replies()[0]!.error.message, /nested deeper than 128 levels/);
  });
});

describe("Router: the server answers only what it was sent", () => {
  it("drops an answer to an id it never got, to a call mcpgate denied, and a second answer", () => {
    const h = harness();
    h.client(call("1", "echo"));
    h.client(call("2", "nope"));
    h.server('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    h.server('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    h.server('{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"ran nope"}]}}\n');
    h.server('{"jsonrpc":"2.0","id":"1","result":{}}\n');
    h.server('[{"jsonrpc":"2.0","id":77,"result":{}},{"jsonrpc":"2.0","method":"notifications/progress"}]\n');
    assert.deepEqual(h.toClient.map((line) => JSON.parse(line)), [
      { jsonrpc: "2.0", id: 2, result: h.replies()[0]!.result },
      { jsonrpc: "2.0", id: 1, result: { content: [] } },
      [{ jsonrpc: "2.0", method: "notifications/progress" }],
    ]);
    assert.equal(h.replies()[0]!.result.isError, true, "the denial");
    assert.equal(h.warnings.filter((warning) => /server answered id .*; dropped/.test(warning)).length, 4);
  });

  it("drops a result for a call still waiting for a human", async () => {
    let answer!: (value: ApprovalAnswer) => void;
    const h = harness({ approver: () => new Promise((resolve) => (answer = resolve)) });
    h.client(call("5", "ask"));
    h.server('{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"early"}]}}\n');
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(h.toClient, []);
    answer({ approved: true });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.toServer.length, 1);
    h.server('{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"ran"}]}}\n');
    assert.deepEqual(h.replies().map((reply) => reply.result.content[0].text), ["ran"]);
  });

  it("lets a late answer to a request the client cancelled pass, once", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":3,"method":"resources/list"}\n');
    h.client('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}\n');
    h.server('{"jsonrpc":"2.0","id":3,"result":{"resources":[]}}\n');
    h.server('{"jsonrpc":"2.0","id":3,"result":{"resources":[]}}\n');
    assert.deepEqual(h.toClient, ['{"jsonrpc":"2.0","id":3,"result":{"resources":[]}}\n']);
  });

  it("filters hidden tools from a list answered under another pending request's retyped id", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    h.client('{"jsonrpc":"2.0","id":"1","method":"ping"}\n');
    h.server('{"jsonrpc":"2.0","id":"1","result":{"tools":[{"name":"secret"},{"name":"echo"}]}}\n');
    h.server('{"jsonrpc":"2.0","id":"1.0","result":{"tools":[{"name":"secret"}]}}\n');
    assert.deepEqual(h.replies(), [{ jsonrpc: "2.0", id: "1", result: { tools: [{ name: "echo" }] } }]);
  });
});

describe("Router: streamed answers", () => {
  const head = (text: string) => [Buffer.from(text)];

  it("does not stream an answer whose id, seen first, names no request the server was sent", () => {
    const h = harness();
    assert.equal(h.router.serverStreamStart(head('{"jsonrpc":"2.0","id":9,"result":{"x":"')), false);
    h.client(call("9", "nope"));
    assert.equal(h.router.serverStreamStart(head('{"jsonrpc":"2.0","id":9,"result":{"x":"')), false);
    assert.equal(h.router.serverStreamStart(head('{"jsonrpc":"2.0","id":4,"method":"sampling/createMessage","params":{"x":"')), true, "a request of the server's own");
  });

  it("cuts an answer whose id, seen last, names no request, before its end is sent", () => {
    const h = harness();
    h.client(call("1", "echo"));
    const before = h.toClient.length;
    assert.equal(h.router.serverStreamStart(head('{"result":{"content":[{"type":"text","text":"aaa')), true);
    h.router.serverStreamMore(Buffer.from('aaa"}]},"jsonrpc":"2.0","id":2}'));
    h.router.serverStreamDone(Buffer.from("\n"));
    assert.deepEqual(h.toClient.slice(before), ['{"result":{"content":[{"type":"text","text":"aaa', "\n"]);
    assert.equal(h.router.pendingCount, 1, "the request sent still waits for its own answer");
  });

  it("answers the request at once when its streamed answer turns out malformed", () => {
    const h = harness();
    h.client(call("6", "echo"));
    h.router.serverStreamStart(head('{"jsonrpc":"2.0","id":6,"result":{"x":"'));
    h.router.serverStreamMore(Buffer.from('b"} oops'));
    assert.equal(h.router.pendingCount, 0);
    assert.equal(h.toClient[1], "\n");
    const reply = JSON.parse(h.toClient[2]!);
    assert.equal(reply.id, 6);
    assert.match(reply.error.message, /answer was malformed .* and was cut off/);
    h.router.serverStreamDone(Buffer.from("tail\n"));
    assert.equal(h.toClient.length, 3);
  });
});

describe("Router: a fault while handling one message", () => {
  it("answers that request with an error, forwards nothing of it, and goes on", () => {
    // A policy whose lookup throws for one name stands for any bug met while judging.
    const faulty = recordingRouter(POLICY, {
      wrapPolicy: (policy) => ({
        ...policy,
        entryFor: (name) => {
          if (name === "boom") throw new Error("lookup failed");
          return policy.entryFor(name);
        },
      }),
    });
    faulty.client(call("1", "boom"));
    faulty.client(`[${call("2", "boom").trimEnd()},${call("3", "echo").trimEnd()}]\n`);
    faulty.client(call("4", "echo"));
    assert.deepEqual(faulty.toServer.map((line) => JSON.parse(line)).flat().map((message: { id: number }) => message.id), [3, 4]);
    // The batch's own answers go out with the server's answer to the rest of it.
    faulty.server('[{"jsonrpc":"2.0","id":3,"result":{}}]\n');
    const replies = faulty.toClient.map((line) => JSON.parse(line));
    assert.equal(replies[0].id, 1);
    assert.equal(replies[0].error.code, -32603);
    assert.deepEqual(replies[1].map((reply: { id: number; error?: { code: number } }) => [reply.id, reply.error?.code]), [[3, undefined], [2, -32603]]);
  });

  it("an audit log that throws costs the record, never the answer", () => {
    const audit: AuditLog = { path: undefined, enabled: true, write: () => { throw new Error("disk on fire"); }, close: async () => {} };
    const h = harness({ audit });
    h.client(call("1", "echo"));
    h.client(call("2", "nope"));
    h.server('{"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n');
    assert.deepEqual(h.replies().map((reply) => reply.id), [2, 1]);
    assert.ok(h.warnings.some((warning) => /could not write an audit record \(disk on fire\)/.test(warning)));
  });
});
