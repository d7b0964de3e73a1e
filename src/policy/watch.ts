// Watches one policy file for changes, surviving editors that save by writing a new file and
// renaming it over the old one. The DIRECTORY is watched (fs.watch) and events are filtered by
// the file's name: a watch on the file itself follows the old inode, which a rename-save
// replaces, so it would go quiet after the first save. A burst of events (an editor writes,
// truncates, renames) is debounced into one call of `changed`.
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";

export interface PolicyWatch {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before `changed` runs. */
  debounceMs?: number;
  /** The watch itself failed (the directory went away, say): no more changes will be seen. */
  failed(message: string): void;
}

const DEBOUNCE_MS = 100;

/** Calls `changed` once a burst of changes to `file` has settled; never while the process is otherwise busy with a message. */
export function watchPolicyFile(file: string, changed: () => void, options: WatchOptions): PolicyWatch {
  const path = resolve(file);
  const dir = dirname(path);
  const name = basename(path);
  const debounceMs = options.debounceMs ?? DEBOUNCE_MS;
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const close = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    watcher?.close();
    watcher = undefined;
  };
  try {
    // Not persistent: a watch never keeps the gateway alive once the server has exited.
    watcher = watch(dir, { persistent: false }, (_event, filename) => {
      // Some platforms do not say which file changed: then it may have been ours.
      if (filename !== null && filename !== undefined && filename.toString() !== name) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        changed();
      }, debounceMs);
      timer.unref();
    });
    watcher.on("error", (error) => {
      close();
      options.failed(`stopped watching ${dir} for changes to ${name} (${error.message}); the policy in force stays until restart`);
    });
  } catch (error) {
    options.failed(`cannot watch ${dir} for changes to ${name} (${(error as Error).message}); the policy will not be reloaded`);
  }
  return { close };
}
