// The pin store: one file per server in the state directory, changed only under its lock by
// merging into what is on disk and renaming a whole new file over it — so two processes that
// write at once leave a valid file holding both their pins.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { digestToolValue } from "../../src/pins/definition.ts";
import { defaultPinsDir, serverId } from "../../src/pins/identity.ts";
import { withLock } from "../../src/pins/lock.ts";
import { parsePinSet, pinOf, serializePinSet, emptyPinSet } from "../../src/pins/pin-set.ts";
import { PinFileError, PinStore } from "../../src/pins/store.ts";

const scratch = mkdtempSync(join(tmpdir(), "mcpgate-pins-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(scratch, `state-${dirs++}`, "mcpgate", "pins");

const SERVER = { command: ["node", "server.mjs"], name: "files" };
const AT = "2026-01-01T00:00:00.000Z";
const pin = (name: string, description = "d") => [name, pinOf(digestToolValue({ name, description })!, AT)] as const;

describe("the pins directory", () => {
  it("is under XDG_STATE_HOME on Linux, and an empty or relative one counts as unset", { skip: process.platform === "darwin" || process.platform === "win32" }, () => {
    assert.equal(defaultPinsDir({ XDG_STATE_HOME: "/state", HOME: "/home/u" }), "/state/mcpgate/pins");
    assert.match(defaultPinsDir({ XDG_STATE_HOME: "relative/dir" }), /\/\.local\/state\/mcpgate\/pins$/);
    assert.match(defaultPinsDir({ XDG_STATE_HOME: "" }), /\/\.local\/state\/mcpgate\/pins$/);
  });
});

describe("PinStore", () => {
  it("has no set for a server it never saw, creates the file (and its directory, private) on the first update", async () => {
    const store = new PinStore(freshDir());
    assert.equal(store.read(serverId(SERVER)), undefined);
    assert.deepEqual(store.list(), []);
    const written = await store.update(SERVER, (set) => {
      set.pins.set(...pin("read_file"));
      return true;
    });
    assert.deepEqual([...written.pins.keys()], ["read_file"]);
    const file = store.file(serverId(SERVER));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(store.dir).mode & 0o777, 0o700);
    const read = store.read(serverId(SERVER))!;
    assert.deepEqual(read.server, SERVER);
    assert.deepEqual(read.pins.get("read_file"), pin("read_file")[1]);
    assert.deepEqual(readdirSync(store.dir), [`${serverId(SERVER)}.json`]);
  });

  it("does not write when the change says it changed nothing", async () => {
    const store = new PinStore(freshDir());
    await store.update(SERVER, () => false);
    assert.equal(existsSync(store.file(serverId(SERVER))), false);
  });

  it("merges: each update sees what earlier ones wrote, in the order asked, even when not awaited", async () => {
    const store = new PinStore(freshDir());
    const names = Array.from({ length: 20 }, (_, i) => `tool-${i}`);
    await Promise.all(names.map((name) => store.update(SERVER, (set) => {
      set.pins.set(...pin(name));
      return true;
    })));
    await store.settled();
    assert.deepEqual([...store.read(serverId(SERVER))!.pins.keys()].sort(), [...names].sort());
  });

  it("keeps tools named like Object's own members", async () => {
    const store = new PinStore(freshDir());
    await store.update(SERVER, (set) => {
      for (const name of ["__proto__", "constructor", "toString"]) set.pins.set(...pin(name));
      return true;
    });
    assert.deepEqual([...store.read(serverId(SERVER))!.pins.keys()], ["__proto__", "constructor", "toString"]);
  });

  it("never overwrites a file it cannot read: reading throws, updating rejects, the file stays", async () => {
    const store = new PinStore(freshDir());
    mkdirSync(store.dir, { recursive: true });
    const file = store.file(serverId(SERVER));
    writeFileSync(file, "{ not json");
    assert.throws(() => store.read(serverId(SERVER)), (error: unknown) => error instanceof PinFileError && /^.*\.json: not JSON \(/.test(error.message));
    await assert.rejects(store.update(SERVER, () => true), PinFileError);
    assert.equal(readFileSync(file, "utf8"), "{ not json");
    assert.match((store.list()[0] as { problem: string }).problem, /not JSON/);
    assert.equal(await store.remove(serverId(SERVER)), true);
    assert.equal(await store.remove(serverId(SERVER)), false);
  });

  it("says what is wrong with a file that is JSON but no pin set", () => {
    const valid = JSON.parse(serializePinSet({ ...emptyPinSet(SERVER), pins: new Map([pin("a")]) }));
    const problem = (document: unknown): string => {
      try {
        parsePinSet(JSON.stringify(document));
      } catch (error) {
        return (error as Error).message;
      }
      return "parsed";
    };
    assert.equal(problem(valid), "parsed");
    assert.equal(problem({ ...valid, version: 2 }), "version: expected 1, got 2");
    assert.equal(problem({ ...valid, server: { command: "node" } }), "server.command: expected a list of strings");
    assert.equal(problem({ ...valid, pins: [{ ...valid.pins[0], sha256: "xyz" }] }), "pins[0].sha256: expected 64 hex digits");
    assert.equal(problem({ ...valid, pins: [{ ...valid.pins[0], parts: { ...valid.pins[0].parts, description: 5 } }] }), "pins[0].parts.description: expected 64 hex digits or null");
    assert.equal(problem({ ...valid, seen: {} }), "seen: expected a list");
  });
});

describe("the lock", () => {
  it("waits for a holder, takes over a stale lock, and gives up on a live one after the timeout", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "x.json");
    const order: string[] = [];
    await Promise.all([
      withLock(file, async () => {
        order.push("first in");
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push("first out");
      }),
      new Promise((resolve) => setTimeout(resolve, 5)).then(() => withLock(file, async () => void order.push("second"))),
    ]);
    assert.deepEqual(order, ["first in", "first out", "second"]);

    writeFileSync(`${file}.lock`, "12345\n");
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    assert.equal(await withLock(file, async () => "taken over", { timeoutMs: 1_000, staleMs: 10_000 }), "taken over");
    assert.equal(existsSync(`${file}.lock`), false);

    writeFileSync(`${file}.lock`, "12345\n");
    await assert.rejects(withLock(file, async () => "never", { timeoutMs: 50, staleMs: 10_000 }), /x\.json\.lock has been held by another process for more than 50 ms \(remove it if no mcpgate is running\)/);
  });
});

describe("two processes writing one pin file at once", () => {
  it("leave a valid file with every pin of both, and no temporary file", async () => {
    const dir = freshDir();
    const writer = fileURLToPath(new URL("../fixtures/pins/writer.ts", import.meta.url));
    const COUNT = 25;
    const children = ["a", "b"].map((prefix) => spawn(process.execPath, ["--import", "tsx", writer, dir, prefix, String(COUNT)], { stdio: ["pipe", "pipe", "inherit"] }));
    // Both loaded, then both told to start: their updates overlap.
    await Promise.all(children.map((child) => new Promise((resolve) => createInterface({ input: child.stdout! }).once("line", resolve))));
    for (const child of children) child.stdin!.write("go\n");
    const codes = await Promise.all(children.map((child) => new Promise((resolve) => child.on("exit", resolve))));
    assert.deepEqual(codes, [0, 0]);
    const store = new PinStore(dir);
    const set = store.read(serverId({ command: ["node", "server.mjs"], name: "shared" }))!;
    const expected = ["a", "b"].flatMap((prefix) => Array.from({ length: COUNT }, (_, i) => `${prefix}-${i}`)).sort();
    assert.deepEqual([...set.pins.keys()].sort(), expected);
    assert.deepEqual(readdirSync(dir).filter((name) => !name.endsWith(".json")), []);
  });
});
