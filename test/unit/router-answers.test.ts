// What reaches each side is exactly what was judged: lines a server's framing would split, deep
// nesting, answers to requests the server never got, lists answered under a retyped id, faults
// while handling one message. The router driven directly, no processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { AuditLog } from "../../src/audit/log.ts";
import type { ApprovalAnswer, Approver } from "../../src/approval/answer.ts";
import { approvalForm } from "../../src/approval/elicitation.ts";
import { MAX_CLIENT_DEPTH } from "../../src/relay/router.ts";
import { recordingRouter } from "./harness.ts";

const POLICY = 'version: "1"\ndefault: deny\nhide: [secret]\ntools:\n  echo: {}\n  secret: {}\n  ask: { action: approve }\n';

function harness(options: { audit?: AuditLog; approver?: Approver } = {}) {
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

  // Where the nesting sits and how many levels its envelope adds: a call's arguments (envelope,
  // params), a ping's params (envelope), a batch holding one call (batch, envelope, params).
  const HOLDERS = {
    call: { around: 2, line: (id: string, tool: string, inner: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":${inner}}}\n` },
    ping: { around: 1, line: (id: string, _tool: string, inner: string) => `{"jsonrpc":"2.0","id":${id},"method":"ping","params":${inner}}\n` },
    batch: { around: 3, line: (id: string, tool: string, inner: string) => `[{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":${inner}}}]\n` },
  } as const;

  /**
   * `levels` nested containers, the outermost an object (arguments and params are objects), each
   * deeper one an object or an array as `shape` says (cycled), some with a sibling before the
   * value that goes deeper, around a scalar.
   */
  function shaped(levels: number, shape: boolean[], siblings: boolean[], leaf: string): string {
    const open: string[] = [];
    const close: string[] = [];
    for (let level = 0; level < levels; level++) {
      const isObject = level === 0 || shape[level % shape.length]!;
      const sibling = siblings[level % siblings.length]!;
      open.push(isObject ? (sibling ? '{"s":0,"k":' : '{"k":') : sibling ? "[0," : "[");
      close.push(isObject ? "}" : "]");
    }
    return `${open.join("")}${leaf}${close.reverse().join("")}`;
  }

  // Whole depths (every container of the line, the envelope's included), most of them around the
  // bound, some far below it, some far beyond it (up to 20,000 levels, a line of up to 240 KB).
  const depth = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: MAX_CLIENT_DEPTH - 4, max: MAX_CLIENT_DEPTH + 4 }) },
    { weight: 2, arbitrary: fc.integer({ min: 4, max: 3 * MAX_CLIENT_DEPTH }) },
    { weight: 1, arbitrary: fc.integer({ min: 3 * MAX_CLIENT_DEPTH, max: 20_000 }) },
  );

  it(`judges a message nested at most ${MAX_CLIENT_DEPTH} levels and refuses a deeper one under its id, at random depths and shapes, never throwing (property)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("call", "ping", "batch") as fc.Arbitrary<keyof typeof HOLDERS>,
        fc.constantFrom("echo", "nope", "ask"),
        depth,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.constantFrom("1", '"x"', "null", "true", "-2.5e3"),
        fc.oneof(fc.nat().map(String), fc.constantFrom('"a"', '"0"', '"id-1"')),
        async (holder, tool, total, shape, siblings, leaf, idText) => {
          const events: string[] = [];
          const asked: string[] = [];
          const h = harness({
            audit: { path: undefined, enabled: true, write: (event) => events.push(JSON.stringify(event)), close: async () => {} },
            // What a human would be shown is built from the decoded arguments.
            approver: async (request) => {
              asked.push(approvalForm(request, 60_000, false).message);
              return { approved: true };
            },
          });
          const { around, line } = HOLDERS[holder];
          const text = line(idText, tool, shaped(total - around, shape, siblings, leaf));
          const id = JSON.parse(idText) as unknown;

          // The line, then a ping: the relay goes on whatever came before.
          const after = '{"jsonrpc":"2.0","id":"after","method":"ping"}\n';
          h.client(text);
          await new Promise((resolve) => setImmediate(resolve));
          h.client(after);

          assert.ok(!h.replies().some((reply) => reply.error?.code === -32603), "no fault of the gateway");
          assert.ok(!h.warnings.some((warning) => /internal error|could not write an audit record/.test(warning)), h.warnings.join("\n"));
          if (total > MAX_CLIENT_DEPTH) {
            // Refused whole, under the request's id (a batch has none to name), and nothing of it sent.
            assert.deepEqual(h.toServer, [after]);
            assert.equal(h.replies().length, 1);
            const [reply] = h.replies();
            assert.deepEqual(reply!.id, holder === "batch" ? null : id);
            assert.equal(reply!.error.code, -32600);
            assert.equal(reply!.error.message, `Invalid Request: nested deeper than ${MAX_CLIENT_DEPTH} levels`);
            assert.deepEqual(asked, []);
            assert.deepEqual(events, []);
            return;
          }
          if (holder === "ping" || tool !== "nope") {
            // Judged (allowed, or approved by the human asked) and sent exactly as it came; a
            // held call of a batch goes on its own once approved (README, Human approval).
            const alone = holder === "batch" && tool === "ask";
            assert.deepEqual(h.toServer, [alone ? `${text.slice(1, -2)}\n` : text, after]);
            assert.deepEqual(h.replies(), []);
            assert.equal(asked.length, holder !== "ping" && tool === "ask" ? 1 : 0);
            if (holder === "ping") return;
            const answer = `{"jsonrpc":"2.0","id":${idText},"result":{"content":[]}}`;
            h.server(holder === "batch" && !alone ? `[${answer}]\n` : `${answer}\n`);
            assert.deepEqual(h.replies().flat().map((reply) => reply.id), [id]);
            assert.equal(events.length, 1, "the call's audit record");
            return;
          }
          // Judged and denied under its id, never sent.
          assert.deepEqual(h.toServer, [after]);
          const replies = h.replies().flat();
          assert.equal(replies.length, 1);
          assert.deepEqual(replies[0]!.id, id);
          assert.equal(replies[0]!.result.isError, true);
          assert.equal(events.length, 1, "the denial's audit record");
        },
      ),
      { numRuns: 300 },
    );
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
