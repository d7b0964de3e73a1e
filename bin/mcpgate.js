#!/usr/bin/env node
// Loads the bundled CLI (dist/mcpgate.cjs) through Node's compile cache (Node 22.1+): after the
// first run, a start-up reuses V8's compiled code and answers `initialize` about 25-35 ms
// sooner on Node 22 and 24 (bench/README.md, "Runtime tuning on Node 22 and 24"); most of a
// short session is start-up. Node keeps the cache in its own directory (NODE_COMPILE_CACHE,
// else node-compile-cache under the system's temporary directory) and turns it off with
// NODE_DISABLE_COMPILE_CACHE=1. On older Node the bundle is simply loaded.
import module, { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const bundle = fileURLToPath(new URL("../dist/mcpgate.cjs", import.meta.url));
module.enableCompileCache?.();
createRequire(bundle)(bundle);
