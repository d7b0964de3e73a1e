// Real MCP servers of other languages and parsers, for parser-differential tests: what they
// need (a Python venv with the official SDK, a Go binary) is built once per machine into
// node_modules/.cache/mcpgate-peers/, safely when several test files prepare it at once.
// A peer that cannot be had is skipped with what is missing, except under CI=true, where it fails.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { BIN, FIXTURES, ROOT } from "./helpers.ts";

export const CACHE = join(ROOT, "node_modules", ".cache", "mcpgate-peers");
const SERVERS = join(FIXTURES, "servers");

/** python-eras: the Python SDK serving both protocol eras (eras_server.py), for the protocol tests. */
export type PeerName = "python" | "go" | "readline" | "python-eras";
export const PEER_NAMES: readonly PeerName[] = ["python", "go", "readline"];

/** A peer ready to start (`command`), or why it cannot be (`missing`). */
export interface Peer {
  name: PeerName;
  command?: string[];
  missing?: string;
}

/** Why a tool step failed, short enough for a skip message. */
class Missing extends Error {}

interface Ran {
  code: number;
  output: string;
}

function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      // A command that could not start has a string code (ENOENT): report it as the shell would.
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 127;
      const why = error !== null && typeof error.code === "string" ? error.message : "";
      resolve({ code, output: `${stdout}${stderr}${why}`.trim() });
    });
  });
}

const tail = (text: string): string => text.split("\n").slice(-3).join(" | ");

function alivePid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A lock whose holder died, or that never got a pid within a minute, is stale. */
function stale(lock: string): boolean {
  try {
    const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    return !alivePid(pid);
  } catch {
    try {
      return Date.now() - statSync(lock).mtimeMs > 60_000;
    } catch {
      return false;
    }
  }
}

/**
 * Makes `target` exist exactly once per machine: one process holds `target.lock` (a directory,
 * made atomically) and builds into a private temp path that it renames into place; the others
 * wait for the target or for the holder to die.
 */
async function buildOnce(target: string, build: (tmp: string) => Promise<void>): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const lock = `${target}.lock`;
  for (;;) {
    if (existsSync(target)) return;
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (stale(lock)) rmSync(lock, { recursive: true, force: true });
    else await delay(250); // another process is building: no event crosses processes
  }
  try {
    writeFileSync(join(lock, "pid"), String(process.pid));
    if (existsSync(target)) return;
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    try {
      await build(tmp);
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The official MCP Python SDK (2.x) in a venv; a venv runs from wherever it is renamed to. */
async function python(): Promise<string[]> {
  const venv = join(CACHE, "python-venv");
  await buildOnce(venv, async (tmp) => {
    const made = await run("python3", ["-m", "venv", tmp]);
    if (made.code === 127 && /ENOENT/.test(made.output)) throw new Missing("python3 is not on PATH");
    if (made.code !== 0) throw new Missing(`\`python3 -m venv\` failed (Debian: apt-get install python3-venv): ${tail(made.output)}`);
    // --retries 0: an index that cannot be reached fails at once instead of after minutes.
    const pip = await run(join(tmp, "bin", "pip"), ["install", "--quiet", "--retries", "0", "mcp>=2,<3"]);
    if (pip.code !== 0) throw new Missing(`\`pip install mcp\` failed: ${tail(pip.output)}`);
  });
  return [join(venv, "bin", "python"), join(SERVERS, "python", "server.py")];
}

/** The Go peer, rebuilt whenever its sources change (the binary's name carries their hash). */
async function go(): Promise<string[]> {
  const source = join(SERVERS, "go");
  const hash = createHash("sha256");
  for (const file of ["go.mod", "main.go"]) hash.update(readFileSync(join(source, file)));
  const binary = join(CACHE, `go-peer-${hash.digest("hex").slice(0, 12)}`);
  await buildOnce(binary, async (tmp) => {
    const env = { ...process.env, GOFLAGS: "-mod=mod", GOCACHE: join(CACHE, "go-build"), GOPATH: join(CACHE, "gopath"), CGO_ENABLED: "0" };
    const built = await run("go", ["build", "-o", tmp, "."], { cwd: source, env });
    if (built.code === 127 && /ENOENT/.test(built.output)) throw new Missing("go is not on PATH (Debian: apt-get install golang-go)");
    if (built.code !== 0) throw new Missing(`\`go build\` of test/fixtures/servers/go failed: ${tail(built.output)}`);
  });
  return [binary];
}

/** Builds (once per machine) what the peer needs and says how to start it, or what is missing. */
export async function preparePeer(name: PeerName): Promise<Peer> {
  try {
    if (name === "python") return { name, command: await python() };
    if (name === "python-eras") return { name, command: [(await python())[0]!, join(SERVERS, "python", "eras_server.py")] };
    if (name === "go") return { name, command: await go() };
    return { name, command: [process.execPath, join(SERVERS, "readline-server.mjs")] };
  } catch (error) {
    if (error instanceof Missing) return { name, missing: `${name} peer unavailable: ${error.message}` };
    throw error;
  }
}

const inCI = (): boolean => process.env.CI === "true";

/** node:test options for a test that needs `peer`: skipped with what is missing, never under CI. */
export function needs(peer: Peer): { skip?: string; concurrency: number } {
  // Each test starts its own processes, so a few at once overlap the peers' start-up (the
  // Python SDK takes about a second to import) without sharing anything.
  return peer.missing !== undefined && !inCI() ? { skip: peer.missing, concurrency: 3 } : { concurrency: 3 };
}

/** The peer's command line; throws what is missing, so under CI=true a missing peer fails. */
export function peerCommand(peer: Peer): string[] {
  if (peer.command === undefined) throw new Error(peer.missing ?? `${peer.name} peer unavailable`);
  return peer.command;
}

/** What one peer executed: a line of its RECORD file. */
export interface Executed {
  tool: string;
  args: Record<string, unknown>;
}

/** Every tools/call the peer executed, in order ([] when it executed none). */
export function executed(record: string): Executed[] {
  if (!existsSync(record)) return [];
  return readFileSync(record, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Executed);
}

/** The command line of the built mcpgate wrapping `server` under `policy` (no audit log by default). */
export function gatewayCommand(policy: string, server: string[], gatewayArgs: string[] = ["--no-audit"]): string[] {
  return [process.execPath, BIN, "--policy", policy, ...gatewayArgs, "--", ...server];
}

export interface Exchanged {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /**
   * The id of each reply that came while stdin was still open, as JSON text (so 1 and "1"
   * differ), batches flattened. Replies made at shutdown (mcpgate's "server exited" errors for
   * what is still pending) are left out: they prove nothing about the live session.
   */
  replied: Set<string>;
}

/**
 * Runs `command`, writes `input`, and closes its stdin once a reply has come for every id in
 * `ids`; resolves when the process has exited. An id that gets no reply must not hang the test:
 * stdin is closed anyway once `settleId` has been answered and `settleMs` more have passed (the
 * id sent last, so earlier replies have had their turn), or after `deadlineMs` in all; the
 * process is killed if it has not exited 10 s after that.
 */
export function exchange(
  command: string[],
  input: string,
  options: { ids: unknown[]; env?: Record<string, string>; settleId?: unknown; settleMs?: number; deadlineMs?: number },
): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    const child = spawn(file!, args, { env: { ...process.env, ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    const wanted = options.ids.map((id) => JSON.stringify(id));
    const settle = options.settleId === undefined ? undefined : JSON.stringify(options.settleId);
    const replied = new Set<string>();
    let stdout = "";
    let stderr = "";
    let scanned = 0;
    let ended = false;
    let settling = false;
    const timers: NodeJS.Timeout[] = [];
    const end = (): void => {
      if (ended) return;
      ended = true;
      child.stdin.end();
      timers.push(setTimeout(() => child.kill("SIGKILL"), 10_000));
    };
    timers.push(setTimeout(end, options.deadlineMs ?? 20_000));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const newline = stdout.lastIndexOf("\n");
      for (const line of stdout.slice(scanned, newline + 1).split("\n")) {
        try {
          const parsed = JSON.parse(line) as unknown;
          for (const reply of Array.isArray(parsed) ? parsed : [parsed]) {
            if (!ended && reply !== null && typeof reply === "object" && "id" in reply) replied.add(JSON.stringify(reply.id));
          }
        } catch {
          // not a whole JSON line: the test asserts on what was answered, not on this
        }
      }
      scanned = newline + 1;
      if (wanted.every((id) => replied.has(id))) end();
      else if (!settling && settle !== undefined && replied.has(settle)) {
        settling = true;
        timers.push(setTimeout(end, options.settleMs ?? 1_500));
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, replied });
    });
    child.stdin.on("error", () => {});
    child.stdin.write(input);
  });
}
