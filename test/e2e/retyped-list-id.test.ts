// A server that answers tools/list under its id retyped must not show a client a hidden tool. The
// v1 SDK's Client matches a response to its request by Number(id), so it takes "1", "01", " 1",
// "0x1", 1.0 and 1e0 alike for the answer to its request 1 (issue 12, item 9). Driven by that
// Client, against a server that retypes (raw-server retype-list-id), straight and through mcpgate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, connectCommand, rawServer, writePolicy } from "./helpers.ts";

const POLICY = 'version: "1"\ndefault: allow\nhide: [secret_tool]\n';

// How raw-server writes the id of its tools/list answer: a string (an id the server was never
// sent: mcpgate matches ids by type and value), or another literal of the same number.
const STRINGS = { string: '"1"', zero: '"01"', space: '" 1"', hex: '"0x1"' };
const NUMBERS = { float: "1.0", exp: "1e0" };

const names = (tools: Array<{ name: string }>): string[] => tools.map((tool) => tool.name);

describe("a tools/list answered under a retyped id", () => {
  for (const form of [...Object.keys(STRINGS), ...Object.keys(NUMBERS)]) {
    it(`control (${form}): straight from the server, the SDK Client takes it for its list, secret_tool included`, async () => {
      const open = await connectCommand(rawServer(`retype-list-id=${form}`));
      try {
        assert.ok(names((await open.client.listTools()).tools).includes("secret_tool"));
      } finally {
        await open.close();
      }
    });
  }

  for (const [form, id] of Object.entries(STRINGS)) {
    it(`through mcpgate (${form}, id ${id}): the answer is dropped, so the client never gets that list; hidden tools stay denied and the session goes on`, async () => {
      const open = await connect(writePolicy(POLICY), rawServer(`retype-list-id=${form}`));
      try {
        const controller = new AbortController();
        let settled: "listed" | "rejected" | undefined;
        const listing = open.client.listTools({}, { signal: controller.signal }).then(
          (result) => ((settled = "listed"), result),
          (error: unknown) => {
            settled = "rejected";
            throw error;
          },
        );
        const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        assert.match(await open.stderrMatching(new RegExp(`server answered id ${escaped}, which it was not sent`)), /; dropped/);
        // The client's stdout is one ordered stream: had the list been forwarded, it would have
        // been read before the answer to this ping.
        await open.client.ping();
        assert.equal(settled, undefined, "the retyped list reached the client");
        controller.abort();
        await assert.rejects(listing, (error: Error) => !("tools" in error));
        assert.equal(settled, "rejected");

        const denied = await open.client.callTool({ name: "secret_tool", arguments: {} });
        assert.equal(denied.isError, true);
        assert.match((denied.content as Array<{ text: string }>)[0]!.text, /^\[POLICY DENIED\] secret_tool: /);
        const echoed = await open.client.callTool({ name: "echo", arguments: { x: 1 } });
        assert.deepEqual(echoed.content, [{ type: "text", text: 'echo: {"x":1}' }]);
      } finally {
        await open.close();
      }
    });
  }

  for (const [form, id] of Object.entries(NUMBERS)) {
    it(`through mcpgate (${form}, id ${id}): the same number is the list's own id, and its answer loses secret_tool`, async () => {
      const open = await connect(writePolicy(POLICY), rawServer(`retype-list-id=${form}`));
      try {
        const listed = names((await open.client.listTools()).tools);
        assert.ok(listed.includes("echo"), listed.join());
        assert.ok(!listed.includes("secret_tool"), listed.join());
      } finally {
        await open.close();
      }
    });
  }
});
