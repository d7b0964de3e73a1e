#!/usr/bin/env node
// Loads the bundled CLI (dist/mcpgate.cjs) with V8's code cache, so that after the first run a
// start-up spends no time compiling it — most of a short session is start-up. Node 22+ keeps
// such a cache itself (module.enableCompileCache); on Node 20 it is kept here, in the user's
// own cache directory. Any trouble with the cache only costs the compilation it would save.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import module, { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const bundle = fileURLToPath(new URL("../dist/mcpgate.cjs", import.meta.url));
const require = createRequire(bundle);

/** An XDG base directory from the environment; empty or relative means unset, as the XDG spec says. */
function xdgHome(name) {
  const value = process.env[name];
  return value !== undefined && isAbsolute(value) ? value : undefined;
}

/** The cache directory, or undefined when no absolute one can be named (never the working directory). */
function cacheDirectory() {
  const home = homedir();
  let dir;
  if (process.platform === "win32") dir = join(process.env.LOCALAPPDATA || join(home, "AppData", "Local"), "mcpgate", "Cache");
  else if (process.platform === "darwin") dir = join(home, "Library", "Caches", "mcpgate");
  else dir = join(xdgHome("XDG_CACHE_HOME") ?? join(home, ".cache"), "mcpgate");
  return isAbsolute(dir) ? dir : undefined;
}

function runCached() {
  const directory = cacheDirectory();
  if (directory === undefined) {
    require(bundle);
    return;
  }
  const source = readFileSync(bundle, "utf8");
  const { size, mtimeMs } = statSync(bundle);
  const cacheFile = join(directory, `code-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}.bin`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // First run of this build: compile, then save the cache below.
  }
  const script = new vm.Script(module.wrap(source), { filename: bundle, cachedData });
  const commonJs = { exports: {} };
  script.runInThisContext().call(commonJs.exports, commonJs.exports, require, commonJs, bundle, dirname(bundle));
  // (Never under /proc, where Node's recursive mkdir does not return.)
  if ((cachedData !== undefined && !script.cachedDataRejected) || cacheFile.startsWith("/proc/")) return;
  // By now start-up has run up to its first wait, so the functions it needs are compiled too.
  try {
    mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    const temporary = `${cacheFile}.${process.pid}`;
    writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
    renameSync(temporary, cacheFile);
    // Caches of earlier builds or Node versions will never match again.
    for (const name of readdirSync(dirname(cacheFile))) {
      if (/^code-.*\.bin$/.test(name) && join(dirname(cacheFile), name) !== cacheFile) rmSync(join(dirname(cacheFile), name), { force: true });
    }
  } catch {
    // A read-only or missing home directory: run without a cache.
  }
}

if (typeof module.enableCompileCache === "function") {
  module.enableCompileCache();
  require(bundle);
} else {
  runCached();
}
