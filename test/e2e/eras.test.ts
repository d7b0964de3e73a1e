// Both protocol eras through the built mcpgate (SPEC §10), with real peers on both sides: the
// TypeScript SDK v2 client (`auto` negotiates 2026-07-28; `legacy` pins 2025-11-25) against the
// TypeScript SDK v2 server and the official Python SDK 2.x server. Each cell of the matrix runs
// the same session: a list with a hidden tool, allowed, denied and rate-limited calls, approval
// accepted / declined / without a channel, and a tool that asks for input itself. What each
// server executed is read from the file it records runs in, never inferred from replies.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { BIN, FIXTURES, tempDir, writePolicy } from "./helpers.ts";
import { needs, peerCommand, preparePeer } from "./peers.ts";

const POLICY = `
version: "1"
default: deny
hide: [secret]
tools:
  echo:
    limits:
      - { window: hour, max: 2 }
  run:
    action: approve
    reason: "Shell commands need a human"
  confirm:
    limits:
      - { window: hour, max: 1 }
`;

type Era = "legacy" | "modern";
type Answer = "accept" | "decline";

interface Session {
  client: Client;
  version: string | undefined;
  /** What the server ran, one line per run. */
  executed(): string[];
  /** What the elicitation handler was asked, in order (message text). */
  asked: string[];
  close(): Promise<void>;
}

async function open(server: string[], era: Era, options: { answer?: Answer; elicitation?: boolean; policy?: string } = {}): Promise<Session> {
  const record = join(tempDir(), "executed.txt");
  const asked: string[] = [];
  const elicitation = options.elicitation ?? true;
  const client = new Client({ name: "eras-e2e", version: "1.0.0" }, { capabilities: elicitation ? { elicitation: { form: {} } } : {}, versionNegotiation: { mode: era === "modern" ? "auto" : "legacy" } });
  if (elicitation) {
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(String((request.params as { message?: unknown }).message));
      return options.answer === "decline" ? { action: "decline" } : { action: "accept", content: { ok: true } };
    });
  }
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "--policy", writePolicy(options.policy ?? POLICY), "--no-audit", "--", ...server],
    env: { ...(process.env as Record<string, string>), MCPGATE_EXECUTED: record },
    stderr: "pipe",
  });
  await client.connect(transport);
  return {
    client,
    version: client.getNegotiatedProtocolVersion(),
    asked,
    executed: () => (existsSync(record) ? readFileSync(record, "utf8").split("\n").filter((line) => line !== "") : []),
    close: () => client.close(),
  };
}

interface ToolResult {
  isError?: boolean;
  content?: { type: string; text?: string }[];
  _meta?: Record<string, unknown>;
}

const textOf = (result: ToolResult): string => (result.content ?? []).map((part) => part.text ?? "").join("");
const decision = (result: ToolResult): Record<string, unknown> => result._meta?.["mcpgate/decision"] as Record<string, unknown>;

const SERVERS: { name: string; prepare(): Promise<{ command?: string[]; skip?: string; concurrency: number }> }[] = [
  { name: "TypeScript SDK v2", prepare: async () => ({ command: [process.execPath, join(FIXTURES, "servers", "v2-server.mjs")], concurrency: 2 }) },
  {
    name: "Python SDK 2.x",
    prepare: async () => {
      const peer = await preparePeer("python-eras");
      const { skip, concurrency } = needs(peer);
      return skip === undefined ? { command: peerCommand(peer), concurrency } : { skip, concurrency };
    },
  },
];

for (const server of SERVERS) {
  const prepared = await server.prepare();
  for (const era of ["legacy", "modern"] as const) {
    describe(`${era} era (v2 client, ${era === "modern" ? "auto" : "legacy"}) × ${server.name} server`, { ...(prepared.skip === undefined ? {} : { skip: prepared.skip }), concurrency: prepared.concurrency }, () => {
      const command = (): string[] => prepared.command!;
      const version = era === "modern" ? "2026-07-28" : "2025-11-25";

      it(`negotiates ${version}; tools/list loses the hidden tool and keeps the rest`, async () => {
        const session = await open(command(), era);
        try {
          assert.equal(session.version, version);
          const listed = await session.client.listTools();
          const names = listed.tools.map((tool) => tool.name);
          assert.ok(["confirm", "echo", "run"].every((name) => names.includes(name)), names.join());
          assert.ok(!names.includes("secret"), names.join());
          if (era === "modern") {
            // The members the 2026-07-28 result adds survive the filtering.
            const raw = listed as unknown as Record<string, unknown>;
            assert.equal(raw.ttlMs, 0);
            assert.equal(raw.cacheScope, "private");
          }
        } finally {
          await session.close();
        }
        // The control: without the hide rule, the server does list it.
        const control = await open(command(), era, { policy: POLICY.replace("hide: [secret]", "") });
        try {
          assert.ok((await control.client.listTools()).tools.some((tool) => tool.name === "secret"));
        } finally {
          await control.close();
        }
      });

      it("an allowed call runs; a denied call is a readable result, never an exception; a rate-limit denial says when to retry", async () => {
        const session = await open(command(), era);
        try {
          assert.equal(textOf((await session.client.callTool({ name: "echo", arguments: { text: "one" } })) as ToolResult), "echo: one");
          const denied = (await session.client.callTool({ name: "secret", arguments: {} })) as ToolResult;
          assert.equal(denied.isError, true);
          assert.match(textOf(denied), /^\[POLICY DENIED\] secret: /);
          assert.equal(decision(denied).decision, "deny");
          await session.client.callTool({ name: "echo", arguments: { text: "two" } });
          const limited = (await session.client.callTool({ name: "echo", arguments: { text: "three" } })) as ToolResult;
          assert.equal(limited.isError, true);
          assert.match(textOf(limited), /^\[POLICY DENIED\] echo: rate limit reached \(2 per hour; retry in /);
          assert.equal(decision(limited).rule, "tools.echo.limits[0]");
          assert.equal(typeof decision(limited).retryAfterMs, "number");
          assert.deepEqual(session.executed(), ["echo one", "echo two"]);
        } finally {
          await session.close();
        }
      });

      it("approval accepted: the human is asked once, the call runs", async () => {
        const session = await open(command(), era, { answer: "accept" });
        try {
          const result = (await session.client.callTool({ name: "run", arguments: { command: "ls" } })) as ToolResult;
          assert.equal(textOf(result), "ran: ls");
          assert.equal(session.asked.length, 1);
          assert.match(session.asked[0]!, /the agent wants to call the tool "run"/);
          assert.deepEqual(session.executed(), ["run ls"]);
        } finally {
          await session.close();
        }
      });

      it("approval declined: denied, saying so; the server never runs it", async () => {
        const session = await open(command(), era, { answer: "decline" });
        try {
          const result = (await session.client.callTool({ name: "run", arguments: { command: "rm -rf /" } })) as ToolResult;
          assert.equal(result.isError, true);
          assert.match(textOf(result), /^\[POLICY DENIED\] run: Shell commands need a human; a human declined it$/);
          assert.deepEqual(session.executed(), []);
        } finally {
          await session.close();
        }
      });

      it("no approval channel (a client without elicitation): denied, saying why", async () => {
        const session = await open(command(), era, { elicitation: false });
        try {
          const result = (await session.client.callTool({ name: "run", arguments: { command: "ls" } })) as ToolResult;
          assert.equal(result.isError, true);
          assert.match(textOf(result), /no approval channel exists/);
          assert.deepEqual(session.executed(), []);
        } finally {
          await session.close();
        }
      });

      it("a tool that asks for input itself: the continuation is forwarded once and counted once", async () => {
        const session = await open(command(), era, { answer: "accept" });
        try {
          // confirm's limit is 1 per hour: the continuation of its round must not count again.
          const result = (await session.client.callTool({ name: "confirm", arguments: { action: "deploy" } })) as ToolResult;
          assert.equal(textOf(result), "confirmed: deploy");
          assert.deepEqual(session.asked, ["Really deploy?"]);
          // It ran once, to completion; the human was asked once, by the server's own question.
          assert.deepEqual(session.executed().filter((line) => line.startsWith("confirm deploy")), ["confirm deploy true"]);
          const again = (await session.client.callTool({ name: "confirm", arguments: { action: "again" } })) as ToolResult;
          assert.match(textOf(again), /^\[POLICY DENIED\] confirm: rate limit reached \(1 per hour/);
        } finally {
          await session.close();
        }
      });
    });
  }
}
