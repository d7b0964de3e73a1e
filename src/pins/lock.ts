// Exclusive access to one pin file across processes, and writing it atomically. Two gateways
// that start at once both pin what they see: each takes PATH.lock (created exclusively), reads
// the file as it is now, merges its change in and replaces the file by renaming a complete
// temporary one over it, so the file is never half-written and neither change is lost. A lock
// left by a process that died holding it is taken over once it is older than `staleMs`.
import { randomBytes } from "node:crypto";
import { open, rename, stat, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

export interface LockOptions {
  /** How long to wait for another process's lock before giving up. */
  timeoutMs: number;
  /** A lock older than this is taken for one whose holder died. */
  staleMs: number;
}

export const DEFAULT_LOCK: LockOptions = { timeoutMs: 5_000, staleMs: 10_000 };

/** Runs `fn` holding PATH.lock; throws when the lock could not be had within `timeoutMs`. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = DEFAULT_LOCK): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + options.timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      const handle = await open(lock, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const held = await stat(lock).catch(() => undefined);
      if (held !== undefined && Date.now() - held.mtimeMs > options.staleMs) {
        await unlink(lock).catch(() => {});
        continue;
      }
      if (Date.now() >= deadline) throw new Error(`${lock} has been held by another process for more than ${options.timeoutMs} ms (remove it if no mcpgate is running)`);
      await sleep(wait);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}

/** Replaces PATH with `text` at once: written to a temporary file beside it, then renamed over it. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(text);
      // On disk before it replaces the old file: a crash leaves one or the other, whole.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}
