// mcpgate writes nothing into the working directory (SPEC §7): an empty or relative XDG_*
// variable counts as unset, so neither the code cache (bin/mcpgate.js, Node 20) nor the default
// audit log can land in the directory the client started it in.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { call, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

describe("the working directory", () => {
  it("stays empty through a whole session with XDG_CACHE_HOME empty and XDG_STATE_HOME relative; the audit log goes under HOME", async () => {
    const cwd = tempDir();
    const home = tempDir();
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    // Default audit on: no --audit and no --no-audit.
    const run = await runGateway(["--policy", policy, "--", ...rawServer()], lines(INIT, call(1, "echo", { said: "hello" })), {
      cwd,
      env: { HOME: home, XDG_CACHE_HOME: "", XDG_STATE_HOME: "relative/dir" },
      until: (stdout) => stdout.split("\n").length > 2,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.lines.length, 2, run.stderr);
    assert.match(run.lines[1]!, /hello/);
    assert.deepEqual(readdirSync(cwd), [], "mcpgate wrote into the working directory");

    const audit = readFileSync(join(home, ".local", "state", "mcpgate", "audit.jsonl"), "utf8");
    const events = audit.trim().split("\n").map((line) => (JSON.parse(line) as { event: string }).event);
    assert.deepEqual(events, ["start", "call", "stop"]);
  });
});
