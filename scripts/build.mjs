// Bundles the CLI into one CommonJS file: one module to load at start-up instead of hundreds,
// which Node's compile cache keeps compiled between runs (see bin/mcpgate.js).
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ["src/cli/index.ts"],
  outfile: "dist/mcpgate.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: "linked",
  legalComments: "none",
  define: { MCPGATE_VERSION: JSON.stringify(version) },
  logLevel: "warning",
});
