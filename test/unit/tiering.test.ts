// The V8 flags are set only where the running V8 is known to have them: an unknown flag would
// be named on stderr, and a wrong one could change nothing or something unintended.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { optimizeSooner } from "../../src/relay/tiering.ts";

describe("optimizeSooner", () => {
  it("sets nothing on a V8 it does not know", () => {
    assert.deepEqual(optimizeSooner("10.2.154.26"), []);
    assert.deepEqual(optimizeSooner("99.0.0"), []);
  });

  it("picks flags this V8 has: each one is listed by --v8-options", () => {
    const flags = optimizeSooner();
    const known = spawnSync(process.execPath, ["--v8-options"], { encoding: "utf8" }).stdout;
    for (const flag of flags) assert.match(known, new RegExp(`^\\s+${flag.split("=")[0]} `, "m"), flag);
  });
});
