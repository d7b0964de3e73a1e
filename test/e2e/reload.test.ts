// Hot reload (SPEC §11) with the built binary: the policy file is changed under a running
// gateway — in place, by rename, invalid — and the next call is judged by what is in force.
// Every wait is on an event (a stderr line, a reply, a notification), with a bounded deadline.
import assert from "node:assert/strict";
import { renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { connect, INIT, lines, rawServer, runGateway, text, writePolicy, type Connected } from "./helpers.ts";

const ALLOW = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n';
const DENY = 'version: "1"\ndefault: deny\ntools:\n  echo: { action: deny, reason: "echo is off" }\n';
const DEADLINE_MS = 15_000;

/** `promise`, or a failure naming `what` after the deadline. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up after ${DEADLINE_MS} ms waiting for ${what}`)), DEADLINE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How many times `pattern` occurs in `text`. */
const count = (text: string, pattern: RegExp): number => text.match(new RegExp(pattern.source, "g"))?.length ?? 0;

/** Resolves once the gateway has said `pattern` `n` times in all (audit events go to stderr too, with --audit -). */
async function saidTimes(gateway: Connected, pattern: RegExp, n: number): Promise<string> {
  const stderr = await within(gateway.stderrMatching(new RegExp(`(?:${pattern.source}[\\s\\S]*){${n}}`)), `${n}× ${pattern} on stderr`);
  assert.ok(count(stderr, pattern) >= n, `stderr ended before ${n}× ${pattern}:\n${stderr}`);
  return stderr;
}

const RELOADED = /policy reloaded from /;

/** The audit events the gateway wrote to stderr (--audit -). */
function auditEvents(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function echo(gateway: Connected): Promise<{ denied: boolean; text: string }> {
  const result = await within(gateway.client.callTool({ name: "echo", arguments: { text: "hi" } }), "the echo call's result");
  return { denied: result.isError === true, text: text(result) };
}

/** Replaces the file as editors that save by rename do: a new file beside it, renamed over it. */
function saveByRename(path: string, contents: string, n: number): void {
  const temp = join(dirname(path), `.policy.yaml.tmp${n}`);
  writeFileSync(temp, contents);
  renameSync(temp, path);
}

/** A gateway on `policy` wrapping the raw fixture server, its audit events on stderr. */
const start = (policy: string, options: Parameters<typeof connect>[2] = {}): Promise<Connected> => connect(policy, rawServer(), { gatewayArgs: ["--audit", "-"], ...options });

describe("hot reload", { timeout: 60_000 }, () => {
  it("a file written in place is in force for the next call", async () => {
    const policy = writePolicy(ALLOW);
    const gateway = await start(policy);
    try {
      assert.deepEqual(await echo(gateway), { denied: false, text: 'echo: {"text":"hi"}' });
      writeFileSync(policy, DENY);
      await saidTimes(gateway, RELOADED, 1);
      const after = await echo(gateway);
      assert.equal(after.denied, true);
      assert.match(after.text, /echo is off/);
      const reload = auditEvents(gateway.stderr()).find((event) => event.event === "reload");
      assert.deepEqual({ ok: reload?.ok, policy: reload?.policy }, { ok: true, policy });
    } finally {
      await gateway.close();
    }
  });

  it("survives saves by rename, one after another", async () => {
    const policy = writePolicy(ALLOW);
    const gateway = await start(policy);
    try {
      saveByRename(policy, DENY, 1);
      await saidTimes(gateway, RELOADED, 1);
      assert.equal((await echo(gateway)).denied, true);
      // The second save replaces the file the first one made: a watch on the old file would miss it.
      saveByRename(policy, ALLOW, 2);
      await saidTimes(gateway, RELOADED, 2);
      assert.equal((await echo(gateway)).denied, false);
    } finally {
      await gateway.close();
    }
  });

  it("an invalid file changes nothing: FILE:LINE:COL on stderr, an audit reload with ok: false", async () => {
    const policy = writePolicy(ALLOW);
    const gateway = await start(policy);
    try {
      writeFileSync(policy, 'version: "1"\ndefault: deny\ntools:\n  echo: { action: maybe }\n');
      const stderr = await saidTimes(gateway, /policy NOT reloaded/, 1);
      assert.ok(stderr.includes(`${policy}:4:`), `no ${policy}:4:COL: problem line in:\n${stderr}`);
      assert.match(stderr, new RegExp(`${policy.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:\\d+: tools\\.echo\\.action: `));
      assert.doesNotMatch(stderr, RELOADED);
      assert.equal((await echo(gateway)).denied, false, "the old policy is no longer in force");
      const reload = auditEvents(gateway.stderr()).find((event) => event.event === "reload");
      assert.equal(reload?.ok, false);
      const problems = reload?.problems as Array<{ line: number; col: number; path: string; message: string }>;
      assert.ok(Array.isArray(problems) && problems.length > 0);
      assert.equal(problems[0]!.line, 4);
      assert.equal(problems[0]!.path, "tools.echo.action");
      // A good file after a bad one still loads.
      writeFileSync(policy, DENY);
      await saidTimes(gateway, RELOADED, 1);
      assert.equal((await echo(gateway)).denied, true);
    } finally {
      await gateway.close();
    }
  });

  it("a counter unchanged by the reload keeps its count; a changed window starts afresh", async () => {
    const limited = (window: string, extra = ""): string => `version: "1"\ndefault: deny\ntools:\n  echo: { limits: ["2/${window}"] }\n${extra}`;
    const policy = writePolicy(limited("minute"));
    const gateway = await start(policy);
    try {
      assert.equal((await echo(gateway)).denied, false);
      assert.equal((await echo(gateway)).denied, false);
      writeFileSync(policy, limited("minute", "  other: {}\n"));
      await saidTimes(gateway, RELOADED, 1);
      const third = await echo(gateway);
      assert.equal(third.denied, true, "the count of 2 was lost in the reload");
      assert.match(third.text, /limit/i);
      // The control: another window is another counter, which starts empty.
      writeFileSync(policy, limited("hour", "  other: {}\n"));
      await saidTimes(gateway, RELOADED, 2);
      assert.equal((await echo(gateway)).denied, false);
    } finally {
      await gateway.close();
    }
  });

  it("--no-watch does not watch the file", async () => {
    const policy = writePolicy(ALLOW);
    const run = (extra: string[]) => runGateway(["--policy", policy, "--no-audit", "--verbose", ...extra, "--", ...rawServer()], lines(INIT), { until: (stdout) => stdout.includes('"id":0') });
    const watched = await within(run([]), "a gateway's exit");
    assert.match(watched.stderr, /watching .*policy\.yaml for changes/);
    const unwatched = await within(run(["--no-watch"]), "a gateway's exit");
    assert.equal(unwatched.code, 0, unwatched.stderr);
    assert.doesNotMatch(unwatched.stderr, /watching/);
  });

  it("a changed hide list sends notifications/tools/list_changed, and the next list obeys it", async () => {
    const policy = writePolicy(ALLOW);
    let notified!: () => void;
    const listChanged = new Promise<void>((resolve) => (notified = resolve));
    let notifications = 0;
    const gateway = await start(policy, {
      setup: (client) =>
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
          notifications++;
          notified();
        }),
    });
    try {
      const before = await within(gateway.client.listTools(), "tools/list");
      assert.ok(before.tools.some((tool) => tool.name === "secret_tool"));
      writeFileSync(policy, `${ALLOW}hide: [secret_tool]\n`);
      await within(listChanged, "notifications/tools/list_changed");
      const after = await within(gateway.client.listTools(), "tools/list");
      assert.deepEqual(
        after.tools.map((tool) => tool.name).filter((name) => name === "secret_tool"),
        [],
      );
      assert.ok(after.tools.some((tool) => tool.name === "echo"));
      // A reload that leaves hide alone says nothing: the echo call's reply comes after the
      // reload, and a notification sent at the reload would have come before it.
      writeFileSync(policy, `${ALLOW}  other: {}\nhide: [secret_tool]\n`);
      await saidTimes(gateway, RELOADED, 2);
      await echo(gateway);
      assert.equal(notifications, 1);
    } finally {
      await gateway.close();
    }
  });
});
