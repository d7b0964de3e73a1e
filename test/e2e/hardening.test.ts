// The cases where relays and proxies usually fail: parser differentials, batches, huge
// messages, slow clients, servers and clients that vanish. Each test fails on a naive relay.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { alive, BIN, call, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

const POLICY = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n  big: {}\n  flood: {}\n  close_stdout: {}\n';

function received(record: string): string[] {
  return existsSync(record) ? readFileSync(record, "utf8").split("\n").slice(0, -1) : [];
}

describe("no bypass", () => {
  const smuggled = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret_tool","name":"echo","arguments":{}}}';

  it("control: a server that keeps the FIRST duplicate key runs secret_tool when nothing is in between", async () => {
    const direct = spawn(rawServer("first-wins")[0]!, rawServer("first-wins").slice(1));
    direct.stdin.end(`${smuggled}\n`);
    let out = "";
    for await (const chunk of direct.stdout) out += String(chunk);
    assert.match(out, /secret_tool: \{\}/);
  });

  it("refuses the duplicate-key call, so that server never runs a denied tool", async () => {
    const record = join(tempDir(), "received");
    const run = await runGateway(["--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer("first-wins")], lines(INIT, smuggled), {
      env: { RECORD: record },
      until: (stdout) => stdout.includes('"id":1'),
    });
    const reply = run.lines.map((line) => JSON.parse(line) as { id: number; error?: { code: number } }).find((message) => message.id === 1)!;
    assert.equal(reply.error?.code, -32600);
    assert.deepEqual(received(record).filter((line) => line.includes("tools/call")), []);
  });

  it("judges every element of a batch and answers every request in it exactly once, in one array", async () => {
    const record = join(tempDir(), "received");
    const batch = `[${JSON.stringify(call(1, "echo", { a: 1 }))},${JSON.stringify(call(2, "secret_tool"))},{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","method":"tools/call","params":{"name":"secret_tool"}}]`;
    const run = await runGateway(["--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], lines(INIT, batch), {
      env: { RECORD: record },
      until: (stdout) => stdout.split("\n").length > 2,
    });
    const replies = JSON.parse(run.lines[1]!) as Array<{ id: number; result: { isError?: boolean } }>;
    assert.deepEqual(replies.map((reply) => reply.id).sort(), [1, 2, 3]);
    assert.equal(replies.find((reply) => reply.id === 2)!.result.isError, true);
    assert.doesNotMatch(received(record).join("\n"), /secret_tool/);
  });
});

describe("nothing lost", () => {
  it("forwards what it does not judge byte for byte: odd ids, CRLF, whitespace, escapes, empty lines", async () => {
    const record = join(tempDir(), "received");
    const odd = [
      '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}\r',
      '  {"id":0,"jsonrpc":"2.0","method":"ping"}  ',
      '{"jsonrpc":"2.0","id":"","method":"ping","params":{"_meta":{"k":"\\u00e9\\ud83d\\ude00 é"}}}',
      "",
      '{"jsonrpc":"2.0","id":1.0e0,"method":"ping"}',
    ];
    const run = await runGateway(["--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], `${odd.join("\n")}\n`, {
      env: { RECORD: record },
      until: (stdout) => stdout.split("\n").length > 4,
    });
    assert.deepEqual(received(record), odd);
    assert.equal(run.lines.length, 4);
  });

  it("keeps its own replies out of the middle of a streamed result", { timeout: 120_000 }, async () => {
    const bytes = 64 << 20;
    const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], { stdio: ["pipe", "pipe", "inherit"] });
    gateway.stdin.write(lines(INIT, call(1, "big", { bytes })));
    const received: Buffer[] = [];
    let size = 0;
    let denialSent = false;
    for await (const chunk of gateway.stdout as AsyncIterable<Buffer>) {
      received.push(chunk);
      size += chunk.length;
      // Once the result is on its way, a call the policy denies: its reply must wait for the line's end.
      if (!denialSent && size > 4 << 20) {
        denialSent = true;
        gateway.stdin.write(lines(call(2, "secret_tool")));
      }
      if (denialSent && Buffer.concat(received.slice(-2)).includes('"id":2,')) break;
    }
    gateway.stdin.end();
    await once(gateway, "close");
    const output = Buffer.concat(received).toString("latin1").split("\n").filter((line) => line !== "");
    const replies = output.map((line) => JSON.parse(line) as { id: number; result: { content: Array<{ text: string }>; isError?: boolean } });
    assert.deepEqual(replies.map((reply) => reply.id), [0, 1, 2]);
    assert.equal(replies[1]!.result.content[0]!.text.length, bytes);
    assert.equal(replies[2]!.result.isError, true);
  });

  it("streams a large result in constant memory: a 192 MiB result peaks where a 64 MiB one does", { timeout: 120_000 }, async () => {
    const small = await streamedPeakMiB(64 << 20);
    const large = await streamedPeakMiB(192 << 20);
    // Held whole, each MiB more of the line would cost a MiB more (two while joined). What a
    // streamed line costs is the runtime's: read buffers that wait for the garbage collector.
    assert.ok(large < small + 32, `gateway peak RSS ${small} MiB for a 64 MiB result, ${large} MiB for 192 MiB`);
    assert.ok(large < 192, `gateway peak RSS ${large} MiB for a 192 MiB result`);
  });

  it("holds a slow client's data in the pipes, not in memory, and loses none of it", { timeout: 120_000 }, async () => {
    const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], { stdio: ["pipe", "pipe", "inherit"] });
    gateway.stdin.write(lines(INIT, call(1, "flood", { count: 256, bytes: 1 << 20 })));
    // Read nothing while the server tries to push 256 MiB through; a relay without
    // backpressure would take it all into memory in this time.
    gateway.stdout.pause();
    await delay(1_500);
    const stalledRss = peakRssMiB(gateway);
    let notifications = 0;
    let done = false;
    let rest = "";
    gateway.stdout.on("data", (chunk: Buffer) => {
      const text = rest + chunk.toString("latin1");
      const parts = text.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        if (line.includes("notifications/message")) notifications++;
        if (line.includes('"flooded 256"')) done = true;
      }
      if (done) gateway.stdin.end();
    });
    gateway.stdout.resume();
    await once(gateway, "close");
    assert.equal(notifications, 256);
    assert.ok(done);
    assert.ok(stalledRss < 150, `gateway held ${stalledRss} MiB while the client was not reading`);
  });
});

function peakRssMiB(child: { pid?: number }): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;
}

/** The gateway's peak RSS while relaying one result of `bytes`, read as fast as it comes. */
async function streamedPeakMiB(bytes: number): Promise<number> {
  const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], { stdio: ["pipe", "pipe", "inherit"] });
  gateway.stdin.write(lines(INIT, call(1, "big", { bytes })));
  let size = 0;
  let newlines = 0;
  for await (const chunk of gateway.stdout as AsyncIterable<Buffer>) {
    size += chunk.length;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) newlines++;
    if (newlines === 2) break;
  }
  const peak = peakRssMiB(gateway);
  gateway.stdin.end();
  await once(gateway, "close");
  assert.ok(size > bytes, `${size} bytes arrived of a ${bytes}-byte result`);
  return peak;
}

describe("faults", () => {
  it("a server that exits during a batch: every request in it is still answered, once", async () => {
    const batch = `[${JSON.stringify(call(1, "echo"))},${JSON.stringify(call(2, "secret_tool"))},{"jsonrpc":"2.0","id":3,"method":"ping"}]`;
    const run = await runGateway(["--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer("exit-on-batch=4")], lines(INIT, batch), { until: () => false });
    assert.equal(run.code, 4);
    const replies = run.lines.slice(1).flatMap((line) => JSON.parse(line) as unknown) as Array<{ id: number; error?: { message: string }; result?: { isError: boolean } }>;
    assert.deepEqual(replies.map((reply) => reply.id).sort(), [1, 2, 3]);
    assert.equal(replies.find((reply) => reply.id === 2)!.result!.isError, true);
    assert.match(replies.find((reply) => reply.id === 1)!.error!.message, /exited with code 4/);
  });

  it("a server that closes its stdout but keeps running: what waits is answered, the server is stopped", async () => {
    const pidFile = join(tempDir(), "pid");
    const run = await runGateway(
      ["--policy", writePolicy(POLICY), "--no-audit", "--shutdown-grace", "100", "--", ...rawServer("stubborn")],
      lines(INIT, call(1, "close_stdout"), call(2, "echo")),
      { env: { PIDFILE: pidFile }, until: () => false },
    );
    const ids = run.lines.slice(1).map((line) => (JSON.parse(line) as { id: number; error: { code: number } }).id);
    assert.deepEqual(ids.sort(), [1, 2]);
    assert.equal(run.code, 137);
    assert.equal(alive(Number(readFileSync(pidFile, "utf8"))), false);
  });

  it("a client that vanishes (EPIPE on stdout): the gateway stops the server and exits", async () => {
    const pidFile = join(tempDir(), "pid");
    const gateway = spawn(process.execPath, [BIN, "--policy", writePolicy(POLICY), "--no-audit", "--", ...rawServer()], {
      env: { ...process.env, PIDFILE: pidFile },
      stdio: ["pipe", "pipe", "pipe"],
    });
    gateway.stdin.write(lines(INIT));
    await once(gateway.stdout, "data");
    gateway.stdout.destroy();
    gateway.stdin.write(lines(call(1, "big", { bytes: 4 << 20 })));
    const [code] = (await once(gateway, "close")) as [number | null];
    assert.notEqual(code, null);
    assert.equal(alive(Number(readFileSync(pidFile, "utf8"))), false);
  });
});
