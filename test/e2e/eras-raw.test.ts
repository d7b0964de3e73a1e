// mcpgate's own approval round in protocol 2026-07-28 (SPEC §10), driven by a raw JSON-RPC
// client so every byte of the round is the test's choice: the requestState is kept, altered,
// taken from another mcpgate, reused, sent with another call, or sent after it expired. Against
// both real servers (the TypeScript SDK v2 fixture and the Python SDK 2.x one), each case asserts
// mcpgate's exact reason, what the server executed (its MCPGATE_EXECUTED record), what reached
// the server at all (a tap between mcpgate and the server logs every line sent to it), and the
// audit log's `approval` field; and a control shows the good retry does run the call, once.
// Nothing waits on a clock: replies are awaited by id, stderr lines by pattern.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN, FIXTURES, tempDir, writePolicy } from "./helpers.ts";
import { needs, peerCommand, preparePeer } from "./peers.ts";

const policy = (timeout: string): string => `
version: "1"
default: deny
tools:
  echo: {}
  run:
    action: approve
    reason: "Shell commands need a human"
approval:
  timeout: ${timeout}
`;

/** Long enough that no round of a case expires while the case runs; 1s for the expiry cases. */
const PATIENT = policy("10m");
const HASTY = policy("1s");

const ENVELOPE = "io.modelcontextprotocol/protocolVersion";
const CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
/** The _meta of a 2026-07-28 request from a client that can show a form. */
const MODERN = { [ENVELOPE]: "2026-07-28", [CAPABILITIES]: { elicitation: { form: {} } } };

const REASON = "Shell commands need a human";
const DENIED = {
  reused: "the retry's requestState was used already (each works once); call the tool again",
  forged: "the retry's requestState was not issued by this mcpgate (forged, altered, or from an earlier run); call the tool again",
  expired: "the retry's requestState has expired; call the tool again",
  otherArguments: "the retry's requestState was issued for another call (other arguments); call the tool again",
  otherTool: "the retry's requestState was issued for another call (tool \"run\"); call the tool again",
  declined: `${REASON}; a human declined it`,
};

/**
 * A relay between mcpgate and the server that appends every byte mcpgate sends the server to the
 * file in argv[1], then runs the server (argv[2..]) on the same stdout; it exits with the server.
 */
const TAP = `
const { spawn } = require("node:child_process");
const { appendFileSync } = require("node:fs");
const [log, file, ...args] = process.argv.slice(1);
const child = spawn(file, args, { stdio: ["pipe", "inherit", "inherit"] });
process.stdin.on("data", (chunk) => { appendFileSync(log, chunk); child.stdin.write(chunk); });
process.stdin.on("end", () => child.stdin.end());
child.stdin.on("error", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? 128));
`;

interface Message {
  jsonrpc: "2.0";
  id?: number | string | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
  method?: string;
  params?: Record<string, unknown>;
}

/** A tools/call result as mcpgate or the server wrote it. */
interface ToolResult {
  resultType?: string;
  isError?: boolean;
  content?: { type: string; text?: string }[];
  _meta?: Record<string, unknown>;
  inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
  requestState?: string;
}

interface AuditEvent {
  event: string;
  tool?: string;
  decision?: string;
  rule?: string;
  reason?: string;
  approval?: string;
}

/** mcpgate wrapping a server, spoken to in raw lines. */
class RawGateway {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #record: string;
  readonly #tap: string;
  readonly audit: string;
  #stdout = "";
  #stderr = "";
  #nextId = 1;
  readonly #replies = new Map<string, Message>();
  readonly #waiting = new Set<() => void>();
  #exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(policyText: string, server: string[]) {
    const dir = tempDir();
    this.#record = join(dir, "executed.txt");
    this.#tap = join(dir, "to-server.jsonl");
    this.audit = join(dir, "audit.jsonl");
    const command = [process.execPath, BIN, "--policy", writePolicy(policyText), "--audit", this.audit, "--no-watch", "--", process.execPath, "-e", TAP, this.#tap, ...server];
    this.#child = spawn(command[0]!, command.slice(1), { env: { ...process.env, MCPGATE_EXECUTED: this.#record }, stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdin.on("error", () => {});
    this.#child.stdout.on("data", (chunk: Buffer) => {
      this.#stdout += chunk.toString("utf8");
      let newline: number;
      while ((newline = this.#stdout.indexOf("\n")) >= 0) {
        const line = this.#stdout.slice(0, newline);
        this.#stdout = this.#stdout.slice(newline + 1);
        if (line === "") continue;
        const message = JSON.parse(line) as Message;
        if ("id" in message && message.method === undefined) this.#replies.set(JSON.stringify(message.id), message);
      }
      this.#wake();
    });
    this.#child.stderr.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString("utf8");
      this.#wake();
    });
    this.#exit = new Promise((resolve) => {
      this.#child.on("close", (code, signal) => {
        this.#exited = { code, signal };
        this.#wake();
        resolve({ code, signal });
      });
    });
  }

  #wake(): void {
    for (const check of this.#waiting) check();
  }

  /** Resolves once `ready()` gives a value; rejects, with mcpgate's stderr, if it exits first. */
  #until<T>(what: string, ready: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = ready();
        if (value === undefined && this.#exited === undefined) return;
        this.#waiting.delete(check);
        if (value !== undefined) resolve(value);
        else reject(new Error(`mcpgate exited (${JSON.stringify(this.#exited)}) before ${what}; its stderr:\n${this.#stderr}`));
      };
      this.#waiting.add(check);
      check();
    });
  }

  /** Writes one request (with a new id) and resolves with its reply. */
  request(method: string, params: Record<string, unknown>): Promise<Message> {
    const id = this.#nextId++;
    this.#child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
    return this.#until(`it answered id ${id}`, () => this.#replies.get(JSON.stringify(id)));
  }

  /** A 2026-07-28 tools/call (the envelope of a form-capable client unless `meta` says otherwise); its result. */
  async call(name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = MODERN): Promise<ToolResult> {
    const reply = await this.request("tools/call", { name, arguments: args, _meta: meta, ...extra });
    assert.equal(reply.error, undefined, `tools/call ${name} got an error: ${JSON.stringify(reply.error)}`);
    return reply.result as ToolResult;
  }

  /** Opens mcpgate's approval round for a call; returns its requestState. */
  async round(name: string, args: Record<string, unknown>): Promise<string> {
    const result = await this.call(name, args);
    assert.equal(result.resultType, "input_required", JSON.stringify(result));
    assert.equal(typeof result.requestState, "string");
    return result.requestState!;
  }

  /** The client's retry after a round: the same call, the human's answer, and a requestState. */
  retry(name: string, args: Record<string, unknown>, requestState: unknown, answer: object = { action: "accept", content: {} }): Promise<ToolResult> {
    return this.call(name, args, { inputResponses: { mcpgate_approval: answer }, requestState });
  }

  /** Resolves with stderr once `pattern` has matched `count` times. */
  stderrMatching(pattern: RegExp, count = 1): Promise<string> {
    const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
    return this.#until(`stderr matched ${pattern} ${count} time(s)`, () => ((this.#stderr.match(global) ?? []).length >= count ? this.#stderr : undefined));
  }

  /** What the server executed, one line per run. */
  executed(): string[] {
    return existsSync(this.#record) ? readFileSync(this.#record, "utf8").split("\n").filter((line) => line !== "") : [];
  }

  /** Every tools/call request mcpgate sent the server. */
  forwardedCalls(): Message[] {
    if (!existsSync(this.#tap)) return [];
    return readFileSync(this.#tap, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Message)
      .filter((message) => message.method === "tools/call");
  }

  /** The audit log's call events (read once mcpgate has exited and closed it). */
  calls(): AuditEvent[] {
    return readFileSync(this.audit, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.event === "call");
  }

  /** Closes stdin; resolves once mcpgate has exited. */
  async close(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.#child.stdin.end();
    return this.#exit;
  }
}

const textOf = (result: ToolResult): string => (result.content ?? []).map((part) => part.text ?? "").join("");

/** The result mcpgate writes when it denies a retry: a complete tool result, never an exception. */
function assertDenied(result: ToolResult, reason: string, rule = "requestState"): void {
  assert.equal(textOf(result), `[POLICY DENIED] run: ${reason}`, JSON.stringify(result));
  assert.equal(result.isError, true);
  assert.equal(result.resultType, "complete");
  assert.deepEqual(result._meta?.["mcpgate/decision"], { decision: "deny", tool: "run", rule, reason });
}

/** The good retry ran: the server's own result, and exactly one run recorded. */
function assertRan(result: ToolResult, command: string): void {
  assert.equal(result.isError === true, false, JSON.stringify(result));
  assert.equal(textOf(result), `ran: ${command}`);
  assert.equal(result.resultType, "complete");
}

/** What mcpgate forwarded for an accepted retry: the call as judged, without mcpgate's round members. */
function assertForwardedClean(gateway: RawGateway, commands: string[]): void {
  const forwarded = gateway.forwardedCalls();
  assert.deepEqual(forwarded.map((message) => (message.params?.arguments as { command?: string } | undefined)?.command), commands);
  for (const message of forwarded) {
    assert.ok(!("inputResponses" in message.params!), JSON.stringify(message));
    assert.ok(!("requestState" in message.params!), JSON.stringify(message));
    assert.deepEqual(message.params!._meta, MODERN);
  }
}

/** Changes the character at `index` of `text` to another base64url character. */
function alter(text: string, index: number): string {
  const swapped = text[index] === "A" ? "B" : "A";
  return `${text.slice(0, index)}${swapped}${text.slice(index + 1)}`;
}

const SERVERS: { name: string; prepare(): Promise<{ command?: string[]; skip?: string; concurrency: number }> }[] = [
  { name: "TypeScript SDK v2", prepare: async () => ({ command: [process.execPath, join(FIXTURES, "servers", "v2-server.mjs")], concurrency: 3 }) },
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
  const skip = prepared.skip === undefined ? {} : { skip: prepared.skip };
  describe(`2026-07-28 approval round, raw client × ${server.name} server`, { ...skip, concurrency: prepared.concurrency, timeout: 120_000 }, () => {
    const start = (text = PATIENT): RawGateway => new RawGateway(text, prepared.command!);
    const ls = { command: "ls" };

    it("an accepted retry runs the call once, without mcpgate's members; the same retry again is denied (used already)", async () => {
      const gateway = start();
      try {
        const state = await gateway.round("run", ls);
        assertRan(await gateway.retry("run", ls, state), "ls");
        assert.deepEqual(gateway.executed(), ["run ls"]);
        assertDenied(await gateway.retry("run", ls, state), DENIED.reused);
        assert.deepEqual(gateway.executed(), ["run ls"]);
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), ["run ls"]);
      assertForwardedClean(gateway, ["ls"]);
      assert.deepEqual(gateway.calls().map((event) => [event.decision, event.approval, event.rule]), [
        ["allow", "accepted", "tools.run"],
        ["deny", "reused", "requestState"],
      ]);
    });

    it("a state with one character changed, in its body or in its MAC, is denied (not issued by this mcpgate)", async () => {
      const gateway = start();
      try {
        const state = await gateway.round("run", ls);
        const [prefix, body, mac] = state.split(".");
        assert.equal(prefix, "mcpgate1");
        assert.ok(body !== undefined && mac !== undefined);
        const inBody = `${prefix}.${alter(body, Math.floor(body.length / 2))}.${mac}`;
        const inMac = `${prefix}.${body}.${alter(mac, Math.floor(mac.length / 2))}`;
        assert.notEqual(inBody, state);
        assert.notEqual(inMac, state);
        assertDenied(await gateway.retry("run", ls, inBody), DENIED.forged);
        assertDenied(await gateway.retry("run", ls, inMac), DENIED.forged);
        assert.deepEqual(gateway.executed(), []);
        // Neither spent the real state: the control runs.
        assertRan(await gateway.retry("run", ls, state), "ls");
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), ["run ls"]);
      assertForwardedClean(gateway, ["ls"]);
      assert.deepEqual(gateway.calls().map((event) => event.approval), ["forged", "forged", "accepted"]);
    });

    it("a state minted by another mcpgate process is denied (forged); that gateway still honours it", async () => {
      const gateway = start();
      const other = start();
      try {
        const theirs = await other.round("run", ls);
        assertDenied(await gateway.retry("run", ls, theirs), DENIED.forged);
        assert.deepEqual(gateway.executed(), []);
        // The control: the state was good where it was minted.
        assertRan(await other.retry("run", ls, theirs), "ls");
        assert.deepEqual(other.executed(), ["run ls"]);
      } finally {
        await Promise.all([gateway.close(), other.close()]);
      }
      assert.deepEqual(gateway.executed(), []);
      assert.deepEqual(gateway.forwardedCalls(), []);
      assert.deepEqual(other.executed(), ["run ls"]);
      assert.deepEqual(gateway.calls().map((event) => event.approval), ["forged"]);
      assert.deepEqual(other.calls().map((event) => event.approval), ["accepted"]);
    });

    it("a state sent with other arguments or another tool is denied (issued for another call), and is spent", async () => {
      const gateway = start();
      try {
        const first = await gateway.round("run", ls);
        assertDenied(await gateway.retry("run", { command: "rm -rf /" }, first), DENIED.otherArguments);
        // A state tried with the wrong call is used up: it cannot then be replayed with the right one.
        assertDenied(await gateway.retry("run", ls, first), DENIED.reused);
        const second = await gateway.round("run", ls);
        // echo is allowed outright, so only the state can deny it; its arguments are the round's own.
        const echoed = await gateway.retry("echo", ls, second);
        assert.equal(textOf(echoed), `[POLICY DENIED] echo: ${DENIED.otherTool}`);
        assert.equal(echoed.resultType, "complete");
        assert.deepEqual(echoed._meta?.["mcpgate/decision"], { decision: "deny", tool: "echo", rule: "requestState", reason: DENIED.otherTool });
        assert.deepEqual(gateway.executed(), []);
        // The control: a fresh round, retried with its own call, runs.
        assertRan(await gateway.retry("run", ls, await gateway.round("run", ls)), "ls");
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), ["run ls"]);
      assertForwardedClean(gateway, ["ls"]);
      assert.deepEqual(gateway.calls().map((event) => [event.tool, event.approval]), [
        ["run", "mismatch"],
        ["run", "reused"],
        ["echo", "mismatch"],
        ["run", "accepted"],
      ]);
    });

    it("a round left unanswered expires (stderr and audit say so), and its retry is then denied (expired)", async () => {
      const gateway = start(HASTY);
      try {
        const state = await gateway.round("run", ls);
        const stderr = await gateway.stderrMatching(/run: an approval round expired unanswered \[tools\.run\]/);
        assert.match(stderr, /run: an approval round expired unanswered \[tools\.run\]/);
        assertDenied(await gateway.retry("run", ls, state), DENIED.expired);
        assert.deepEqual(gateway.executed(), []);
        // The control: a round retried at once runs (well inside its 1 s).
        assertRan(await gateway.retry("run", { command: "pwd" }, await gateway.round("run", { command: "pwd" })), "pwd");
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), ["run pwd"]);
      assertForwardedClean(gateway, ["pwd"]);
      const calls = gateway.calls();
      assert.deepEqual(calls.map((event) => [event.decision, event.approval]), [
        ["deny", "timeout"],
        ["deny", "expired"],
        ["allow", "accepted"],
      ]);
      assert.equal(calls[0]!.reason, `${REASON}; nobody answered within 1 s (the client never retried the call)`);
    });

    it("no round whose expiry was reported runs when retried the moment the report comes (40 rounds)", async () => {
      // The expiry timer and the state's own expiry are two clocks: a retry that lands between
      // them must still be refused, or a call the audit log records as timed out runs anyway.
      const rounds = 40;
      const gateway = start(HASTY);
      const replies: Promise<ToolResult>[] = [];
      try {
        const states = await Promise.all(Array.from({ length: rounds }, (_, k) => gateway.round("run", { command: `echo ${k}` })));
        // Rounds of one timeout expire in the order they were opened: the k-th report is round k's.
        for (let k = 0; k < rounds; k++) {
          await gateway.stderrMatching(/an approval round expired unanswered/, k + 1);
          replies.push(gateway.retry("run", { command: `echo ${k}` }, states[k]));
        }
        for (const reply of await Promise.all(replies)) assertDenied(reply, DENIED.expired);
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), []);
      assert.deepEqual(gateway.forwardedCalls(), []);
      const approvals = gateway.calls().map((event) => event.approval);
      assert.equal(approvals.filter((approval) => approval === "timeout").length, rounds);
      assert.equal(approvals.filter((approval) => approval === "expired").length, rounds);
    });

    it("a modern tools/call without clientCapabilities in _meta is a -32602 error, and reaches no server", async () => {
      const gateway = start();
      const bare = { [ENVELOPE]: "2026-07-28" };
      const message = "Invalid _meta envelope for protocol revision 2026-07-28: io.modelcontextprotocol/clientCapabilities: missing";
      try {
        for (const [name, args] of [["run", ls], ["echo", { text: "hi" }]] as const) {
          const reply = await gateway.request("tools/call", { name, arguments: args, _meta: bare });
          assert.equal(reply.result, undefined);
          assert.equal(reply.error?.code, -32602);
          assert.equal(reply.error?.message, message);
        }
        assert.deepEqual(gateway.executed(), []);
        // The control: the same calls with the envelope whole get the round, and run.
        assert.equal(textOf(await gateway.call("echo", { text: "hi" })), "echo: hi");
        assertRan(await gateway.retry("run", ls, await gateway.round("run", ls)), "ls");
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), ["echo hi", "run ls"]);
      assert.deepEqual(gateway.forwardedCalls().map((call) => call.params?.name), ["echo", "run"]);
      assert.deepEqual(gateway.calls().map((event) => [event.tool, event.decision]), [
        ["echo", "allow"],
        ["run", "allow"],
      ]);
    });

    it("a declined retry is denied (a human declined it), and its state cannot then be accepted", async () => {
      const gateway = start();
      try {
        const state = await gateway.round("run", ls);
        assertDenied(await gateway.retry("run", ls, state, { action: "decline" }), DENIED.declined, "tools.run");
        assertDenied(await gateway.retry("run", ls, state), DENIED.reused);
        assert.deepEqual(gateway.executed(), []);
        assertRan(await gateway.retry("run", ls, await gateway.round("run", ls)), "ls");
      } finally {
        await gateway.close();
      }
      assert.deepEqual(gateway.executed(), ["run ls"]);
      assertForwardedClean(gateway, ["ls"]);
      assert.deepEqual(gateway.calls().map((event) => [event.decision, event.approval]), [
        ["deny", "declined"],
        ["deny", "reused"],
        ["allow", "accepted"],
      ]);
    });
  });
}
