// The router driven directly: bytes in, bytes out, no processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AuditEvent, type AuditLog } from "../../src/audit/log.ts";
import { recordingRouter } from "./harness.ts";

const POLICY = 'version: "1"\ndefault: deny\nhide: [secret]\ntools:\n  echo: {}\n  secret: {}\n  once: { limits: ["1/minute"] }\n';

function harness(yaml = POLICY, options: { dryRun?: boolean; audit?: AuditLog } = {}) {
  const warnings: string[] = [];
  const h = recordingRouter(yaml, { ...options, log: { verbose: false, warn: (message) => warnings.push(message), info: () => {} } });
  return { ...h, warnings, replies: () => h.toClient.map((line) => JSON.parse(line) as Record<string, any>) };
}

const call = (id: string, name: string, args = "{}") => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${args}}}\n`;

describe("Router: pass-through", () => {
  it("forwards what it does not act on byte for byte, both ways", () => {
    const h = harness();
    const fromClient = [
      '{"jsonrpc":"2.0","id":12345678901234567890123,"method":"ping"}\n',
      '  { "method" : "resources/read" , "id" : "a\\u00e9" , "jsonrpc":"2.0", "params":{"uri":"x"}}\r\n',
      '{"jsonrpc":"2.0","method":"notifications/initialized"}\n',
      '{"jsonrpc":"2.0","id":0,"method":"prompts/list"}\n',
      '{"jsonrpc":"2.0","id":"","method":"resources/list"}\n',
      "\n",
      '{"jsonrpc":"2.0","id":7,"result":{"action":"accept"}}\n',
    ];
    for (const line of fromClient) h.client(line);
    assert.deepEqual(h.toServer, fromClient);
    const fromServer = [
      '{"result":{},"jsonrpc":"2.0","id":12345678901234567890123}\n',
      '{"jsonrpc":"2.0","id":"a\\u00e9","result":{"contents":[{"text":"\\ud83d\\ude00 1.0e+2"}]}}\r\n',
      '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1,"progressToken":0}}\n',
      '{"jsonrpc":"2.0","id":9,"method":"elicitation/create","params":{}}\n',
    ];
    for (const line of fromServer) h.server(line);
    assert.deepEqual(h.toClient, fromServer);
    assert.deepEqual(h.warnings, []);
  });

  it("forwards an allowed tools/call exactly as received", () => {
    const h = harness();
    const line = ' {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"n":1.50,"s":"\\u0041"}}}\r\n';
    h.client(line);
    assert.deepEqual(h.toServer, [line]);
  });

  it("moves server lines that are not JSON-RPC to the log", () => {
    const h = harness();
    for (const line of ["Server started\n", "[INFO] ready\n", '{"level":30,"msg":"json log"}\n', "42\n", '{"jsonrpc":"2.0","id":'])
      h.server(line);
    assert.deepEqual(h.toClient, []);
    assert.equal(h.warnings.length, 5);
    assert.match(h.warnings[0]!, /^server stdout \(not JSON-RPC, not forwarded\): Server started$/);
  });
});

describe("Router: judging tools/call", () => {
  it("answers a denied call itself, under the request's own id, and the server never sees it", () => {
    const h = harness();
    for (const id of ["12345678901234567890123", '"str"', "0", '""', "-1.5"]) h.client(call(id, "nope"));
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(
      h.toClient.map((line) => line.slice(0, line.indexOf(',"result"'))),
      ['{"jsonrpc":"2.0","id":12345678901234567890123', '{"jsonrpc":"2.0","id":"str"', '{"jsonrpc":"2.0","id":0', '{"jsonrpc":"2.0","id":""', '{"jsonrpc":"2.0","id":-1.5'],
    );
    const reply = h.replies()[0]!;
    assert.equal(reply.result.isError, true);
    assert.equal(reply.result.content[0].text, "[POLICY DENIED] nope: not allowed by policy (no entry for this tool; default: deny)");
    assert.equal(reply.result._meta["mcpgate/decision"].rule, "default");
  });

  it("denies hidden tools", () => {
    const h = harness();
    h.client(call("1", "secret"));
    assert.equal(h.replies()[0]!.result._meta["mcpgate/decision"].rule, "hide[0]");
  });

  it("refuses a call with a repeated key, which parsers read differently (first or last wins)", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope","name":"echo"}}\n');
    h.client('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"a":1,"\\u0061":2}}}\n');
    h.client('{"jsonrpc":"2.0","id":3,"method":"ping","method":"tools/call","params":{"name":"nope"}}\n');
    // Outside params too: a member the envelope does not need is still part of what the server reads.
    h.client('{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo"},"_meta":{"x":1,"x":2}}\n');
    h.client('{"jsonrpc":"2.0","id":5,"_meta":[{"x":1,"x":2}],"method":"tools/call","params":{"name":"echo"}}\n');
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(
      h.replies().map((reply) => [reply.id, reply.error.code, reply.error.message]),
      [
        [1, -32600, 'Invalid Request: duplicate key "name" in a tools/call; refused so the server cannot run a call other than the one judged'],
        [2, -32600, 'Invalid Request: duplicate key "a" in a tools/call; refused so the server cannot run a call other than the one judged'],
        [3, -32600, 'Invalid Request: duplicate member "method"'],
        [4, -32600, 'Invalid Request: duplicate key "x" in a tools/call; refused so the server cannot run a call other than the one judged'],
        [5, -32600, 'Invalid Request: duplicate key "x" in a tools/call; refused so the server cannot run a call other than the one judged'],
      ],
    );
  });

  it("judges a call whose envelope carries members of its own, objects included", () => {
    const h = harness();
    const line = '{"jsonrpc":"2.0","id":1,"method":"tools/call","_meta":{"progressToken":7},"params":{"name":"echo","arguments":{"a":{"b":1}}}}\n';
    h.client(line);
    assert.deepEqual(h.toServer, [line]);
  });

  it("answers malformed calls with JSON-RPC errors", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/call"}\n');
    h.client('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":7}}\n');
    h.client('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":[1]}}\n');
    h.client('{"jsonrpc":"2.0","id":{"x":1},"method":"tools/call","params":{"name":"echo"}}\n');
    h.client('{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"s":"\\x"}}}\n');
    // Bad strings outside params too: the whole line must be JSON before any of it is sent.
    h.client('{"jsonrpc":"2.\\x","id":6,"method":"tools/call","params":{"name":"echo"}}\n');
    h.client('{"jsonrpc":"2.0\u0001","id":7,"method":"tools/call","params":{"name":"echo"}}\n');
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(
      h.replies().map((reply) => [reply.id, reply.error.code]),
      [[1, -32602], [2, -32602], [3, -32602], [null, -32600], [5, -32700], [6, -32700], [7, -32700]],
    );
  });

  it("refuses a method or an id holding a raw control character, which JSON forbids, instead of routing on it", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/list\u0001"}\n');
    h.client('{"jsonrpc":"2.0","id":"a\u0007b","method":"ping"}\n');
    h.client('{"jsonrpc":"2.0","id":"a\u0007b","method":"tools/call","params":{"name":"echo"}}\n');
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(
      h.replies().map((reply) => [reply.id, reply.error.code]),
      [[1, -32600], [null, -32600], [null, -32600]],
    );
  });

  it("answers unparseable lines with -32700 and forwards nothing", () => {
    const h = harness();
    h.client("not json\n");
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}\n');
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(h.replies().map((reply) => reply.error.code), [-32700, -32700]);
  });

  it("judges a tools/call sent as a notification, and drops it if denied", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"nope"}}\n');
    h.client('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}\n');
    assert.deepEqual(h.toServer, ['{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo"}}\n']);
    assert.deepEqual(h.toClient, []);
  });

  it("does not forward notifications/cancelled for a call it denied itself", () => {
    const h = harness();
    h.client(call("5", "nope"));
    h.client('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}\n');
    h.client(call("6", "echo"));
    h.client('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":6}}\n');
    assert.deepEqual(h.toServer, [call("6", "echo"), '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":6}}\n']);
    assert.equal(h.router.pendingCount, 0);
  });

  it("refuses a request whose id is already in flight", () => {
    const h = harness();
    h.client(call("1", "echo"));
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    assert.equal(h.toServer.length, 1);
    assert.match(h.replies()[0]!.error.message, /id 1 is already in use/);
  });

  it("--dry-run forwards what it would deny, and warns", () => {
    const h = harness(POLICY, { dryRun: true });
    h.client(call("1", "nope"));
    assert.deepEqual(h.toServer, [call("1", "nope")]);
    assert.match(h.warnings[0]!, /^dry run: would deny \[POLICY DENIED\] nope/);
  });
});

describe("Router: tools/list", () => {
  it("removes hidden tools from every page and keeps everything else", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    h.server('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"secret"}],"nextCursor":"p2"}}\n');
    h.client('{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"p2"}}\n');
    h.server('{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"secret","description":"x"},{"name":"other"}],"_meta":{"k":1}}}\n');
    assert.deepEqual(h.replies(), [
      { jsonrpc: "2.0", id: 1, result: { tools: [{ name: "echo" }], nextCursor: "p2" } },
      { jsonrpc: "2.0", id: 2, result: { tools: [{ name: "other" }], _meta: { k: 1 } } },
    ]);
  });

  it("leaves a page with nothing hidden byte-identical", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    const page = '{"jsonrpc":"2.0", "id":1,"result":{"tools":[{"name":"echo","description":"\\u00e9"}]}}\n';
    h.server(page);
    assert.deepEqual(h.toClient, [page]);
  });
});

describe("Router: batches", () => {
  it("judges each element, forwards only the allowed ones, and merges the answers into one array", () => {
    const h = harness();
    h.client(`[${call("1", "echo").trim()},${call("2", "nope").trim()},{"jsonrpc":"2.0","id":3,"method":"ping"}]\n`);
    assert.deepEqual(h.toServer, [`[${call("1", "echo").trim()},{"jsonrpc":"2.0","id":3,"method":"ping"}]\n`]);
    assert.deepEqual(h.toClient, []);
    h.server('[{"jsonrpc":"2.0","id":1,"result":{"content":[]}},{"jsonrpc":"2.0","id":3,"result":{}}]\n');
    const [batch] = h.replies();
    assert.ok(Array.isArray(batch));
    assert.deepEqual((batch as unknown as Array<{ id: number }>).map((reply) => reply.id), [1, 3, 2]);
  });

  it("answers a batch whose calls are all denied without bothering the server", () => {
    const h = harness();
    h.client(`[${call("1", "nope").trim()},${call("2", "secret").trim()}]\n`);
    assert.deepEqual(h.toServer, []);
    const [batch] = h.replies() as unknown as Array<Array<{ id: number; result: { isError: boolean } }>>;
    assert.deepEqual(batch!.map((reply) => [reply.id, reply.result.isError]), [[1, true], [2, true]]);
  });

  it("forwards a batch it does not act on byte for byte", () => {
    const h = harness();
    const line = '[ {"jsonrpc":"2.0","id":1,"method":"ping"} , {"jsonrpc":"2.0","method":"notifications/initialized"} ]\n';
    h.client(line);
    assert.deepEqual(h.toServer, [line]);
  });

  it("rejects an empty batch and invalid elements", () => {
    const h = harness();
    h.client("[]\n");
    h.client('[1,{"jsonrpc":"2.0","id":2,"method":"ping"}]\n');
    assert.equal(h.replies()[0]!.error.code, -32600);
    assert.deepEqual(h.toServer, ['[{"jsonrpc":"2.0","id":2,"method":"ping"}]\n']);
  });
});

describe("Router: the server goes away", () => {
  it("answers every pending request with an error naming the exit", () => {
    const h = harness();
    h.client(call("1", "echo"));
    h.client('{"jsonrpc":"2.0","id":"x","method":"resources/list"}\n');
    h.router.serverExited("exited with code 3");
    assert.deepEqual(h.replies(), [
      { jsonrpc: "2.0", id: 1, error: { code: -32000, message: "mcpgate: the MCP server exited with code 3 before answering tools/call" } },
      { jsonrpc: "2.0", id: "x", error: { code: -32000, message: "mcpgate: the MCP server exited with code 3 before answering resources/list" } },
    ]);
    assert.equal(h.router.pendingCount, 0);
  });
});

describe("Router: audit", () => {
  it("records a forwarded call when its result arrives, with is_error read from the result", () => {
    const events: AuditEvent[] = [];
    const h = harness(POLICY, { audit: { path: undefined, enabled: true, write: (event) => events.push(event), close: async () => {} } });
    h.client(call("1", "echo", '{"x":1}'));
    h.server('{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}\n');
    h.client(call("2", "echo"));
    h.server('{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"\\"isError\\":true"}]}}\n');
    assert.deepEqual(events.map((event) => [event.event, event.tool, event.decision, event.is_error]), [
      ["call", "echo", "allow", true],
      ["call", "echo", "allow", false],
    ]);
  });
});

describe("Router: large server lines, streamed", () => {
  const head = (text: string) => [Buffer.from(text)];

  it("forwards a streamed response byte for byte and settles its request when the line ends", () => {
    const events: AuditEvent[] = [];
    const h = harness(POLICY, { audit: { path: undefined, enabled: true, write: (event) => events.push(event), close: async () => {} } });
    h.client(call("7", "echo"));
    assert.equal(h.router.serverStreamStart(head('{"result":{"content":[{"type":"text","text":"aaa')), true);
    h.router.serverStreamMore(Buffer.from('aaa"}],"isError":true},'));
    h.router.serverStreamDone(Buffer.from('"jsonrpc":"2.0","id":7}\n'));
    assert.equal(h.toClient.join(""), '{"result":{"content":[{"type":"text","text":"aaaaaa"}],"isError":true},"jsonrpc":"2.0","id":7}\n');
    assert.equal(h.router.pendingCount, 0);
    assert.deepEqual(events.map((event) => event.is_error), [true]);
  });

  it("holds its own messages until the streamed line has ended, so they never land inside it", () => {
    const h = harness();
    h.client(call("1", "echo"));
    h.router.serverStreamStart(head('{"jsonrpc":"2.0","id":1,"result":{"x":"'));
    h.client(call("2", "nope"));
    h.client("not json\n");
    h.router.serverStreamMore(Buffer.from("yyy"));
    h.router.serverStreamDone(Buffer.from('"}}\n'));
    assert.equal(h.toClient.length, 5);
    assert.equal(h.toClient.slice(0, 3).join(""), '{"jsonrpc":"2.0","id":1,"result":{"x":"yyy"}}\n');
    assert.deepEqual(h.toClient.slice(3).map((line) => JSON.parse(line).id), [2, null]);
  });

  it("declines what does not look like JSON-RPC, or could be a tools/list result with hidden tools", () => {
    const h = harness();
    assert.equal(h.router.serverStreamStart(head("Server log line, very long")), false);
    assert.equal(h.router.serverStreamStart(head('{"level":30,"msg":"')), false);
    assert.equal(h.router.serverStreamStart(head('["batch"')), false);
    assert.equal(h.router.serverStreamStart(head('{"result":{"a":1,}')), false);
    h.client('{"jsonrpc":"2.0","id":5,"method":"tools/list"}\n');
    assert.equal(h.router.serverStreamStart(head('{"result":{"tools":[')), false, "the policy hides tools: this may need rewriting");
    assert.deepEqual(h.toClient, []);
  });

  it("cuts off a streamed line that turns out not to be JSON, keeping the output framed", () => {
    const h = harness();
    h.router.serverStreamStart(head('{"result":{"a":"'));
    h.router.serverStreamMore(Buffer.from('b"} oops'));
    h.router.serverStreamMore(Buffer.from("more"));
    h.router.serverStreamDone(Buffer.from("tail\n"));
    assert.deepEqual(h.toClient, ['{"result":{"a":"', "\n"]);
    assert.match(h.warnings[0]!, /turned out not to be JSON \(expected "," or "}" at byte 20\)/);
    h.router.serverStreamStart(head('{"result":{"a":"'));
    h.router.serverStreamDone(undefined);
    assert.deepEqual(h.toClient.slice(2), ['{"result":{"a":"', "\n"], "input ended mid-line: the line is ended");
  });
});
