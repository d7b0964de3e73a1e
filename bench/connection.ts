// The benchmark's raw client (bench/run.ts): newline framing over bytes, no SDK, so every target
// is driven the same way; and the CPU time a process has used, read from /proc.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/** A reply: its size, its sha256 when large, a JSON-RPC error's message, or the text of an `isError` result (how mcpgate answers a call it denies). */
export interface Reply {
  size: number;
  sha256?: string;
  error?: string;
  denied?: string;
}

/** A raw JSON-RPC client over a child's stdio. Large lines are hashed, never joined. */
export class Connection {
  readonly child: ChildProcessWithoutNullStreams;
  #waiting = new Map<number, (line: Reply) => void>();
  #chunks: Buffer[] = [];
  #size = 0;
  #nextId = 1;
  #closed: Promise<void>;

  constructor(argv: string[]) {
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.resume();
    this.child.stdout.on("data", (chunk: Buffer) => this.#data(chunk));
    this.#closed = new Promise((resolve) => this.child.on("close", () => resolve()));
  }

  #data(chunk: Buffer): void {
    let start = 0;
    let newline: number;
    while ((newline = chunk.indexOf(10, start)) !== -1) {
      this.#chunks.push(chunk.subarray(start, newline));
      this.#size += newline - start;
      this.#line(this.#chunks, this.#size);
      this.#chunks = [];
      this.#size = 0;
      start = newline + 1;
    }
    if (start < chunk.length) {
      this.#chunks.push(chunk.subarray(start));
      this.#size += chunk.length - start;
    }
  }

  #line(chunks: Buffer[], size: number): void {
    if (size > 1 << 20) {
      const hash = createHash("sha256");
      for (const chunk of chunks) hash.update(chunk);
      const id = Number(/"id":(\d+)/.exec(chunks[0]!.toString("latin1", 0, 200))?.[1]);
      this.#settle(id, { size, sha256: hash.digest("hex") });
      return;
    }
    const message = JSON.parse(Buffer.concat(chunks, size).toString("utf8")) as { id?: number; error?: { message: string }; result?: { isError?: unknown; content?: Array<{ text?: string }> } };
    if (typeof message.id !== "number") return;
    if (message.error) this.#settle(message.id, { size, error: message.error.message });
    else if (message.result?.isError === true) this.#settle(message.id, { size, denied: message.result.content?.[0]?.text ?? "(no text)" });
    else this.#settle(message.id, { size });
  }

  #settle(id: number, line: Reply): void {
    const resolve = this.#waiting.get(id);
    this.#waiting.delete(id);
    resolve?.(line);
  }

  request(method: string, params: unknown): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.child.stdin.write(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${JSON.stringify(params)}}\n`);
    });
  }

  get lastId(): number {
    return this.#nextId - 1;
  }

  initialize(): Promise<unknown> {
    return this.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } });
  }

  call(name: string, args: unknown): Promise<Reply> {
    return this.request("tools/call", { name, arguments: args });
  }

  /** Peak resident set of the process the client talks to (the relay, or the server direct). */
  peakRssMiB(): number {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, "utf8");
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    } catch {
      return Number.NaN; // the process is gone (it crashed on the message)
    }
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.#closed;
    clearTimeout(timer);
  }
}

/**
 * CPU time the process has run so far, in µs, all its threads (Linux: /proc schedstat, which
 * counts in ns; NaN elsewhere). Unlike a round trip, it hardly depends on where the kernel
 * places the processes, so it shows a relay's own cost when latency is too noisy to.
 */
export function cpuUs(pid: number | undefined): number {
  try {
    let ns = 0;
    for (const thread of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1000;
  } catch {
    return Number.NaN;
  }
}
