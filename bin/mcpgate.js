#!/usr/bin/env node
// Node 22+ can cache the compiled bundle between runs; start-up is most of a short session.
import module from "node:module";

module.enableCompileCache?.();
await import("../dist/mcpgate.js");
