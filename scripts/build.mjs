// Bundles the CLI into one file: one module to load at start-up instead of hundreds.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

await build({
  entryPoints: ["src/cli/index.ts"],
  outfile: "dist/mcpgate.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  legalComments: "none",
  define: { MCPGATE_VERSION: JSON.stringify(version) },
  // Bundled CommonJS dependencies (cross-spawn) still call require() for Node built-ins.
  banner: { js: 'import { createRequire as __mcpgateRequire } from "node:module"; const require = __mcpgateRequire(import.meta.url);' },
  logLevel: "warning",
});
