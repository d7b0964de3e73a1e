// The audit log: JSON Lines, appended, one event per line. Writing is fire-and-forget: a full
// disk, a missing directory or a slow device costs audit lines (and one stderr warning), never
// the relay. Memory is bounded: while more than MAX_BACKLOG bytes wait to be written, events
// are dropped and counted.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import envPaths from "env-paths";

/** What an event records: a session started or stopped, a call, a policy reload (ok or not), or an internal error of mcpgate. */
export type AuditEventName = "start" | "call" | "stop" | "reload" | "error";

export interface AuditEvent {
  event: AuditEventName;
  [field: string]: unknown;
}

export interface AuditLog {
  readonly path: string | undefined;
  /** False when nothing would be written: callers skip preparing events. */
  readonly enabled: boolean;
  write(event: AuditEvent): void;
  close(): Promise<void>;
}

const MAX_BACKLOG = 8 * 1024 * 1024;

/** An XDG base directory from `env`; empty or relative means unset, as the XDG spec says. */
export function xdgHome(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value !== undefined && isAbsolute(value) ? value : undefined;
}

/** $XDG_STATE_HOME/mcpgate/audit.jsonl on Linux, ~/Library/Logs/mcpgate on macOS, %LOCALAPPDATA%\mcpgate\Log on Windows. */
export function defaultAuditPath(env: NodeJS.ProcessEnv = process.env): string {
  try {
    // env-paths takes XDG_STATE_HOME as it finds it: a relative one would put the log in the working directory.
    if (process.platform !== "darwin" && process.platform !== "win32") return join(xdgHome("XDG_STATE_HOME", env) ?? join(homedir(), ".local", "state"), "mcpgate", "audit.jsonl");
    return join(envPaths("mcpgate", { suffix: "" }).log, "audit.jsonl");
  } catch {
    return join(homedir(), ".mcpgate", "audit.jsonl");
  }
}

/**
 * mkdir -p, bounded. Node's own recursive mkdirSync never returns for some paths (under /proc
 * it spins on ENOENT), and an audit directory must never hang the gateway.
 */
function ensureDir(dir: string, depth = 0): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT" || depth > 64 || dirname(dir) === dir) throw error;
    ensureDir(dirname(dir), depth + 1);
    mkdirSync(dir, { mode: 0o700 });
  }
}

export const noAudit: AuditLog = { path: undefined, enabled: false, write() {}, close: async () => {} };

export function openAuditLog(target: string, session: string, warn: (message: string) => void): AuditLog {
  let stream: NodeJS.WritableStream & { writableLength: number };
  let fileStream: WriteStream | undefined;
  if (target === "-") {
    stream = process.stderr;
  } else {
    try {
      ensureDir(dirname(target));
    } catch {
      // createWriteStream reports the real problem below.
    }
    fileStream = createWriteStream(target, { flags: "a", mode: 0o600 });
    stream = fileStream;
  }
  let broken = false;
  let dropped = 0;
  fileStream?.on("error", (error: NodeJS.ErrnoException) => {
    if (!broken) warn(`audit log ${target} cannot be written (${error.code ?? error.message}); audit disabled for this session`);
    broken = true;
  });

  return {
    path: target === "-" ? undefined : target,
    get enabled() {
      return !broken;
    },
    write(event) {
      if (broken) return;
      if (stream.writableLength > MAX_BACKLOG) {
        if (dropped++ === 0) warn(`audit log ${target} is not keeping up; dropping events`);
        return;
      }
      const line = JSON.stringify({ ts: new Date().toISOString(), session, ...event, ...(dropped > 0 ? { dropped_before: dropped } : {}) });
      dropped = 0;
      stream.write(`${line}\n`);
    },
    close() {
      if (fileStream === undefined || broken) return Promise.resolve();
      return new Promise((resolve) => {
        fileStream.end(() => resolve());
        fileStream.once("error", () => resolve());
      });
    },
  };
}
