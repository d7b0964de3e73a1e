// Shared pieces of the end-to-end tests: the built binary, real servers, and two ways to drive
// them — the SDK's Client (as a real MCP client would) and raw lines (to observe bytes and exit codes).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

const require = createRequire(import.meta.url);
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "mcpgate.js");
export const FIXTURES = join(ROOT, "test", "fixtures");

export const bashMcp = (): string[] => [process.execPath, require.resolve("bash-mcp/index.js")];
export const everything = (): string[] => [process.execPath, join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js"), "stdio"];
export const rawServer = (...modes: string[]): string[] => [process.execPath, join(FIXTURES, "servers", "raw-server.mjs"), ...modes];

/** Scratch directories of this test file, removed when its process exits. */
const scratch: string[] = [];
process.on("exit", () => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mcpgate-test-"));
  scratch.push(dir);
  return dir;
}

export function writePolicy(text: string, name = "policy.yaml"): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

export interface Connected {
  client: Client;
  stderr(): string;
  /**
   * Resolves with the gateway's stderr once it matches `pattern`. Its stderr is another pipe than
   * the protocol's, so a line logged before a response was written may still be on its way.
   * Resolves with whatever there is once stderr ends.
   */
  stderrMatching(pattern: RegExp): Promise<string>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  capabilities?: ClientCapabilities;
  gatewayArgs?: string[];
  env?: Record<string, string>;
  setup?: (client: Client) => void;
}

/** An SDK Client talking to the built mcpgate wrapping `server`. */
export function connect(policy: string, server: string[], options: ConnectOptions = {}): Promise<Connected> {
  return connectCommand([process.execPath, BIN, "--policy", policy, ...(options.gatewayArgs ?? ["--no-audit"]), "--", ...server], options);
}

/** An SDK Client talking to whatever `command` starts (e.g. an installed mcpgate), run in `cwd`. */
export async function connectCommand(command: string[], options: Omit<ConnectOptions, "gatewayArgs"> & { cwd?: string } = {}): Promise<Connected> {
  const [file, ...args] = command;
  if (file === undefined) throw new Error("connectCommand: expected a command line, got an empty array");
  const transport = new StdioClientTransport({
    command: file,
    args,
    env: { ...(process.env as Record<string, string>), ...options.env },
    stderr: "pipe",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let stderr = "";
  const waiting = new Set<(ended?: boolean) => void>();
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    for (const check of waiting) check();
  });
  // Once stderr has ended nothing more will match: settle every wait with what there is.
  let stderrEnded = false;
  transport.stderr?.on("end", () => {
    stderrEnded = true;
    for (const check of waiting) check(true);
  });
  const stderrMatching = (pattern: RegExp): Promise<string> =>
    new Promise((resolve) => {
      const check = (ended = stderrEnded): void => {
        if (!ended && !pattern.test(stderr)) return;
        waiting.delete(check);
        resolve(stderr);
      };
      waiting.add(check);
      check();
    });
  const client = new Client({ name: "mcpgate-e2e", version: "1.0.0" }, { capabilities: options.capabilities ?? {} });
  options.setup?.(client);
  try {
    await client.connect(transport);
  } catch (error) {
    // A gateway that exits before answering leaves only "Connection closed": add what it printed
    // (all of it once it has exited and its stderr ended; a gateway still running gets 5 s).
    await Promise.race([stderrMatching(/(?!)/), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    throw new Error(`${(error as Error).message}; the gateway's stderr: ${stderr}`, { cause: error });
  }
  return { client, stderr: () => stderr, stderrMatching, close: () => client.close() };
}

export interface RawRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** Runs the built binary with `args`, feeding `input` then closing stdin (unless keepOpen). */
export function runGateway(args: string[], input: string | Buffer = "", options: { env?: Record<string, string>; until?: (stdout: string) => boolean; cwd?: string } = {}): Promise<RawRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (options.until?.(stdout)) child.stdin.end();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr, lines: stdout.split("\n").filter((line) => line !== "") }));
    child.stdin.on("error", () => {});
    child.stdin.write(input);
    if (options.until === undefined) child.stdin.end();
  });
}

export const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

export function lines(...messages: unknown[]): string {
  return messages.map((message) => (typeof message === "string" ? message : JSON.stringify(message))).join("\n") + "\n";
}

export function call(id: number | string, name: string, args: Record<string, unknown> = {}): object {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } };
}

/** The text of a tool result's first content block. */
export function text(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content[0]?.text ?? "";
}

/**
 * Whether a process with this pid still runs (to prove no server outlives the gateway). A zombie
 * — dead, but not yet reaped by its parent — does not count: an orphan's new parent may be an
 * init that never reaps.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: "PID (COMM) STATE ...", and COMM may itself hold ") ".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
}
