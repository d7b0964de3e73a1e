// The package as users get it: `npm pack` (whose prepare script builds), then `npx -y file:<tgz>`
// from a scratch directory around bash-mcp, driven by the SDK Client. Everything happens in a
// scratch copy with its own npm cache, offline: the package bundles its dependencies, so an
// install that needed the registry would be a defect, and the repository's dist/ (which other
// tests are running) and the user's npm cache are left alone.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { bashMcp, connectCommand, ROOT, tempDir, text } from "./helpers.ts";

const run = promisify(execFile);

/**
 * Packed size bounds: 2026-11-29 the tarball was 317 kB (1.45 MB unpacked); with the source map it
 * was 899 kB (4.1 MB); 2026-11-30, with the shared-counter store (dist/store.cjs), 450 kB (1.98 MB).
 */
const MAX_PACKED = 512 * 1024;
const MAX_UNPACKED = 2 * 1024 * 1024;

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

/** A copy of what the build and the package need, with the repository's node_modules linked in. */
function scratchCheckout(dir: string): string {
  const copy = join(dir, "checkout");
  const { files } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { files: string[] };
  for (const entry of new Set([...files, "package.json", "scripts", "src", "tsconfig.json"])) {
    if (entry !== "dist") cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"), "dir");
  return copy;
}

describe("the packed package", () => {
  it("packs small, installs offline with nothing but itself, and gates bash-mcp when run through npx", { timeout: 300_000 }, async (t) => {
    const dir = tempDir();
    const checkout = scratchCheckout(dir);
    const npmrc = join(dir, "npmrc");
    writeFileSync(npmrc, "");
    const env = {
      npm_config_cache: join(dir, "npm-cache"),
      npm_config_userconfig: npmrc,
      npm_config_offline: "true",
      npm_config_prefer_offline: "true",
      npm_config_update_notifier: "false",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_yes: "true",
    };

    const packed = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: checkout, env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 16 << 20 });
    const [result] = JSON.parse(packed.stdout) as PackResult[];
    assert.ok(result !== undefined, `npm pack printed no result: ${packed.stdout}`);
    t.diagnostic(`tarball ${result.filename}: ${result.size} bytes packed, ${result.unpackedSize} unpacked, ${result.files.length} files`);
    assert.ok(result.size < MAX_PACKED, `expected the tarball under ${MAX_PACKED} bytes, it is ${result.size}`);
    assert.ok(result.unpackedSize < MAX_UNPACKED, `expected under ${MAX_UNPACKED} bytes unpacked, it is ${result.unpackedSize}`);
    const paths = result.files.map((file) => file.path);
    for (const needed of ["LICENSE", "README.md", "bin/mcpgate.js", "dist/mcpgate.cjs", "dist/store.cjs", "dist/THIRD_PARTY_LICENSES.txt", "examples/bash-mcp.yaml"]) {
      assert.ok(paths.includes(needed), `expected ${needed} in the package, it holds ${paths.join(", ")}`);
    }
    assert.deepEqual(paths.filter((path) => path.endsWith(".map")), [], "a source map is in the package");
    // The demo imports devDependencies: it runs from a checkout, not from the package.
    assert.equal(paths.includes("examples/demo.mjs"), false, "examples/demo.mjs is in the package");
    const licences = readFileSync(join(checkout, "dist", "THIRD_PARTY_LICENSES.txt"), "utf8");
    for (const bundled of ["ajv", "commander", "cross-spawn", "diff", "ioredis", "jsonc-parser", "re2js", "yaml", "zod"]) {
      assert.match(licences, new RegExp(`^${bundled}@\\d+\\.\\d+\\.\\d+ \\(`, "m"), `no licence notice for the bundled ${bundled}`);
    }

    const tgz = join(dir, result.filename);
    const cwd = join(dir, "elsewhere");
    mkdirSync(cwd);
    const policy = join(cwd, "policy.yaml");
    writeFileSync(policy, 'version: "1"\ndefault: deny\ntools:\n  run: {}\n');
    const gate = await connectCommand(["npx", "-y", `file:${tgz}`, "--policy", policy, "--no-audit", "--", ...bashMcp()], { cwd, env });
    try {
      const { tools } = await gate.client.listTools();
      assert.ok(tools.some((tool) => tool.name === "run"), `expected bash-mcp's tools, got ${tools.map((tool) => tool.name).join(", ")}`);
      const allowed = await gate.client.callTool({ name: "run", arguments: { command: "echo from-the-tarball" } });
      assert.notEqual(allowed.isError, true, text(allowed));
      assert.match(text(allowed), /from-the-tarball/);
      const denied = await gate.client.callTool({ name: "run_background", arguments: { command: "true", name: "job" } });
      assert.equal(denied.isError, true);
      assert.equal(text(denied), "[POLICY DENIED] run_background: not allowed by policy (no entry for this tool; default: deny)");
    } finally {
      await gate.close();
    }

    // The store bundle loads from the package: a policy with global limits reaches for its store
    // (a port nothing listens on) and says which one it could not reach.
    const global = join(cwd, "global.yaml");
    writeFileSync(global, 'version: "1"\ndefault: deny\nstore: redis://127.0.0.1:1\nstore_timeout: 500ms\ntools:\n  run: { limits: [{ counter: c, max: 1, window: hour, scope: global }] }\n');
    const counters = await run("npx", ["-y", `file:${tgz}`, "counters", "--policy", global], { cwd, env: { ...process.env, ...env }, timeout: 60_000 }).catch((error: { code?: number; stderr?: string }) => error);
    assert.equal((counters as { code?: number }).code, 1);
    assert.match((counters as { stderr: string }).stderr, /store redis:\/\/127\.0\.0\.1:1: /);

    // What npx installed: mcpgate alone, without dependencies to fetch, without a source map.
    const npxDir = join(env.npm_config_cache, "_npx");
    const installs = readdirSync(npxDir);
    assert.equal(installs.length, 1, `expected one npx install under ${npxDir}, found ${installs.join(", ")}`);
    const modules = join(npxDir, installs[0]!, "node_modules");
    assert.deepEqual(readdirSync(modules).filter((name) => !name.startsWith(".")), ["mcpgate"]);
    const manifest = JSON.parse(readFileSync(join(modules, "mcpgate", "package.json"), "utf8")) as Record<string, unknown>;
    assert.equal(manifest.dependencies, undefined, "the package declares runtime dependencies its bundle already holds");
    assert.equal(existsSync(join(modules, "mcpgate", "dist", "mcpgate.cjs.map")), false);
    assert.equal(existsSync(join(ROOT, "mcpgate-0.1.0.tgz")), false, "npm pack wrote into the repository");
  });
});
