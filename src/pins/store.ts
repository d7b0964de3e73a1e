// The pin sets of every server, one file each (<id>.json) in the state directory. Reading is
// synchronous and cheap (a small file, read when a tools/list answer is checked); every change
// goes through update(): under the file's lock, the set as it is on disk now is changed and
// written atomically (lock.ts), so concurrent sessions merge rather than overwrite each other.
// A file that cannot be read or parsed is never overwritten: update() throws, and only
// remove() (mcpgate pins clear) gets rid of it.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { defaultPinsDir, serverId, type ServerIdentity } from "./identity.ts";
import { DEFAULT_LOCK, withLock, writeAtomically, type LockOptions } from "./lock.ts";
import { emptyPinSet, parsePinSet, serializePinSet, type PinSet } from "./pin-set.ts";

/** A pin file that exists but cannot be used: unreadable, or not a pin set. */
export class PinFileError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

export type Listed = { id: string; file: string; set: PinSet } | { id: string; file: string; problem: string };

const FILE = /^([0-9a-f]{16})\.json$/;

export class PinStore {
  readonly dir: string;
  readonly #lock: LockOptions;
  /** Updates not yet finished, so a process can wait for its pins to be written before it exits. */
  readonly #writing = new Set<Promise<unknown>>();
  /** The last update asked for each file: the next one waits for it. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(dir: string = defaultPinsDir(), lock: LockOptions = DEFAULT_LOCK) {
    this.dir = dir;
    this.#lock = lock;
  }

  file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /** The pin set of server `id` as it is on disk; undefined when it has none. Throws PinFileError. */
  read(id: string): PinSet | undefined {
    const file = this.file(id);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new PinFileError(file, (error as Error).message);
    }
    try {
      return parsePinSet(text);
    } catch (error) {
      throw new PinFileError(file, (error as Error).message);
    }
  }

  /** Every pin set in the directory, by id; a file that cannot be used is listed with its problem. */
  list(): Listed[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const listed: Listed[] = [];
    for (const name of names.sort()) {
      const id = FILE.exec(name)?.[1];
      if (id === undefined) continue;
      try {
        const set = this.read(id);
        if (set !== undefined) listed.push({ id, file: this.file(id), set });
      } catch (error) {
        listed.push({ id, file: this.file(id), problem: (error as Error).message });
      }
    }
    return listed;
  }

  /**
   * Changes the pin set of `server` as it is on disk when the lock is had (empty if it has none):
   * `change` edits it in place and says whether it changed anything; only then is it written.
   * Updates of one process to one file run one after another, in the order asked. Resolves
   * with the set as written (or found).
   */
  update(server: ServerIdentity, change: (set: PinSet) => boolean): Promise<PinSet> {
    const id = serverId(server);
    const file = this.file(id);
    const write = async (): Promise<PinSet> => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      return withLock(
        file,
        async () => {
          const set = this.read(id) ?? emptyPinSet(server);
          if (change(set)) await writeAtomically(file, serializePinSet(set));
          return set;
        },
        this.#lock,
      );
    };
    const done = (this.#queues.get(id) ?? Promise.resolve()).then(write, write);
    this.#queues.set(id, done);
    this.#writing.add(done);
    const forget = (): void => {
      this.#writing.delete(done);
      if (this.#queues.get(id) === done) this.#queues.delete(id);
    };
    done.then(forget, forget);
    return done;
  }

  /** Removes server `id`'s pin file (whatever it holds); resolves whether there was one. */
  async remove(id: string): Promise<boolean> {
    const file = this.file(id);
    if (!existsSync(file)) return false;
    return withLock(file, () => unlink(file).then(() => true, (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    }), this.#lock);
  }

  /** Resolves once every update started so far has finished (written, or failed). */
  async settled(): Promise<void> {
    while (this.#writing.size > 0) await Promise.allSettled([...this.#writing]);
  }
}
