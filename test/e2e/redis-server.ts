// A real redis-server (Debian's package, or Valkey's redis-server) for the store tests: each
// test file starts its own on a free loopback port with a temp dir and no persistence, waits
// for it to answer PING, and stops it. Without redis-server on PATH the tests are skipped,
// naming what is missing, except under CI=true, where that fails.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createConnection, createServer } from "node:net";
import { tempDir } from "./helpers.ts";

const BINARY = "redis-server";

function probe(): { version: string } | { missing: string } {
  const ran = spawnSync(BINARY, ["--version"], { encoding: "utf8" });
  if (ran.error !== undefined) return { missing: `${BINARY} is not on PATH (apt-get install redis-server): ${ran.error.message}` };
  return { version: ran.stdout.trim() };
}

const found = probe();
const inCI = (): boolean => process.env.CI === "true";

/** node:test options for a suite that needs redis-server: skipped with what is missing, never under CI. */
export function needsRedis(): { skip?: string } {
  return "missing" in found && !inCI() ? { skip: found.missing } : {};
}

/** DEBUG (for DEBUG SLEEP) must be switched on from Redis 7 and in Valkey; older servers lack the switch. */
function debugSwitch(): string[] {
  if ("missing" in found) return [];
  const major = Number(/v=(\d+)/.exec(found.version)?.[1] ?? 0);
  return major >= 7 || /valkey/i.test(found.version) ? ["--enable-debug-command", "yes"] : [];
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error(`expected a TCP address, got ${String(address)}`);
  return address.port;
}

/** Answers once the server at `port` replies +PONG to PING. */
async function ping(port: number): Promise<void> {
  const socket = createConnection({ port, host: "127.0.0.1" });
  try {
    await once(socket, "connect");
    socket.write("*1\r\n$4\r\nPING\r\n");
    let reply = "";
    while (!reply.includes("\r\n")) {
      const [chunk] = (await once(socket, "data")) as [Buffer];
      reply += chunk.toString("latin1");
    }
    if (!reply.startsWith("+PONG")) throw new Error(`expected +PONG from redis-server on port ${port}, got ${JSON.stringify(reply)}`);
  } finally {
    socket.destroy();
  }
}

/** Starts redis-server on `port`; resolves once it answers PING, rejects with its output if it exits first. */
async function launch(port: number, dir: string): Promise<ChildProcess> {
  if ("missing" in found) throw new Error(found.missing);
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", "", ...debugSwitch()];
  const child = spawn(BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      if (/Ready to accept connections/.test(output)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code, signal) => reject(new Error(`redis-server on port ${port} exited (${code ?? signal}) before it was ready:\n${output.slice(-2000)}`)));
  });
  try {
    await ready;
    await ping(port);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return child;
}

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGTERM, or SIGKILL for a crash) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startRedis(): Promise<RedisServer> {
  const dir = tempDir();
  let port = 0;
  let child: ChildProcess | undefined;
  // A port found free may be taken before redis-server binds it: then another one.
  for (let tries = 0; child === undefined; tries++) {
    port = await freePort();
    try {
      child = await launch(port, dir);
    } catch (error) {
      if (tries >= 4 || !/in use/i.test((error as Error).message)) throw error;
    }
  }
  running.add(child);
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop(signal = "SIGTERM") {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
      running.delete(child);
    },
    async restart() {
      await server.stop();
      child = await launch(port, dir);
      running.add(child);
    },
  };
  return server;
}
