// Start-up is most of a short session. bin/mcpgate.js turns on Node's compile cache (Node 22.1+),
// so the bundle is compiled once and its cache reused from then on; a cache that each run
// rejects and writes anew costs every start the whole compilation (as it did when the relay
// changed V8's flags before the cache was saved).
import module from "node:module";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { call, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

/** Every file under `dir`, with its modification time and a hash of its bytes. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isFile()) files.set(name, `${stat.mtimeMs} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`);
  }
  return files;
}

const skip = !("enableCompileCache" in module) ? `Node ${process.version} has no compile cache (Node 22.1+)` : false;

describe("start-up", { skip }, () => {
  it("reuses Node's compile cache: a second run neither rejects nor rewrites what the first saved", async () => {
    const dir = tempDir();
    // Not NODE_COMPILE_CACHE, which would turn the cache on by itself: only bin/mcpgate.js does,
    // and Node then keeps it under the temporary directory.
    const env = { TMPDIR: dir };
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    const session = async (): Promise<void> => {
      const run = await runGateway(["--policy", policy, "--no-audit", "--", ...rawServer()], lines(INIT, call(1, "echo")), { env, until: (out) => out.split("\n").length > 2 });
      assert.equal(run.lines.length, 2, run.stderr);
    };
    await session();
    const saved = snapshot(dir);
    assert.ok(saved.size > 0, "no code cache was saved");
    await session();
    assert.deepEqual(snapshot(dir), saved);
  });
});
