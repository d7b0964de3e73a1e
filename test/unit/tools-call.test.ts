// Decoding a tools/call for judgement (src/wire/tools-call.ts), and the classes it closes in the
// router: keys a case-insensitive server reads as others, and "identical" calls for a session.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { classify } from "../../src/wire/message.ts";
import { scanJson } from "../../src/wire/scan.ts";
import { canonicalArguments, decodeToolCall } from "../../src/wire/tools-call.ts";
import { recordingRouter } from "./harness.ts";

function decode(line: string) {
  const buf = Buffer.from(line);
  const scan = scanJson(buf);
  assert.ok(scan.ok);
  return decodeToolCall(buf, scan.members, scan.keys);
}

const call = (params: string, extra = "") => `{"jsonrpc":"2.0","id":1,"method":"tools/call"${extra},"params":${params}}`;

describe("decodeToolCall", () => {
  it("decodes a call, with or without arguments, from params alone or the whole line", () => {
    const bare = { hasCapabilities: false };
    assert.deepEqual(decode(call('{"name":"run","arguments":{"command":"ls"}}')), { ok: true, name: "run", args: { command: "ls" }, frame: bare });
    assert.deepEqual(decode(call('{"name":"run"}')), { ok: true, name: "run", args: {}, frame: bare });
    assert.deepEqual(decode(call('{"name":"run"}', ',"x":{"y":1}')), { ok: true, name: "run", args: {}, frame: bare });
  });

  it("reads the request's era and a retry's members: _meta's protocol version and capabilities, requestState, inputResponses, task", () => {
    const meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}';
    assert.deepEqual(decode(call(`{"name":"run",${meta},"requestState":"s","inputResponses":{"a":1},"task":{"ttl":5}}`)), {
      ok: true,
      name: "run",
      args: {},
      frame: { protocolVersion: "2026-07-28", hasCapabilities: true, capabilities: { elicitation: {} }, requestState: "s", inputResponses: { a: 1 }, task: { ttl: 5 } },
    });
    // Present but null is still present: a retry's state of null is a state to verify.
    assert.deepEqual(decode(call('{"name":"run","requestState":null,"_meta":{"io.modelcontextprotocol/clientCapabilities":null}}')), {
      ok: true,
      name: "run",
      args: {},
      frame: { hasCapabilities: true, capabilities: null, requestState: null },
    });
  });

  it("refuses keys of one object that a server matching keys regardless of case reads as one, at any depth", () => {
    const cases = [
      '{"name":"echo","Name":"run"}',
      '{"name":"run","arguments":{"command":"ls","Command":"rm -rf /"}}',
      '{"name":"run","arguments":{"command":"ls"},"ARGUMENTS":{"command":"rm"}}',
      '{"name":"run","arguments":{"opts":[{"force":false,"FORCE":true}]}}',
      '{"name":"run","arguments":{"kind":"a","\\u212Aind":"b"}}',
      '{"name":"run","arguments":{"kind":"a","\u212Aind":"b"}}',
      '{"name":"run","arguments":{"s":1,"\u017F":2}}',
    ];
    for (const params of cases) {
      const decoded = decode(call(params));
      assert.equal(decoded.ok, false, params);
      assert.equal(!decoded.ok && decoded.code, -32600, params);
      assert.match(!decoded.ok ? decoded.message : "", /are the same key to servers that match keys regardless of case/, params);
    }
    const named = decode(call('{"name":"echo","Name":"run"}'));
    assert.match(!named.ok ? named.message : "", /keys "name" and "Name" of one object/);
  });

  it("refuses the call whatever case-folding of a key carries the second copy (property)", () => {
    const variants = (key: string) =>
      fc.array(fc.constantFrom("upper", "lower", "kelvin", "longS"), { minLength: key.length, maxLength: key.length }).map((choices) =>
        [...key]
          .map((char, index) => {
            const choice = choices[index];
            if (choice === "kelvin" && char === "k") return "\u212A";
            if (choice === "longS" && char === "s") return "\u017F";
            return choice === "upper" ? char.toUpperCase() : char.toLowerCase();
          })
          .join(""),
      );
    fc.assert(
      fc.property(fc.constantFrom("name", "arguments", "command", "kind", "task"), fc.boolean(), (key, escape) =>
        fc.assert(
          fc.property(variants(key), (variant) => {
            fc.pre(variant !== key);
            const text = escape ? JSON.stringify(variant).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : JSON.stringify(variant);
            const params = key === "name" ? `{"name":"echo",${text}:"run"}` : key === "arguments" ? `{"name":"echo","arguments":{},${text}:{"command":"rm"}}` : `{"name":"run","arguments":{"${key}":"ls",${text}:"rm"}}`;
            const decoded = decode(call(params));
            assert.equal(decoded.ok, false, params);
          }),
          { numRuns: 20 },
        ),
      ),
      { numRuns: 20 },
    );
  });

  it("keeps the checks it had: repeated keys, shapes", () => {
    const repeated = decode(call('{"name":"echo","n\\u0061me":"run"}'));
    assert.match(!repeated.ok ? repeated.message : "", /duplicate key "name"/);
    assert.equal((decode(call("[1]")) as { code: number }).code, -32602);
    assert.equal((decode(call('{"name":7}')) as { code: number }).code, -32602);
    assert.equal((decode(call('{"name":"a","arguments":[]}')) as { code: number }).code, -32602);
  });

  it("gives arguments canonical text from their bytes: exact number literals, key order aside", () => {
    const text = (args: string) => canonicalArguments(Buffer.from(call(`{"name":"pay","arguments":${args}}`)));
    assert.equal(text('{"b":1,"a":"x"}'), text('{ "a" : "\\u0078", "b" : 1 }'));
    assert.notEqual(text('{"amount":null}'), text('{"amount":1e400}'));
    assert.notEqual(text('{"amount":10000000000000000}'), text('{"amount":10000000000000001}'));
    assert.equal(canonicalArguments(Buffer.from(call('{"name":"pay"}'))), "{}");
  });
});

describe("envelope members a case-insensitive server reads as others", () => {
  it("classifies a message holding METHOD, PARAMS, Id or a Kelvin-sign key as invalid", () => {
    const lines = [
      '{"jsonrpc":"2.0","id":5,"method":"ping","METHOD":"tools/call","params":{"name":"run"}}',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo"},"PARAMS":{"name":"run"}}',
      '{"jsonrpc":"2.0","id":5,"Id":6,"method":"ping"}',
      '{"jsonrpc":"2.0","id":5,"method":"ping","param\u017F":{}}',
      '{"jsonrpc":"2.0","id":5,"method":"ping","param\\u017f":{}}',
    ];
    for (const line of lines) {
      const buf = Buffer.from(line);
      const scan = scanJson(buf);
      assert.ok(scan.ok);
      const message = classify(buf, scan);
      assert.equal(message.kind, "invalid", line);
      assert.match(message.kind === "invalid" ? message.reason : "", /is no JSON-RPC member, but servers that match keys regardless of case read it as "(method|params|id)"/);
    }
  });

  it("the router answers such a message under its id and forwards nothing", () => {
    const h = recordingRouter('version: "1"\ndefault: deny\ntools:\n  echo: {}\n');
    h.client('{"jsonrpc":"2.0","id":5,"method":"ping","METHOD":"tools/call","params":{"name":"run"}}\n');
    h.client('{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","Name":"run"}}\n');
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(h.toClient.map((line) => [JSON.parse(line).id, JSON.parse(line).error.code]), [[5, -32600], [6, -32600]]);
  });
});

describe("'allow for the rest of this session' is bound to arguments identical to any server", () => {
  const POLICY = 'version: "1"\ndefault: deny\ntools:\n  pay: { action: approve }\n';

  function session() {
    const h = recordingRouter(POLICY);
    h.client('{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"t","version":"1"}}}\n');
    h.server('{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}\n');
    h.toServer.length = 0;
    h.toClient.length = 0;
    let id = 1;
    const pay = (amount: string): "forwarded" | "asked" => {
      const before = h.toServer.length;
      h.client(`{"jsonrpc":"2.0","id":${id++},"method":"tools/call","params":{"name":"pay","arguments":{"amount":${amount}}}}\n`);
      return h.toServer.length > before ? "forwarded" : "asked";
    };
    const approveForSession = (): void => {
      const prompt = JSON.parse(h.toClient.at(-1)!) as { id: string };
      h.client(`{"jsonrpc":"2.0","id":${JSON.stringify(prompt.id)},"result":{"action":"accept","content":{"allow_for_session":true}}}\n`);
    };
    return { pay, approveForSession };
  }

  it("null approved does not allow 1e400; 10000000000000000 does not allow 10000000000000001", () => {
    const s = session();
    assert.equal(s.pay("null"), "asked");
    s.approveForSession();
    assert.equal(s.pay("null"), "forwarded");
    assert.equal(s.pay("1e400"), "asked");
    const t = session();
    assert.equal(t.pay("10000000000000000"), "asked");
    t.approveForSession();
    assert.equal(t.pay("10000000000000000"), "forwarded");
    assert.equal(t.pay("10000000000000001"), "asked");
    assert.equal(t.pay("1e16"), "asked", "another literal of the same number is another call to a server that reads literals");
  });
});
