// Every audit `call` event names its server: the command it was started with and, once the
// server answered initialize, the serverInfo name it gave. The router driven directly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditEvent, AuditLog } from "../../src/audit/log.ts";
import { recordingRouter } from "./harness.ts";

const POLICY = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n';
const COMMAND = ["node", "/srv/weather.mjs", "--stdio"];
const INIT = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}\n';
const call = (id: number, name: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{}}}\n`;
const answer = (id: number, result: string) => `{"jsonrpc":"2.0","id":${id},"result":${result}}\n`;

function harness(server: readonly string[] | null = COMMAND) {
  const events: AuditEvent[] = [];
  const audit: AuditLog = { path: undefined, enabled: true, write: (event) => events.push(event), close: async () => {} };
  const h = recordingRouter(POLICY, { audit, ...(server === null ? {} : { server }) });
  return { ...h, calls: () => events.filter((event) => event.event === "call") };
}

describe("audit call events name their server", () => {
  it("by command before initialize is answered, by serverInfo name and command after", () => {
    const h = harness();
    h.client(INIT);
    h.client(call(1, "nope"));
    h.server(answer(0, '{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"weather","version":"2.1"}}'));
    h.client(call(2, "nope"));
    h.client(call(3, "echo"));
    h.server(answer(3, '{"content":[]}'));
    const [before, after, forwarded] = h.calls();
    assert.deepEqual(before!.server, { command: COMMAND });
    assert.deepEqual(after!.server, { name: "weather", command: COMMAND });
    assert.equal(forwarded!.decision, "allow");
    assert.deepEqual(forwarded!.server, { name: "weather", command: COMMAND });
  });

  it("takes the name only from the answer to initialize, and only a string", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":5,"method":"ping"}\n');
    h.server(answer(5, '{"serverInfo":{"name":"impostor"}}'));
    h.client(INIT);
    h.server(answer(0, '{"serverInfo":{"name":42}}'));
    h.client(call(1, "nope"));
    assert.deepEqual(h.calls()[0]!.server, { command: COMMAND });
  });

  it("an error answer to initialize, or a malformed result, leaves the name unknown and the relay untouched", () => {
    const h = harness();
    h.client(INIT);
    h.server('{"jsonrpc":"2.0","id":0,"error":{"code":-32603,"message":"no"}}\n');
    h.client(call(1, "nope"));
    assert.deepEqual(h.calls()[0]!.server, { command: COMMAND });
    assert.equal(h.toClient[0], '{"jsonrpc":"2.0","id":0,"error":{"code":-32603,"message":"no"}}\n');
  });

  it("records no server field when neither the command nor a name is known", () => {
    const h = harness(null);
    h.client(call(1, "nope"));
    assert.equal(h.calls()[0]!.server, undefined);
  });
});
