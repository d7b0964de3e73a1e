// The audit log rotates by size (PATH, PATH.1 newest … PATH.<keep>), never costing an event
// it could keep, a failed rotation costs a warning only, and two writers sharing one log
// never split or lose a line. Real files in a temporary directory, tiny thresholds.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openAuditLog, rotatedPath } from "../../src/audit/log.ts";

function tempLog(): string {
  return join(mkdtempSync(join(tmpdir(), "mcpgate-rotation-")), "audit.jsonl");
}

function linesOf(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every line the files hold, oldest file first. */
function allLines(path: string, keep: number): Array<Record<string, unknown>> {
  const files = [...Array.from({ length: keep }, (_, i) => rotatedPath(path, keep - i)), path];
  return files.flatMap(linesOf);
}

describe("audit log rotation", () => {
  it("rotates past maxBytes, keeps `keep` files, and what is kept is the newest events in order", async () => {
    const path = tempLog();
    const warnings: string[] = [];
    const log = openAuditLog(path, "s", (message) => warnings.push(message), { maxBytes: 400, keep: 2 });
    for (let n = 0; n < 40; n++) log.write({ event: "call", tool: "echo", n });
    await log.close();
    assert.deepEqual(warnings, []);
    assert.ok(existsSync(rotatedPath(path, 1)) && existsSync(rotatedPath(path, 2)));
    assert.ok(!existsSync(rotatedPath(path, 3)));
    for (const file of [path, rotatedPath(path, 1), rotatedPath(path, 2)]) assert.ok(readFileSync(file).length <= 400, `${file} is over the limit`);
    const kept = allLines(path, 2).map((event) => event.n as number);
    assert.ok(kept.length > 3);
    assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 40 - kept.length + i));
  });

  it("appends to an existing log and counts what it already holds", async () => {
    const path = tempLog();
    writeFileSync(path, `${JSON.stringify({ event: "start", old: true })}\n`.repeat(5));
    const log = openAuditLog(path, "s", () => {}, { maxBytes: 150, keep: 3 });
    log.write({ event: "call", n: 0 });
    await log.close();
    assert.equal(linesOf(rotatedPath(path, 1)).length, 5);
    assert.deepEqual(linesOf(path).map((event) => event.n), [0]);
  });

  it("a rotation that fails costs a warning, and the log goes on in the same file", async () => {
    const path = tempLog();
    // A non-empty directory where PATH.1 goes: renaming PATH onto it fails.
    mkdirSync(join(rotatedPath(path, 1), "occupied"), { recursive: true });
    const warnings: string[] = [];
    const log = openAuditLog(path, "s", (message) => warnings.push(message), { maxBytes: 200, keep: 1 });
    for (let n = 0; n < 10; n++) log.write({ event: "call", n });
    await log.close();
    assert.ok(warnings.length > 0);
    assert.match(warnings[0]!, /audit log .*audit\.jsonl could not be rotated \(E[A-Z]+\); writing on in it/);
    assert.deepEqual(linesOf(path).map((event) => event.n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("two writers sharing one log lose and split no line", async () => {
    const path = tempLog();
    const a = openAuditLog(path, "a", () => {}, { maxBytes: 1_000, keep: 100 });
    const b = openAuditLog(path, "b", () => {}, { maxBytes: 1_000, keep: 100 });
    for (let n = 0; n < 200; n++) {
      a.write({ event: "call", n });
      b.write({ event: "call", n });
      // Let rotations and writes of both interleave.
      if (n % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([a.close(), b.close()]);
    const events = allLines(path, 100);
    for (const session of ["a", "b"]) {
      const mine = events.filter((event) => event.session === session).map((event) => event.n as number);
      assert.deepEqual(mine.sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i), `writer ${session}`);
    }
    assert.ok(existsSync(rotatedPath(path, 1)));
  });
});
