// The approver command (`--approver CMD`): a channel outside the protocol, for desktop dialogs.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import type { Approver } from "./answer.ts";

/** Ends a process and, where there is one, its process group (a shell's children too). */
function kill(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (process.platform !== "win32" && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/**
 * `--approver CMD`: CMD runs in a shell with the call as one JSON object on stdin. Exit 0
 * approves; any other exit, a signal, or a failure to start denies. Its output goes to our
 * stderr, never to stdout, which carries protocol bytes only.
 */
export function commandApprover(command: string): Approver {
  return (request, signal) =>
    new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(command, { shell: true, stdio: ["pipe", 2, 2], detached: process.platform !== "win32", windowsHide: true });
      } catch (error) {
        resolve({ approved: false, outcome: "error", reason: `the approver command could not start (${(error as Error).message})` });
        return;
      }
      const onAbort = (): void => kill(child);
      signal.addEventListener("abort", onAbort, { once: true });
      child.once("error", (error) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ approved: false, outcome: "error", reason: `the approver command could not start (${error.message})` });
      });
      child.once("close", (code, killedBy) => {
        signal.removeEventListener("abort", onAbort);
        if (code === 0) resolve({ approved: true });
        else resolve({ approved: false, outcome: "declined", reason: code !== null ? `the approver command said no (exit code ${code})` : `the approver command was killed by ${killedBy}` });
      });
      // An approver that ignores its input and exits first makes this write fail: not an error.
      child.stdin!.on("error", () => {});
      child.stdin!.end(`${JSON.stringify({ tool: request.tool, arguments: request.args, reason: request.reason, rule: request.rule })}\n`);
    });
}
