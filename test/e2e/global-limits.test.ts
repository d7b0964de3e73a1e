// Global limits end to end (SPEC §14, issue 17): built gateways, each around its own raw server
// that records every line it receives, sharing one real redis-server that the tests start,
// stop, restart and put to sleep. What reaches the servers is read from their records.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { connect, rawServer, runGateway, tempDir, writePolicy, type Connected } from "./helpers.ts";
import { needsRedis, startRedis, type RedisServer } from "./redis-server.ts";

type CallResult = { isError?: boolean; content?: Array<{ type: string; text?: string }> };

const text = (result: unknown): string => ((result as CallResult).content ?? []).map((part) => part.text ?? "").join("");
const denied = (result: unknown): boolean => (result as CallResult).isError === true && text(result).startsWith("[POLICY DENIED]");

/** How many tools/call lines of `tool` the server recording into `file` received. */
function received(file: string, tool?: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes('"tools/call"') && (tool === undefined || line.includes(`"name":"${tool}"`))).length;
}

describe("global limits on a shared redis-server", needsRedis(), () => {
  let redis: RedisServer;
  const open: Connected[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(open.map((gateway) => gateway.close()));
    await redis.stop();
  });

  /** A gateway around a raw server recording into a file of its own; closed after the suite. */
  async function gateway(policy: string, env: Record<string, string> = {}): Promise<{ gw: Connected; record: string }> {
    const record = join(tempDir(), "record.jsonl");
    const gw = await connect(policy, rawServer(), { env: { RECORD: record, ...env } });
    open.push(gw);
    return { gw, record };
  }

  it("four gateways sending 50 concurrent calls each against max 37: exactly 37 reach the servers", async () => {
    const policy = writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: four\nstore_timeout: 2s\ntools:\n  run: { limits: [{ counter: shell, max: 37, window: hour, scope: global }] }\n`);
    const gateways = await Promise.all([0, 1, 2, 3].map(() => gateway(policy)));
    const results = await Promise.all(gateways.flatMap(({ gw }) => Array.from({ length: 50 }, (_, i) => gw.client.callTool({ name: "run", arguments: { i } }))));
    const allowed = results.filter((result) => !denied(result));
    assert.equal(allowed.length, 37, `expected 37 allowed, got ${allowed.length}`);
    assert.equal(results.filter(denied).length, 163);
    assert.equal(gateways.reduce((sum, { record }) => sum + received(record, "run"), 0), 37);
    const reason = text(results.find(denied));
    assert.match(reason, /\(37 per hour; retry in (59m [0-9]+s|1h)\)$/);
  });

  it("a budget shared by two gateways: what one spends, the other cannot", async () => {
    const policy = writePolicy(`version: "1"\ndefault: deny\nnamespace: budget\ntools:\n  pay: { limits: [{ counter: money, max: 100, window: day, increment_from: args.amount, scope: global }] }\n`);
    // The store named by the environment, as a fleet would set it.
    const [a, b] = await Promise.all([gateway(policy, { MCPGATE_STORE: redis.url }), gateway(policy, { MCPGATE_STORE: redis.url })]);
    assert.ok(!denied(await a.gw.client.callTool({ name: "pay", arguments: { amount: 60 } })));
    const over = await b.gw.client.callTool({ name: "pay", arguments: { amount: 50 } });
    assert.ok(denied(over), text(over));
    assert.match(text(over), /budget exceeded \(100 per day; this call counts args\.amount/);
    assert.ok(!denied(await b.gw.client.callTool({ name: "pay", arguments: { amount: 40 } })));
    assert.ok(denied(await a.gw.client.callTool({ name: "pay", arguments: { amount: 0.5 } })));
    assert.equal(received(a.record, "pay") + received(b.record, "pay"), 2);
  });

  it("refund: on_error gives a failed call's charge back, here and in the store", async () => {
    const limits = (scope: string, refund: string): string => `[{ counter: tries_${scope}_${refund}, max: 2, window: hour, scope: ${scope}, refund: ${refund} }]`;
    for (const scope of ["session", "global"]) {
      const policy = writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: refund\ntools:\n  fail: { limits: ${limits(scope, "on_error")} }\n  fail_rpc: { limits: ${limits(scope, "on_error")} }\n  echo: { limits: ${limits(scope, "never")} }\n`);
      const { gw, record } = await gateway(policy);
      for (let i = 0; i < 4; i++) {
        const result = await gw.client.callTool({ name: "fail", arguments: { i } });
        assert.ok(!denied(result), `${scope}: fail #${i} was denied: ${text(result)}`);
      }
      for (let i = 0; i < 4; i++) await assert.rejects(gw.client.callTool({ name: "fail_rpc", arguments: { i } }), /fail_rpc failed/, `${scope}: fail_rpc #${i}`);
      // A limit without refund counts what succeeded and failed alike: the third call is denied.
      const echoes = [];
      for (let i = 0; i < 3; i++) echoes.push(await gw.client.callTool({ name: "echo", arguments: { i } }));
      assert.deepEqual(echoes.map(denied), [false, false, true], scope);
      assert.equal(received(record, "fail"), 4, scope);
      assert.equal(received(record, "fail_rpc"), 4, scope);
    }
  });

  it("a slow store (DEBUG SLEEP) denies within store_timeout, naming the store, while pings are answered", async () => {
    const policy = writePolicy(`version: "1"\ndefault: allow\nstore: ${redis.url}\nnamespace: slow\nstore_timeout: 300ms\ntools:\n  run: { limits: [{ counter: slow, max: 100, window: hour, scope: global }] }\n  local: { limits: ["100/hour"] }\n`);
    const { gw, record } = await gateway(policy);
    assert.ok(!denied(await gw.client.callTool({ name: "run", arguments: {} })));
    const admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
    try {
      await admin.ping();
      const sleeping = admin.call("DEBUG", "SLEEP", "3");
      const call = gw.client.callTool({ name: "run", arguments: { during: "sleep" } });
      // Answered by the server while the call waits on the store.
      await gw.client.ping();
      const local = await gw.client.callTool({ name: "local", arguments: {} });
      assert.ok(!denied(local), "a call under session limits only does not wait for the store");
      const result = await call;
      assert.ok(denied(result), text(result));
      assert.match(text(result), new RegExp(`store redis://127\\.0\\.0\\.1:${redis.port}.*300 ms.*store_failure: closed`));
      await sleeping;
    } finally {
      admin.disconnect();
    }
    assert.equal(received(record, "run"), 1);
  });

  it("a call cancelled while the store is busy is never sent, and what it was counted is given back", async () => {
    const policy = writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: cancel\nstore_timeout: 5s\ntools:\n  run: { limits: [{ counter: once, max: 1, window: hour, scope: global }, { counter: here, max: 1, window: hour }] }\n`);
    const record = join(tempDir(), "record.jsonl");
    const gw = await connect(policy, rawServer(), { env: { RECORD: record }, gatewayArgs: ["--no-audit", "--verbose"] });
    open.push(gw);
    const admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
    try {
      await admin.ping();
      // Written before the call leaves the client: the store sleeps before the gateway's consume reaches it.
      const sleeping = admin.call("DEBUG", "SLEEP", "1");
      const controller = new AbortController();
      const call = gw.client.callTool({ name: "run", arguments: { first: true } }, undefined, { signal: controller.signal });
      // The gateway reads the client's lines in order: once the ping is answered, the call waits on the store.
      await gw.client.ping();
      controller.abort("changed my mind");
      await assert.rejects(call);
      await sleeping;
      // The store's refund is its own command: the gateway says when it has been taken.
      assert.match(await gw.stderrMatching(/run: not sent/), /run: not sent \(cancelled, or the server is gone\); what it was counted is given back here and in the store/);
    } finally {
      admin.disconnect();
    }
    // Both the session counter and the store's were given back: the next call fits max 1.
    const next = await gw.client.callTool({ name: "run", arguments: { second: true } });
    assert.ok(!denied(next), text(next));
    assert.equal(received(record, "run"), 1);
    assert.ok(readFileSync(record, "utf8").includes('"second":true'));
    assert.ok(!readFileSync(record, "utf8").includes('"first":true'), "the cancelled call reached the server");
  });

  it("a call a human approved still passes the store: approved, counted; approved again, denied by the global limit", async () => {
    const policy = writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: approve\ntools:\n  run: { action: approve, limits: [{ counter: asked, max: 1, window: hour, scope: global }] }\n`);
    const approver = `${JSON.stringify(process.execPath)} -e "process.exit(0)"`;
    const record = join(tempDir(), "record.jsonl");
    const gw = await connect(policy, rawServer(), { env: { RECORD: record }, gatewayArgs: ["--no-audit", "--approver", approver] });
    open.push(gw);
    const first = await gw.client.callTool({ name: "run", arguments: { n: 1 } });
    assert.ok(!denied(first), text(first));
    const second = await gw.client.callTool({ name: "run", arguments: { n: 2 } });
    assert.ok(denied(second), text(second));
    assert.match(text(second), /^\[POLICY DENIED\] run: rate limit reached \(1 per hour; retry in/);
    assert.equal(received(record, "run"), 1);
  });

  it("dry run: a call the store denies is forwarded, and stderr says it would have been denied", async () => {
    const policy = writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: dry\ntools:\n  run: { limits: [{ counter: dry, max: 1, window: hour, scope: global }] }\n`);
    const record = join(tempDir(), "record.jsonl");
    const gw = await connect(policy, rawServer(), { env: { RECORD: record }, gatewayArgs: ["--no-audit", "--dry-run"] });
    open.push(gw);
    assert.ok(!denied(await gw.client.callTool({ name: "run", arguments: { n: 1 } })));
    assert.ok(!denied(await gw.client.callTool({ name: "run", arguments: { n: 2 } })));
    assert.match(await gw.stderrMatching(/dry run: would deny/), /dry run: would deny \[POLICY DENIED\] run: rate limit reached \(1 per hour; retry in/);
    assert.equal(received(record, "run"), 2);
  });

  it("the store killed mid-session: closed denies, open allows and says so; both count again once it is back", async () => {
    const policy = (failure: string): string =>
      writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: down-${failure}\nstore_failure: ${failure}\ntools:\n  run: { limits: [{ counter: down, max: 3, window: hour, scope: global }] }\n`);
    const closed = await gateway(policy("closed"));
    const opened = await gateway(policy("open"));
    assert.ok(!denied(await closed.gw.client.callTool({ name: "run", arguments: {} })));
    assert.ok(!denied(await opened.gw.client.callTool({ name: "run", arguments: {} })));
    await redis.stop("SIGKILL");
    const whileDown = await closed.gw.client.callTool({ name: "run", arguments: { down: true } });
    assert.ok(denied(whileDown), text(whileDown));
    assert.match(text(whileDown), /store redis:\/\/127\.0\.0\.1:\d+.*store_failure: closed/);
    const openDown = await opened.gw.client.callTool({ name: "run", arguments: { down: true } });
    assert.ok(!denied(openDown), text(openDown));
    assert.match(await opened.gw.stderrMatching(/store_failure: open/), /allowed without the shared count \(store_failure: open\)/);
    await closed.gw.client.ping();

    await redis.restart();
    // Reconnected on its own: the restarted store (no persistence) counts from zero, for both.
    for (const { gw } of [closed, opened]) {
      let result = await gw.client.callTool({ name: "run", arguments: { back: 0 } });
      for (let tries = 0; denied(result) && /cannot answer|did not answer|not connected|closed/.test(text(result)) && tries < 50; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        result = await gw.client.callTool({ name: "run", arguments: { back: tries + 1 } });
      }
      assert.ok(!denied(result), text(result));
      assert.ok(!denied(await gw.client.callTool({ name: "run", arguments: { back: "b" } })));
      assert.ok(!denied(await gw.client.callTool({ name: "run", arguments: { back: "c" } })));
      assert.ok(denied(await gw.client.callTool({ name: "run", arguments: { back: "d" } })), "the fourth call since the restart passes max 3");
    }
    assert.equal(received(closed.record, "run"), 4);
  });

  it("mcpgate counters prints each global counter's use and when it frees up", async () => {
    const policy = writePolicy(`version: "1"\ndefault: deny\nstore: ${redis.url}\nnamespace: cli\ntools:\n  run: { limits: [{ counter: shell, max: 2, window: hour, scope: global }] }\n`);
    const { gw } = await gateway(policy);
    await gw.client.callTool({ name: "run", arguments: { a: 1 } });
    await gw.client.callTool({ name: "run", arguments: { a: 2 } });
    const table = await runGateway(["counters", "--policy", policy]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^store redis://127\\.0\\.0\\.1:${redis.port}, namespace cli\\n`));
    assert.match(table.stdout, /\nshell\s+2 per hour\s+2 of 2\s+in (59m|60m|1h)[^\n]*tools\.run\.limits\[0\]\n$/);
    const json = await runGateway(["counters", "--policy", policy, "--json"]);
    const rows = JSON.parse(json.stdout) as Array<{ counter: string; used: number; max: number; freesInMs?: number }>;
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.counter, "shell");
    assert.equal(rows[0]!.used, 2);
    assert.ok(rows[0]!.freesInMs! > 3_500_000 && rows[0]!.freesInMs! <= 3_600_000, String(rows[0]!.freesInMs));
  });
});

describe("global limits without a store", () => {
  const policy = (): string => writePolicy(`version: "1"\ndefault: deny\ntools:\n  run: { limits: [{ counter: shell, max: 2, window: hour, scope: global }] }\n`);

  it("check warns; the gateway refuses to start, saying what to set", async () => {
    const file = policy();
    const checked = await runGateway(["check", file], "", { env: { MCPGATE_STORE: "" } });
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr, /scope: global limits but names no store, and MCPGATE_STORE is not set here/);
    const started = await runGateway(["--policy", file, "--no-audit", "--", ...rawServer()], "", { env: { MCPGATE_STORE: "" } });
    assert.equal(started.code, 1);
    assert.equal(started.stdout, "");
    assert.match(started.stderr, /names no store: set store: redis:\/\/HOST:PORT in the policy, or MCPGATE_STORE/);
  });

  it("a bad MCPGATE_STORE is refused by name", async () => {
    const started = await runGateway(["--policy", policy(), "--no-audit", "--", ...rawServer()], "", { env: { MCPGATE_STORE: "http://example.com" } });
    assert.equal(started.code, 1);
    assert.match(started.stderr, /MCPGATE_STORE: expected a redis:\/\/ or rediss:\/\/ URL/);
  });
});
