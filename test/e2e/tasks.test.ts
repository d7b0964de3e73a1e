// Task-augmented tools/call through the built mcpgate (SPEC §10 "Tasks"), with the real client
// task APIs against servers that make real tasks: the SDK v1 client's callToolStream and
// @modelcontextprotocol/ext-tasks (legacy era) against the SDK v1 tasks server (2025-11-25), and
// ext-tasks with a raw dispatch (2026-07-28 tasks extension) against the v2 fixture. A denied
// call must end as the denial in each client's own terms, the server must never run it, and the
// audit log must take an allowed call's duration and outcome from its task's end, not from the
// CreateTaskResult that answers at once. What each server ran is read from the file it records
// runs in; what reached a server, from a tap between mcpgate and it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Client as V2Client } from "@modelcontextprotocol/client";
import { StdioClientTransport as V2Transport } from "@modelcontextprotocol/client/stdio";
import { createTaskSessionFromClient, TaskFailedError, type CreateTaskSessionFromClientOptions, type RawClientDispatch } from "@modelcontextprotocol/ext-tasks/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { BIN, FIXTURES, tempDir, writePolicy } from "./helpers.ts";
import { needs, peerCommand, preparePeer } from "./peers.ts";

const MS = 300;
const REASON = "no sleeping here";
const DENIAL = `[POLICY DENIED] slow: ${REASON}`;
const ALLOW = `
version: "1"
default: deny
tools:
  slow: {}
  slowfail: {}
  echo: {}
`;
const DENY = ALLOW.replace("  slow: {}", `  slow:\n    action: deny\n    reason: "${REASON}"`);

const TASKS_SERVER = [process.execPath, join(FIXTURES, "servers", "tasks-server.mjs")];
const V2_SERVER = [process.execPath, join(FIXTURES, "servers", "v2-server.mjs")];

/**
 * Relays stdin to the server it starts and appends every byte to a file: what reached the server.
 * The server's stdout and stderr are its own (inherited).
 */
const TAP = `
const { spawn } = require("node:child_process");
const { appendFileSync } = require("node:fs");
const [log, command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: ["pipe", "inherit", "inherit"] });
process.stdin.on("data", (chunk) => { appendFileSync(log, chunk); child.stdin.write(chunk); });
process.stdin.on("end", () => child.stdin.end());
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`;
const tapped = (log: string, server: string[]): string[] => [process.execPath, "-e", TAP, log, ...server];

interface AuditEvent {
  event: string;
  tool?: string;
  decision?: string;
  duration_ms?: number;
  is_error?: boolean;
  task?: { id: string; status: string };
}

/** One gateway run: its command line, and the files it and its server write. */
interface Gateway {
  args: string[];
  env: Record<string, string>;
  /** What the server ran, one line per run. */
  executed(): string[];
  /** The audit log's events; complete once the gateway has exited (the client closed). */
  audit(): AuditEvent[];
}

function gateway(policy: string, server: string[]): Gateway {
  const dir = tempDir();
  const executed = join(dir, "executed.txt");
  const audit = join(dir, "audit.jsonl");
  const read = (file: string): string[] => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : []);
  return {
    // The SDK v1 tasks server outlives its stdin (its task store keeps timers): a short grace.
    args: [BIN, "--policy", writePolicy(policy), "--audit", audit, "--shutdown-grace", "100", "--", ...server],
    env: { ...(process.env as Record<string, string>), MCPGATE_EXECUTED: executed },
    executed: () => read(executed),
    audit: () => read(audit).map((line) => JSON.parse(line) as AuditEvent),
  };
}

const calls = (events: AuditEvent[], tool: string): AuditEvent[] => events.filter((event) => event.event === "call" && event.tool === tool);

/** The audit log once the gateway has stopped, its stop event proving it complete. */
function finalAudit(run: Gateway): AuditEvent[] {
  const events = run.audit();
  assert.ok(events.some((event) => event.event === "stop"), `no stop event yet: ${JSON.stringify(events)}`);
  return events;
}

/** An allowed task's call event: the task's time and outcome, written once. */
function assertTaskAudited(events: AuditEvent[], tool: string, expected: { isError: boolean; status: string }): void {
  const found = calls(events, tool);
  assert.equal(found.length, 1, JSON.stringify(found));
  const [event] = found as [AuditEvent];
  assert.equal(event.decision, "allow");
  // The task slept MS; the CreateTaskResult came back long before.
  assert.ok((event.duration_ms ?? 0) >= MS, `duration_ms ${event.duration_ms}`);
  assert.equal(event.is_error, expected.isError);
  assert.equal(event.task?.status, expected.status);
  assert.equal(typeof event.task?.id, "string");
}

// ---- 2025-11-25 with the SDK v1 client ----

async function v1Client(command: string[], env: Record<string, string>): Promise<V1Client> {
  const [file, ...args] = command as [string, ...string[]];
  const client = new V1Client({ name: "tasks-e2e", version: "1.0.0" }, { capabilities: {} });
  await client.connect(new V1Transport({ command: file, args, env, stderr: "pipe" }));
  return client;
}

type StreamMessage = { type: "taskCreated" | "taskStatus"; task: { taskId: string; status: string; statusMessage?: string } } | { type: "result"; result: { content?: { text?: string }[]; isError?: boolean } } | { type: "error"; error: Error };

/** Everything the SDK v1 task stream yields for one task-augmented call. */
async function stream(client: V1Client, tool: string, ms: number): Promise<StreamMessage[]> {
  const messages: StreamMessage[] = [];
  for await (const message of client.experimental.tasks.callToolStream({ name: tool, arguments: { ms } }, CallToolResultSchema, { task: { ttl: 60_000 } })) {
    messages.push(message as StreamMessage);
  }
  return messages;
}

const textOf = (result: unknown): string => ((result as { content?: { text?: string }[] }).content ?? []).map((part) => part.text ?? "").join("");

describe("2025-11-25: SDK v1 client callToolStream × SDK v1 tasks server", () => {
  it("allowed slow and slowfail: a working task, then the result (slowfail: an error); audited with the task's time", async () => {
    const run = gateway(ALLOW, TASKS_SERVER);
    const client = await v1Client([process.execPath, ...run.args], run.env);
    let slow: StreamMessage[];
    let slowfail: StreamMessage[];
    try {
      slow = await stream(client, "slow", MS);
      slowfail = await stream(client, "slowfail", MS);
    } finally {
      await client.close();
    }
    assert.deepEqual(
      slow.map((message) => message.type),
      ["taskCreated", ...slow.slice(1, -1).map(() => "taskStatus"), "result"],
    );
    assert.equal((slow[0] as { task: { status: string } }).task.status, "working");
    assert.equal(textOf((slow.at(-1) as { result: unknown }).result), `slept ${MS}`);
    // slowfail's task ends "failed": the stream ends in an error.
    assert.equal((slowfail.at(-2) as { task: { status: string } }).task.status, "failed");
    assert.equal(slowfail.at(-1)?.type, "error");
    assert.deepEqual(run.executed(), [`slow ${MS}`, `slowfail ${MS}`]);

    const events = finalAudit(run);
    assertTaskAudited(events, "slow", { isError: false, status: "completed" });
    assertTaskAudited(events, "slowfail", { isError: true, status: "failed" });
  });

  it("denied slow: a task that already failed with the denial; the server never runs it", async () => {
    const run = gateway(DENY, TASKS_SERVER);
    const client = await v1Client([process.execPath, ...run.args], run.env);
    let messages: StreamMessage[];
    try {
      messages = await stream(client, "slow", MS);
      // The control: this session's server does run what is allowed, and records it.
      assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "control" } })), "echo: control");
    } finally {
      await client.close();
    }
    // The stream takes the created task, asks tasks/get once (mcpgate answers), and ends as the
    // SDK ends any failed task: with an error naming it.
    assert.deepEqual(
      messages.map((message) => message.type),
      ["taskCreated", "taskStatus", "error"],
    );
    const [created, status] = messages as [Extract<StreamMessage, { task: unknown }>, Extract<StreamMessage, { task: unknown }>];
    assert.match(created.task.taskId, /^mcpgate-denied-[0-9a-f]{12}-\d+$/);
    for (const { task } of [created, status]) {
      assert.equal(task.taskId, created.task.taskId);
      assert.equal(task.status, "failed");
      assert.equal(task.statusMessage, DENIAL);
    }
    assert.equal((messages[2] as { error: Error }).error.message, `MCP error -32603: Task ${created.task.taskId} failed`);
    assert.deepEqual(run.executed(), ["echo control"]);

    const events = finalAudit(run);
    assert.deepEqual(
      calls(events, "slow").map((event) => event.decision),
      ["deny"],
    );
  });

  it("tasks/get and tasks/result of a denied task are mcpgate's; another task id goes to the server", async () => {
    const run = gateway(DENY, []);
    const reached = join(tempDir(), "reached.txt");
    run.args.push(...tapped(reached, TASKS_SERVER));
    const client = await v1Client([process.execPath, ...run.args], run.env);
    const tasks = client.experimental.tasks;
    let taskId: string;
    let ownUnknown: string;
    let other: string;
    try {
      const [created] = await stream(client, "slow", MS);
      taskId = (created as { task: { taskId: string } }).task.taskId;
      const got = await tasks.getTask(taskId);
      assert.equal(got.status, "failed");
      assert.equal(got.statusMessage, DENIAL);
      const result = await tasks.getTaskResult(taskId, CallToolResultSchema);
      assert.equal(result.isError, true);
      assert.equal(textOf(result), DENIAL);
      assert.deepEqual(result._meta?.["io.modelcontextprotocol/related-task"], { taskId });

      // An id of mcpgate's prefix it never gave out: its own error, naming the id.
      ownUnknown = taskId.replace(/\d+$/, "999");
      await assert.rejects(tasks.getTask(ownUnknown), (error: Error) => error.message.includes(`Task not found (${ownUnknown})`));
      // Another prefix is not mcpgate's: the server answers (it knows no such task either).
      other = taskId.replace(/^mcpgate-denied-[0-9a-f]{12}-/, "mcpgate-denied-000000000000-");
      assert.notEqual(other, taskId);
      await assert.rejects(tasks.getTask(other), (error: Error) => /Task not found/.test(error.message) && !error.message.includes(other));
    } finally {
      await client.close();
    }
    const wire = readFileSync(reached, "utf8");
    assert.ok(wire.includes(`"taskId":"${other}"`), "the other prefix's tasks/get reached the server");
    assert.ok(!wire.includes(taskId), "mcpgate's task id reached the server");
    assert.ok(!wire.includes(ownUnknown), "mcpgate's prefix reached the server");
    assert.ok(!wire.includes('"slow"'), "the denied call reached the server");

    // Without mcpgate the server knows no such task: the answers above were not the server's.
    const direct = await v1Client(TASKS_SERVER, run.env);
    try {
      await assert.rejects(direct.experimental.tasks.getTask(taskId), /Task not found/);
    } finally {
      await direct.close();
    }
  });
});

// ---- ext-tasks on the SDK v2 client, both eras ----

type Mode = "legacy" | "auto";

interface ExtSession {
  run: Gateway;
  /** Calls `tool` as a task (if the session takes one) and waits for its end. */
  settle(tool: string, ms: number, preference?: "prefer" | "require"): Promise<{ kind: string; taskId: string | undefined; outcome: Outcome }>;
  close(): Promise<void>;
}

type Outcome = { status: "completed"; result: unknown } | { status: "failed"; error: TaskFailedError } | { status: "cancelled" };

async function extSession(mode: Mode, policy: string, server: string[]): Promise<ExtSession> {
  const run = gateway(policy, server);
  const clientInfo = { name: "tasks-e2e", version: "1.0.0" };
  const clientCapabilities = {};
  const client = new V2Client(clientInfo, { capabilities: clientCapabilities, versionNegotiation: { mode } });
  const transport = new V2Transport({ command: process.execPath, args: run.args, env: run.env, stderr: "pipe" });
  await client.connect(transport);
  const options: CreateTaskSessionFromClientOptions = { endpointId: "tasks-e2e" };
  if (mode === "auto") {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    // The v2 Client rejects `resultType: "task"` and tasks/* in the modern era, so ext-tasks needs
    // a dispatch of its own on the same transport: own ids, replies taken off before the Client.
    const pending = new Map<string, (message: { result?: unknown; error?: unknown }) => void>();
    let next = 0;
    const clientOnMessage = transport.onmessage;
    transport.onmessage = (message) => {
      const reply = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
      const settle = typeof reply.id === "string" && reply.method === undefined ? pending.get(reply.id) : undefined;
      if (settle === undefined) return clientOnMessage?.(message);
      pending.delete(reply.id as string);
      settle(reply);
    };
    const rawDispatch: RawClientDispatch = (request, dispatch = {}) =>
      new Promise((resolve, reject) => {
        const id = `raw-${++next}`;
        pending.set(id, (reply) => resolve((reply.error === undefined ? { kind: "result", result: reply.result } : { kind: "error", error: reply.error }) as Awaited<ReturnType<RawClientDispatch>>));
        dispatch.signal?.addEventListener("abort", () => (pending.delete(id), reject(dispatch.signal?.reason)), { once: true });
        transport.send({ jsonrpc: "2.0", id, ...(request as object) } as Parameters<V2Transport["send"]>[0]).catch(reject);
      });
    Object.assign(options, { rawDispatch, v2RequestFraming: { protocolVersion: client.getNegotiatedProtocolVersion()!, clientInfo, clientCapabilities } });
  } else {
    assert.equal(client.getNegotiatedProtocolVersion(), "2025-11-25");
  }
  const session = createTaskSessionFromClient(client, options);
  return {
    run,
    async settle(tool, ms, preference = "prefer") {
      const execution = await session.callTool(tool, { ms }, { task: { preference } });
      const { outcome } = await execution.settle();
      return { kind: execution.kind, taskId: execution.handle?.taskId, outcome: outcome as Outcome };
    },
    async close() {
      await session.close();
      await client.close();
    },
  };
}

const decisionOf = (result: unknown): unknown => (result as { _meta?: Record<string, unknown> })._meta?.["mcpgate/decision"];

describe("2025-11-25: ext-tasks (v2 client, legacy) × SDK v1 tasks server", () => {
  it("allowed: completed with the result; slowfail failed; audited with the task's time", async () => {
    const session = await extSession("legacy", ALLOW, TASKS_SERVER);
    let slow, slowfail;
    try {
      slow = await session.settle("slow", MS);
      slowfail = await session.settle("slowfail", MS);
    } finally {
      await session.close();
    }
    assert.equal(slow.kind, "task");
    assert.equal(slow.outcome.status, "completed");
    assert.equal(textOf((slow.outcome as { result: unknown }).result), `slept ${MS}`);
    assert.equal(slowfail.outcome.status, "failed");
    assert.deepEqual(session.run.executed(), [`slow ${MS}`, `slowfail ${MS}`]);

    const events = finalAudit(session.run);
    assertTaskAudited(events, "slow", { isError: false, status: "completed" });
    assertTaskAudited(events, "slowfail", { isError: true, status: "failed" });
  });

  it("denied: settles failed with a TaskFailedError that is the denial; the server never runs it", async () => {
    const session = await extSession("legacy", DENY, TASKS_SERVER);
    let denied;
    try {
      denied = await session.settle("slow", MS);
    } finally {
      await session.close();
    }
    assert.equal(denied.kind, "task");
    assert.match(denied.taskId ?? "", /^mcpgate-denied-/);
    assert.equal(denied.outcome.status, "failed");
    const { error } = denied.outcome as { error: TaskFailedError };
    assert.ok(error instanceof TaskFailedError, String(error));
    assert.equal(error.message, DENIAL);
    assert.deepEqual(session.run.executed(), []);
    assert.deepEqual(
      calls(finalAudit(session.run), "slow").map((event) => event.decision),
      ["deny"],
    );
  });
});

describe("2026-07-28: ext-tasks (v2 client, auto, raw dispatch) × v2 fixture with the tasks extension", () => {
  it("allowed: completed with the result; slowfail completed with isError; audited with the task's time", async () => {
    const session = await extSession("auto", ALLOW, V2_SERVER);
    let slow, slowfail;
    try {
      slow = await session.settle("slow", MS);
      slowfail = await session.settle("slowfail", MS);
    } finally {
      await session.close();
    }
    assert.equal(slow.kind, "task");
    assert.equal(slow.outcome.status, "completed");
    assert.equal(textOf((slow.outcome as { result: unknown }).result), `slept ${MS}`);
    assert.equal(slowfail.outcome.status, "completed");
    const failed = (slowfail.outcome as { result: { isError?: boolean } }).result;
    assert.equal(failed.isError, true);
    assert.equal(textOf(failed), `failed after ${MS}`);
    assert.deepEqual(session.run.executed(), [`slow ${MS}`, `slowfail ${MS}`]);

    const events = finalAudit(session.run);
    assertTaskAudited(events, "slow", { isError: false, status: "completed" });
    assertTaskAudited(events, "slowfail", { isError: true, status: "completed" });
  });

  it("denied (task preference prefer, then require): settles completed with the denial result; the server never runs it", async () => {
    const session = await extSession("auto", DENY, V2_SERVER);
    const denied = [];
    try {
      for (const preference of ["prefer", "require"] as const) denied.push(await session.settle("slow", MS, preference));
    } finally {
      await session.close();
    }
    for (const { kind, taskId, outcome } of denied) {
      assert.equal(kind, "task");
      assert.match(taskId ?? "", /^mcpgate-denied-/);
      assert.equal(outcome.status, "completed");
      const { result } = outcome as { result: { isError?: boolean } };
      assert.equal(result.isError, true);
      assert.equal(textOf(result), DENIAL);
      assert.deepEqual(decisionOf(result), { decision: "deny", tool: "slow", rule: "tools.slow", reason: REASON });
    }
    assert.deepEqual(session.run.executed(), []);
    assert.deepEqual(
      calls(finalAudit(session.run), "slow").map((event) => event.decision),
      ["deny", "deny"],
    );
  });
});

// ---- a server without tasks: the official Python SDK 2.x ----

describe("2025-11-25: SDK v1 client callToolStream × Python SDK 2.x server (no task runtime)", async () => {
  const peer = await preparePeer("python-eras");
  const { skip, concurrency } = needs(peer);
  it("denied: the same task of mcpgate's, failed with the denial; the server never sees the call", { ...(skip === undefined ? {} : { skip }), concurrency }, async () => {
    const policy = `version: "1"\ndefault: deny\ntools:\n  echo: {}\n  run:\n    action: deny\n    reason: "${REASON}"\n`;
    const run = gateway(policy, peerCommand(peer));
    const client = await v1Client([process.execPath, ...run.args], run.env);
    const messages: StreamMessage[] = [];
    try {
      for await (const message of client.experimental.tasks.callToolStream({ name: "run", arguments: { command: "rm -rf /" } }, CallToolResultSchema, { task: { ttl: 60_000 } })) {
        messages.push(message as StreamMessage);
      }
      // The control: this session's server runs what is allowed, and records it.
      assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "control" } })), "echo: control");
    } finally {
      await client.close();
    }
    assert.deepEqual(
      messages.map((message) => message.type),
      ["taskCreated", "taskStatus", "error"],
    );
    const created = messages[0] as Extract<StreamMessage, { task: unknown }>;
    assert.equal(created.task.status, "failed");
    assert.equal(created.task.statusMessage, `[POLICY DENIED] run: ${REASON}`);
    assert.deepEqual(run.executed(), ["echo control"]);
  });
});
