// `mcpgate init`: the built binary starts a real server, lists its tools and writes a starter
// policy that `check` accepts and the gateway then runs with; servers that misbehave get a
// clear error, and no file.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { alive, bashMcp, connect, everything, rawServer, runGateway, tempDir, text } from "./helpers.ts";

/** The tool names the server lists to a client talking to it directly. */
async function namesFromServer(server: string[]): Promise<string[]> {
  const client = new Client({ name: "direct", version: "1" });
  await client.connect(new StdioClientTransport({ command: server[0]!, args: server.slice(1), stderr: "ignore" }));
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    names.push(...page.tools.map((tool) => tool.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  await client.close();
  return names;
}

/** The tool names a starter policy has entries for. */
function entries(yaml: string): string[] {
  const tools = yaml.slice(yaml.indexOf("\ntools:"));
  return [...tools.matchAll(/^ {2}("(?:[^"\\]|\\.)*"|[^\s#:][^:]*):/gm)].map((match) => (match[1]!.startsWith('"') ? (JSON.parse(match[1]!) as string) : match[1]!));
}

describe("mcpgate init", () => {
  it("writes a policy naming every tool of bash-mcp, which check accepts and the gateway runs with", async () => {
    const file = join(tempDir(), "policy.yaml");
    const run = await runGateway(["init", "-o", file, "--", ...bashMcp()]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "", "init writes the file, nothing on stdout");
    assert.match(run.stderr, new RegExp(`wrote a starter policy to ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    const yaml = readFileSync(file, "utf8");
    assert.deepEqual(entries(yaml).sort(), (await namesFromServer(bashMcp())).sort());

    const check = await runGateway(["check", file]);
    assert.equal(check.code, 0, check.stderr);

    const gateway = await connect(file, bashMcp());
    try {
      const result = await gateway.client.callTool({ name: "run", arguments: { command: "echo through-the-starter" } });
      assert.match(text(result), /through-the-starter/);
      const unknown = await gateway.client.callTool({ name: "not_a_tool_of_this_server", arguments: {} });
      assert.match(text(unknown), /^\[POLICY DENIED\] not_a_tool_of_this_server/);
    } finally {
      await gateway.close();
    }
  });

  it("lists all of server-everything's tools on stdout when no file is given", async () => {
    const run = await runGateway(["init", "--", ...everything()]);
    assert.equal(run.code, 0, run.stderr);
    const names = await namesFromServer(everything());
    assert.ok(names.length > 5);
    assert.deepEqual(entries(run.stdout).sort(), names.sort());
  });

  it("follows tools/list pages, answers the server's own requests, and ignores log lines on stdout", async () => {
    const record = join(tempDir(), "received.jsonl");
    const tools = ["one", "two", "three", "four", "five"].map((name) => ({ name, inputSchema: { type: "object" } }));
    const run = await runGateway(["init", "--", ...rawServer("paged-tools", "asks-first", "noisy")], "", { env: { TOOLS: JSON.stringify(tools), RECORD: record } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(entries(run.stdout), ["one", "two", "three", "four", "five"]);
    const received = readFileSync(record, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { id?: unknown; method?: string; result?: unknown; error?: unknown; params?: { cursor?: string } });
    assert.deepEqual(
      received.map((message) => message.method ?? `reply to ${String(message.id)}`),
      ["initialize", "notifications/initialized", "tools/list", "reply to server-1", "reply to server-2", "tools/list", "tools/list"],
    );
    assert.deepEqual(received.find((message) => message.id === "server-1")?.result, {});
    assert.ok(received.find((message) => message.id === "server-2")?.error, "roots/list is refused, not left waiting");
  });

  it("marks read-only tools and leaves out glob-like names, saying so", async () => {
    const tools = [
      { name: "look", description: "Looks.\nNothing else.", annotations: { readOnlyHint: true }, inputSchema: { type: "object" } },
      { name: "read_*", inputSchema: { type: "object" } },
      { name: "true", inputSchema: { type: "object" } },
      // Fields of the wrong type are ignored, not trusted: this one is not read-only.
      { name: "odd", description: 42, annotations: { readOnlyHint: "yes", title: ["x"] }, inputSchema: { type: "object" } },
    ];
    const run = await runGateway(["init", "--", ...rawServer()], "", { env: { TOOLS: JSON.stringify(tools) } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ {2}# Looks\. Nothing else\.\n {2}# The server says: read-only\.\n {2}look: \{\}$/m);
    assert.match(run.stdout, /^ {2}"true":\n {4}limits: \["60\/minute"\]\n {2}odd:\n {4}limits: \["60\/minute"\]$/m);
    assert.match(run.stderr, /left out the tool "read_\*": glob characters/);
    assert.match(run.stderr, /3 tools, 2 capped at 60\/minute, 1 read-only allowed as they are/);
  });

  it("fails with a clear error, and writes nothing, when the server does not get as far as listing its tools", async () => {
    const file = join(tempDir(), "policy.yaml");
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [rawServer("exit-after-init=4"), /the MCP server exited with code 4 before answering tools\/list; no policy written/],
      [rawServer("endless-pages"), /the server's tools\/list kept paging/],
      [["/nonexistent/mcp-server"], /cannot start the MCP server "\/nonexistent\/mcp-server": command not found/],
      [rawServer(), /the server's tools\/list result has no tools array|the server listed a tool without a name/, { TOOLS: JSON.stringify([{ description: "no name" }]) }],
    ];
    for (const [server, expected, env] of cases) {
      const run = await runGateway(["init", "-o", file, "--", ...server], "", env === undefined ? {} : { env });
      assert.equal(run.code, 1, `${server.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, expected);
      assert.equal(existsSync(file), false);
    }
  });

  it("gives up on a server that does not answer, and stops it", async () => {
    const pidFile = join(tempDir(), "server.pid");
    // A server that never answers, and ignores both the end of its input and SIGTERM.
    const silent = "require('fs').writeFileSync(process.env.PIDFILE, String(process.pid)); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);";
    const run = await runGateway(["init", "--timeout", "300", "--", process.execPath, "-e", silent], "", { env: { PIDFILE: pidFile } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the server did not answer initialize within 300 ms; no policy written/);
    assert.equal(alive(Number(readFileSync(pidFile, "utf8"))), false, "the server was left running");
  });

  it("refuses to overwrite a file unless told to, and needs a server command", async () => {
    const file = join(tempDir(), "policy.yaml");
    writeFileSync(file, "mine\n");
    const refused = await runGateway(["init", "-o", file, "--", ...rawServer()]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /exists; pass --force to overwrite it/);
    assert.equal(readFileSync(file, "utf8"), "mine\n");
    const forced = await runGateway(["init", "-o", file, "--force", "--", ...rawServer()]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(file, "utf8"), /^default: deny$/m);

    const nowhere = await runGateway(["init", "-o", join(tempDir(), "missing", "policy.yaml"), "--", ...rawServer()]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /cannot write .*missing\/policy\.yaml: ENOENT/);

    const usage = await runGateway(["init"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /no server command: usage is mcpgate init/);
  });
});
