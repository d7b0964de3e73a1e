// Reading a file to its end, and optionally on as it grows, across rotation. Following polls:
// every FOLLOW_INTERVAL_MS it reads what the open file gained and stats the name. Unlike
// fs.watch, polling works the same on every platform and file system (network ones included)
// and watches the name, not the file, so a rename is seen; unlike fs.watchFile, it compares
// with what was read rather than with a first stat taken at some later moment, so a line
// appended right after the first read is never missed. When the name holds another file
// (another inode) or the file shrank (truncated), the old file is read to its end first, then
// the new one from its start.
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";

export const FOLLOW_INTERVAL_MS = 200;
const CHUNK = 64 * 1024;

export interface FollowSink {
  data(chunk: Buffer): void;
  /** The old file is read to its end; a new one under the same name starts. */
  rotated(): void;
}

/** Reads everything from `position` to the current end of `fd`; returns the new position. */
function drain(fd: number, position: number, sink: FollowSink): number {
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const read = readSync(fd, buffer, 0, CHUNK, position);
    if (read === 0) return position;
    position += read;
    sink.data(Buffer.from(buffer.subarray(0, read)));
  }
}

/** Reads `path` whole (throws when it cannot be opened, with the error's code). */
export function readWhole(path: string, sink: FollowSink): void {
  const fd = openSync(path, "r");
  try {
    drain(fd, 0, sink);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads `path` whole, then keeps reading what is appended, across rotation, until stop() is
 * called. Throws when `path` cannot be opened at first; later, a name that is briefly missing
 * (mid-rotation) is waited for.
 */
export function follow(path: string, sink: FollowSink, interval = FOLLOW_INTERVAL_MS): { stop(): void } {
  let fd = openSync(path, "r");
  let inode = fstatSync(fd).ino;
  let position = drain(fd, 0, sink);

  const check = (current: Stats | undefined): void => {
    position = drain(fd, position, sink);
    if (current === undefined) return; // The name is gone for now (mid-rotation).
    if (current.ino === inode && current.size >= position) return;
    let next: number;
    try {
      next = openSync(path, "r");
    } catch {
      return; // Replaced again in between: the next poll sees it.
    }
    closeSync(fd);
    fd = next;
    inode = fstatSync(fd).ino;
    sink.rotated();
    position = drain(fd, 0, sink);
  };
  const poll = (): void => {
    let current: Stats | undefined;
    try {
      current = statSync(path);
    } catch {
      current = undefined;
    }
    check(current);
  };
  const timer = setInterval(poll, interval);
  return {
    stop() {
      clearInterval(timer);
      closeSync(fd);
    },
  };
}
