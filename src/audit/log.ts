// The audit log: JSON Lines, appended, one event per line. Writing is fire-and-forget: a full
// disk, a missing directory or a slow device costs audit lines (and one stderr warning), never
// the relay. Memory is bounded: while more than MAX_BACKLOG bytes wait to be written, events
// are dropped and counted.
//
// The file rotates by size: when a line would take it past maxBytes (default 10 MiB), PATH is
// renamed PATH.1, PATH.1 becomes PATH.2, and so on up to PATH.<keep> (default 5; the oldest is
// overwritten), and a new PATH is started. Rotation is asynchronous; lines written meanwhile
// wait in memory (within the same bound) and follow in order. A rotation that fails costs a
// warning and the log goes on in the same file. Several gateways may append to one log: each
// line is one append-mode write, so lines never interleave. A gateway that finds PATH already
// holding another file (another inode) when its own count says rotate takes it that another
// one rotated, and reopens PATH without renaming; until then its lines went on into the
// renamed file, which may so grow past the limit, but no line is lost or split.
import { createWriteStream, fstat, mkdirSync, statSync, type WriteStream } from "node:fs";
import { open, rename, stat, unlink } from "node:fs/promises";
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
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_KEEP = 5;

/** Rotation thresholds; injectable so tests can rotate after a few lines. */
export interface AuditLogOptions {
  /** Rotate when a line would take the file past this many bytes. */
  maxBytes?: number;
  /** Rotated files kept: PATH.1 (newest) to PATH.<keep>; 0 keeps none. */
  keep?: number;
}

/** The name of the n-th rotated file of an audit log at `path` (1 is the newest). */
export function rotatedPath(path: string, n: number): string {
  return `${path}.${n}`;
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== "ENOENT") throw error;
}

/** Shifts PATH.1… up by one (dropping the oldest) and renames PATH to PATH.1. */
async function shiftFiles(path: string, keep: number): Promise<void> {
  if (keep === 0) return unlink(path).catch(ignoreMissing);
  for (let n = keep - 1; n >= 1; n--) await rename(rotatedPath(path, n), rotatedPath(path, n + 1)).catch(ignoreMissing);
  await rename(path, rotatedPath(path, 1)).catch(ignoreMissing);
}

/** A lock held this long is taken for one left by a writer that died while rotating. */
const STALE_LOCK_MS = 30_000;

/**
 * Takes PATH.lock (created exclusively); returns how to release it, or undefined when another
 * writer holds it. A lock older than STALE_LOCK_MS is removed and taken once more.
 */
async function lockRotation(path: string): Promise<(() => Promise<void>) | undefined> {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await (await open(lock, "wx", 0o600)).close();
      return () => unlink(lock).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") return undefined;
      const held = await stat(lock).catch(() => undefined);
      if (held === undefined || Date.now() - held.mtimeMs < STALE_LOCK_MS) return undefined;
      await unlink(lock).catch(() => {});
    }
  }
  return undefined;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

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

export function openAuditLog(target: string, session: string, warn: (message: string) => void, options: AuditLogOptions = {}): AuditLog {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const keep = options.keep ?? DEFAULT_KEEP;
  let broken = false;
  let dropped = 0;
  let stream: NodeJS.WritableStream & { writableLength: number } = process.stderr;
  let fileStream: WriteStream | undefined;
  /** What the file at `target` holds, as far as this writer knows. */
  let size = 0;
  /** The inode of the file this writer has open, to tell whether another writer rotated it. */
  let inode: number | undefined;
  /** Set while rotating; lines wait in `queued` meanwhile. */
  let rotation: Promise<void> | undefined;
  let queued: string[] = [];
  let queuedBytes = 0;

  const openFile = (): void => {
    const opened = createWriteStream(target, { flags: "a", mode: 0o600 });
    opened.on("error", (error: NodeJS.ErrnoException) => {
      if (!broken) warn(`audit log ${target} cannot be written (${error.code ?? error.message}); audit disabled for this session`);
      broken = true;
    });
    inode = undefined;
    opened.once("open", (fd: number) => fstat(fd, (error, stats) => (inode = error ? undefined : stats.ino)));
    fileStream = opened;
    stream = opened;
  };

  const rotate = async (old: WriteStream): Promise<void> => {
    const mine = inode;
    await new Promise<void>((resolve) => {
      old.once("close", resolve);
      old.end();
    });
    size = 0;
    // One writer at a time shifts the files: two shifting at once (gateways sharing this log)
    // would rename one's fresh PATH.1 over the other's, and lines would be lost.
    const unlock = await lockRotation(target);
    try {
      const current = await stat(target).catch(() => undefined);
      // Another file (or none) under the name: another gateway sharing this log rotated it (or
      // is rotating it now); just reopen, and what this one writes lands in the live file.
      if (unlock === undefined || (mine !== undefined && current?.ino !== mine)) size = current?.size ?? 0;
      else await shiftFiles(target, keep);
    } catch (error) {
      warn(`audit log ${target} could not be rotated (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); writing on in it`);
    } finally {
      await unlock?.();
    }
    openFile();
    rotation = undefined;
    const lines = queued;
    queued = [];
    queuedBytes = 0;
    // In order; one of them may start the next rotation, and those after it wait again.
    for (const text of lines) append(text);
  };

  /** Writes one line, or queues it while the file rotates (starting a rotation if it is due). */
  const append = (text: string): void => {
    const bytes = fileStream === undefined ? 0 : Buffer.byteLength(text);
    if (rotation === undefined && fileStream !== undefined && size > 0 && size + bytes > maxBytes) {
      rotation = rotate(fileStream).catch((error: unknown) => {
        warn(`audit log ${target} failed while rotating (${(error as Error)?.message ?? String(error)}); audit disabled for this session`);
        broken = true;
        rotation = undefined;
      });
    }
    if (rotation !== undefined) {
      queued.push(text);
      queuedBytes += bytes;
      return;
    }
    size += bytes;
    stream.write(text);
  };

  if (target !== "-") {
    try {
      ensureDir(dirname(target));
    } catch {
      // createWriteStream reports the real problem below.
    }
    size = sizeOf(target);
    openFile();
  }

  return {
    path: target === "-" ? undefined : target,
    get enabled() {
      return !broken;
    },
    write(event) {
      if (broken) return;
      if (stream.writableLength + queuedBytes > MAX_BACKLOG) {
        if (dropped++ === 0) warn(`audit log ${target} is not keeping up; dropping events`);
        return;
      }
      const line = JSON.stringify({ ts: new Date().toISOString(), session, ...event, ...(dropped > 0 ? { dropped_before: dropped } : {}) });
      dropped = 0;
      append(`${line}\n`);
    },
    async close() {
      while (rotation !== undefined) await rotation;
      const file = fileStream;
      if (file === undefined || broken) return;
      await new Promise<void>((resolve) => {
        file.end(() => resolve());
        file.once("error", () => resolve());
      });
    },
  };
}
