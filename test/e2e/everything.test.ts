// Everything that is not a tools/call must pass through untouched: prompts, resources,
// structured content, progress, and the server's own requests to the client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { connect, everything, INIT, lines, runGateway, text, writePolicy, type Connected } from "./helpers.ts";

describe("server-everything through mcpgate", () => {
  let gate: Connected;
  const elicitations: unknown[] = [];

  before(async () => {
    const policy = writePolicy('version: "1"\ndefault: allow\nhide: [get-env]\ntools:\n  gzip-file-as-resource: { action: deny, reason: "no fetching" }\n');
    gate = await connect(policy, everything(), {
      capabilities: { elicitation: {}, sampling: {} },
      setup: (client) => {
        client.setRequestHandler(ElicitRequestSchema, async (request) => {
          elicitations.push(request.params);
          return { action: "accept", content: { name: "Ada Lovelace", check: true, integer: 42, email: "ada@example.com", color: "red" } };
        });
        client.setRequestHandler(CreateMessageRequestSchema, async () => ({
          role: "assistant",
          content: { type: "text", text: "sampled through the gateway" },
          model: "test-model",
        }));
      },
    });
  });
  after(() => gate.close());

  it("lists and gets prompts", async () => {
    const { prompts } = await gate.client.listPrompts();
    assert.ok(prompts.some((prompt) => prompt.name === "simple-prompt"));
    const prompt = await gate.client.getPrompt({ name: "args-prompt", arguments: { city: "Paris", state: "Île-de-France" } });
    assert.match(JSON.stringify(prompt.messages), /Paris/);
  });

  it("lists and reads resources", async () => {
    const { resources } = await gate.client.listResources();
    assert.ok(resources.length > 0);
    const read = await gate.client.readResource({ uri: resources[0]!.uri });
    assert.ok(read.contents.length > 0);
    const { resourceTemplates } = await gate.client.listResourceTemplates();
    assert.ok(resourceTemplates.length > 0);
  });

  it("returns structured content intact", async () => {
    const result = await gate.client.callTool({ name: "get-structured-content", arguments: { location: "New York" } });
    assert.notEqual(result.isError, true);
    const structured = result.structuredContent as { temperature?: number };
    assert.equal(typeof structured.temperature, "number");
  });

  it("relays progress notifications to the SDK client", async () => {
    const progress: number[] = [];
    const result = await gate.client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (update) => progress.push(update.progress) },
    );
    assert.notEqual(result.isError, true, text(result));
    // The SDK client handles notifications a microtask late, so a last progress that arrives in
    // the same read as the result is dropped by the client itself (seen in 6 of 10 runs with
    // no gateway at all). The byte-level test below checks that all of them are relayed.
    assert.deepEqual(progress.slice(0, 2), [1, 2]);
  });

  it("relays the server's elicitation request and the client's answer", async () => {
    const result = await gate.client.callTool({ name: "trigger-elicitation-request", arguments: {} });
    assert.notEqual(result.isError, true, text(result));
    assert.equal(elicitations.length, 1);
    assert.match(JSON.stringify(result.content), /Ada Lovelace/);
  });

  it("relays the server's sampling request", async () => {
    const result = await gate.client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 10 } });
    assert.notEqual(result.isError, true, text(result));
    assert.match(JSON.stringify(result.content), /sampled through the gateway/);
  });

  it("hides get-env and denies a denied tool with the policy's reason", async () => {
    const { tools } = await gate.client.listTools();
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes("echo"));
    assert.ok(!names.includes("get-env"));
    const denied = await gate.client.callTool({ name: "gzip-file-as-resource", arguments: { name: "x", data: "data:text/plain,hi" } });
    assert.equal(denied.isError, true);
    assert.equal(text(denied), "[POLICY DENIED] gzip-file-as-resource: no fetching");
    const echo = await gate.client.callTool({ name: "echo", arguments: { message: "héllo 👋" } });
    assert.equal(text(echo), "Echo: héllo 👋");
  });

  it("answers ping", async () => {
    assert.deepEqual(await gate.client.ping(), {});
  });
});

describe("server-everything, byte level", () => {
  it("relays every progress notification before the result, and notifications byte-for-byte", async () => {
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    const call = '{"jsonrpc":"2.0","id":"op-1","method":"tools/call","params":{"name":"trigger-long-running-operation","arguments":{"duration":0.2,"steps":3},"_meta":{"progressToken":"tok-\\u00e9"}}}';
    const run = await runGateway(
      ["--policy", policy, "--no-audit", "--", ...everything()],
      lines(INIT, { jsonrpc: "2.0", method: "notifications/initialized" }, call),
      { until: (stdout) => stdout.includes('"id":"op-1"') },
    );
    const messages = run.lines.map((line) => JSON.parse(line) as { method?: string; id?: unknown; params?: { progress: number; progressToken: string } });
    const progress = messages.filter((message) => message.method === "notifications/progress");
    assert.deepEqual(progress.map((message) => message.params!.progress), [1, 2, 3]);
    assert.ok(progress.every((message) => message.params!.progressToken === "tok-é"));
    const resultAt = messages.findIndex((message) => message.id === "op-1");
    assert.ok(messages.indexOf(progress[2]!) < resultAt);
  });
});
