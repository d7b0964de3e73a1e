// The wrapped server's process, started so that it cannot outlive mcpgate. The server may run
// shell commands; if mcpgate dies (a crash, SIGKILL, the OOM killer) it must die too, and so must
// what it started: under `npx` the real server is a grandchild.
//
// On POSIX the server leads a process group of its own, and every stop signal goes to the whole
// group. Beside it runs a watchdog: a shell blocked reading a pipe that only mcpgate holds open
// and never writes to. However mcpgate ends, the kernel closes that pipe; the watchdog's `read`
// returns, and it sends SIGTERM to the group, waits the grace period (less if the group is gone
// sooner), then SIGKILL. The watchdog is in a group of its own too, so a signal to mcpgate's
// group does not take it along.
//
// Windows has no process groups to signal this way: there the server is started as before and
// signalled alone, and a server that ignores its stdin closing outlives a gateway killed abruptly.
import { spawn as spawnDirect, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import spawn from "cross-spawn";
import { childEnv } from "./child-env.ts";

const OWN_GROUP = process.platform !== "win32";

/**
 * $1 the group, $2 the grace in steps of 50 ms. `read` returns only at EOF: mcpgate never
 * writes. A SIGTERM that finds no group means the server is gone already: nothing to wait for.
 * Then the grace, cut short when the group is gone; a `sleep` that rejects a fraction of a
 * second fails at once, which only shortens it.
 */
const WATCHDOG_SCRIPT =
  'read line; kill -s TERM -- "-$1" 2>/dev/null || exit 0; n=$2; ' +
  'while [ "$n" -gt 0 ] && kill -s 0 -- "-$1" 2>/dev/null; do sleep 0.05; n=$((n - 1)); done; ' +
  'kill -s KILL -- "-$1" 2>/dev/null; exit 0';
const WATCHDOG_STEP_MS = 50;
/** The watchdog's name in `ps`. */
const WATCHDOG_NAME = "mcpgate-watchdog";

/** Servers that lead a process group of their own: stop signals go to the whole group. */
const grouped = new WeakSet<ChildProcess>();

/**
 * Starts the server with its stdin and stdout piped, its stderr shared. On POSIX it leads a new
 * process group and a watchdog guards it. Throws where spawn throws; `warn` hears about a
 * watchdog that could not start (the server then runs unguarded, as on Windows).
 */
export function spawnServer(command: string, args: string[], graceMs: number, warn: (message: string) => void): ChildProcess {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], windowsHide: true, detached: OWN_GROUP, env: childEnv() });
  // No pid: the command did not start, and the child's 'error' event says why.
  if (!OWN_GROUP || child.pid === undefined) return child;
  grouped.add(child);
  const watchdog = startWatchdog(child.pid, graceMs, warn);
  // Once the server has exited, whatever is left of its group gets the same treatment now, not
  // when mcpgate exits, and the watchdog ends.
  if (watchdog !== undefined) child.once("close", () => watchdog.stdin?.destroy());
  return child;
}

function startWatchdog(group: number, graceMs: number, warn: (message: string) => void): ChildProcess | undefined {
  const failed = (message: string): void => warn(`cannot start the watchdog that stops the server if mcpgate dies: ${message}`);
  let watchdog: ChildProcess;
  try {
    watchdog = spawnDirect("/bin/sh", ["-c", WATCHDOG_SCRIPT, WATCHDOG_NAME, String(group), String(Math.ceil(graceMs / WATCHDOG_STEP_MS))], {
      argv0: WATCHDOG_NAME,
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
    });
  } catch (error) {
    failed((error as Error).message);
    return undefined;
  }
  watchdog.on("error", (error) => failed(error.message));
  // Neither the watchdog nor its pipe keeps mcpgate running.
  watchdog.unref();
  const pipe = watchdog.stdin as Socket | null;
  pipe?.on("error", () => {}); // nothing is ever written; a watchdog gone early is no fault of the session
  pipe?.unref();
  return watchdog;
}

/** Sends `signal` to the server and, where it leads a group, to everything in that group. */
function signalServer(child: ChildProcess, name: NodeJS.Signals): void {
  if (grouped.has(child) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, name);
      return;
    } catch {
      // The group is empty: nothing is left to signal.
    }
  }
  child.kill(name);
}

/**
 * Stops a child the polite way: its stdin is closed; if it has not exited `graceMs` later it
 * gets SIGTERM, and `graceMs` after that SIGKILL — its whole process group if it leads one
 * (see spawnServer). The timers end when the child does.
 */
export function stopChild(child: ChildProcess, graceMs: number): void {
  const timers: NodeJS.Timeout[] = [];
  child.once("close", () => {
    for (const timer of timers) clearTimeout(timer);
  });
  child.stdin?.end();
  timers.push(
    setTimeout(() => {
      signalServer(child, "SIGTERM");
      timers.push(setTimeout(() => signalServer(child, "SIGKILL"), graceMs));
    }, graceMs),
  );
}

/** How a child ended, in words: "exited with code 3", "was killed by SIGKILL". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
}
