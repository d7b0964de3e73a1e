// Hot reload (SPEC §11) below the CLI: counters carried over by key and spec, and the router
// judging by the policy put in force by reload() — new calls and held calls alike.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ApprovalAnswer } from "../../src/approval/answer.ts";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { parsePolicy } from "../../src/policy/load.ts";
import { recordingRouter } from "./harness.ts";

function compile(yaml: string): CompiledPolicy {
  const parsed = parsePolicy(yaml);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
  return compilePolicy(parsed.policy);
}

const policyWith = (limits: string, extra = ""): CompiledPolicy =>
  compile(`version: "1"
default: deny
tools:
  run: { limits: [${limits}] }
  other: {}
${extra}`);

/** Adds `n` calls at time 0 to a counter. */
function use(counters: Counters, name: string, n: number): void {
  for (let i = 0; i < n; i++) counters.get(name).add(0, 1);
}

describe("Counters.carriedOver", () => {
  it("a counter with the same key and spec keeps its log, history and all", () => {
    const before = policyWith('{ max: 2, window: 1m }, { max: 5, window: 1h, counter: shared }');
    const counters = new Counters(before.counters);
    use(counters, "tools.run.limits[0]", 2);
    use(counters, "counter:shared", 3);
    // An unrelated change: another entry, a reason.
    const after = policyWith('{ max: 2, window: 1m }, { max: 5, window: 1h, counter: shared }', "  extra: { action: deny, reason: later }\n");
    const carried = Counters.carriedOver(counters, after.counters);
    assert.equal(carried.get("tools.run.limits[0]"), counters.get("tools.run.limits[0]"));
    assert.equal(carried.get("tools.run.limits[0]").used(1, 60_000), 2);
    assert.equal(carried.get("counter:shared"), counters.get("counter:shared"));
    assert.equal(carried.get("counter:shared").used(1, 3_600_000), 3);
  });

  it("a changed window starts empty; an unchanged counter beside it keeps its history", () => {
    const counters = new Counters(policyWith('{ max: 2, window: 1m }, { max: 5, window: 1h, counter: shared }').counters);
    use(counters, "tools.run.limits[0]", 2);
    use(counters, "counter:shared", 3);
    const carried = Counters.carriedOver(counters, policyWith('{ max: 2, window: 2m }, { max: 5, window: 1h, counter: shared }').counters);
    assert.notEqual(carried.get("tools.run.limits[0]"), counters.get("tools.run.limits[0]"));
    assert.equal(carried.get("tools.run.limits[0]").used(1, 120_000), 0);
    assert.equal(carried.get("counter:shared").used(1, 3_600_000), 3);
  });

  it("a shared counter whose shorter window changed starts empty, though its longest window is the same", () => {
    const shared = (short: string): CompiledPolicy => policyWith(`{ max: 2, window: ${short}, counter: s }, { max: 9, window: 1h, counter: s }`);
    const counters = new Counters(shared("1m").counters);
    use(counters, "counter:s", 2);
    assert.equal(Counters.carriedOver(counters, shared("2m").counters).get("counter:s").used(1, 3_600_000), 0);
    assert.equal(Counters.carriedOver(counters, shared("1m").counters).get("counter:s").used(1, 3_600_000), 2);
  });

  it("another max, another key (renamed, or moved to another position), or weighting starts empty", () => {
    const counters = new Counters(policyWith('{ max: 2, window: 1m, counter: a }, { max: 3, window: 1m }').counters);
    use(counters, "counter:a", 2);
    use(counters, "tools.run.limits[1]", 2);
    const fresh = (limits: string, name: string): number => Counters.carriedOver(counters, policyWith(limits).counters).get(name).used(1, 60_000);
    assert.equal(fresh('{ max: 3, window: 1m, counter: a }, { max: 3, window: 1m }', "counter:a"), 0);
    assert.equal(fresh('{ max: 2, window: 1m, counter: b }, { max: 3, window: 1m }', "counter:b"), 0);
    // The unnamed limit moved from position 1 to 0: another counter.
    assert.equal(fresh('{ max: 3, window: 1m }, { max: 2, window: 1m, counter: a }', "tools.run.limits[0]"), 0);
    assert.equal(fresh('{ max: 2, window: 1m, counter: a, increment_from: args.n }, { max: 3, window: 1m }', "counter:a"), 0);
    // And the same policy again keeps both.
    assert.equal(fresh('{ max: 2, window: 1m, counter: a }, { max: 3, window: 1m }', "counter:a"), 2);
  });

  it("a counter the new policy no longer has is gone", () => {
    const counters = new Counters(policyWith('{ max: 2, window: 1m }').counters);
    assert.throws(() => Counters.carriedOver(counters, policyWith("").counters).get("tools.run.limits[0]"), /no counter named tools.run.limits\[0\]/);
  });
});

const call = (id: number, name: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":{}}}\n`;
const INIT = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n';
const INIT_ANSWER = '{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}\n';
const LIST_CHANGED = '{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n';
const settle = () => new Promise((resolve) => setImmediate(resolve));
const textOf = (line: string): string => (JSON.parse(line) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;

const ALLOW_ECHO = `version: "1"
default: deny
tools:
  echo: { limits: ["2/minute"] }
  push: { action: approve, reason: "pushes need a human" }
`;

describe("Router.reload", () => {
  it("a call after the reload is judged by the new policy", () => {
    const h = recordingRouter(ALLOW_ECHO);
    h.client(call(1, "echo"));
    assert.deepEqual(h.toServer, [call(1, "echo")]);
    h.router.reload(compile(`version: "1"\ndefault: deny\ntools:\n  echo: { action: deny, reason: "no more echo" }\n`));
    h.client(call(2, "echo"));
    assert.equal(h.toServer.length, 1, "the denied call was forwarded");
    assert.match(textOf(h.toClient.at(-1)!), /no more echo/);
    // And back: allowed again.
    h.router.reload(compile(ALLOW_ECHO));
    h.client(call(3, "echo"));
    assert.deepEqual(h.toServer, [call(1, "echo"), call(3, "echo")]);
  });

  it("a limit's use survives a reload that leaves its counter alone", () => {
    const h = recordingRouter(ALLOW_ECHO);
    h.client(call(1, "echo"));
    h.client(call(2, "echo"));
    h.router.reload(compile(ALLOW_ECHO.replace("pushes need a human", "pushes need a person")));
    h.client(call(3, "echo"));
    assert.equal(h.toServer.length, 2);
    assert.match(textOf(h.toClient.at(-1)!), /2\/minute|limit/i);
  });

  it("a call held for a human is judged again under the new policy when the yes comes", async () => {
    const answers: Array<(answer: ApprovalAnswer) => void> = [];
    const h = recordingRouter(ALLOW_ECHO, { approver: () => new Promise((resolve) => answers.push(resolve)) });
    h.client(call(1, "push"));
    await settle();
    assert.equal(answers.length, 1, "the call was not held");
    assert.deepEqual(h.toServer, []);
    h.router.reload(compile(`version: "1"\ndefault: deny\ntools:\n  push: { action: deny, reason: "pushes are off now" }\n`));
    answers[0]!({ approved: true });
    await settle();
    assert.deepEqual(h.toServer, [], "a call the new policy denies was forwarded on a yes");
    assert.match(textOf(h.toClient.at(-1)!), /pushes are off now/);
  });

  it("a held call the new policy still allows is forwarded on a yes", async () => {
    const answers: Array<(answer: ApprovalAnswer) => void> = [];
    const h = recordingRouter(ALLOW_ECHO, { approver: () => new Promise((resolve) => answers.push(resolve)) });
    h.client(call(1, "push"));
    await settle();
    h.router.reload(compile(ALLOW_ECHO.replace("pushes need a human", "pushes need a person")));
    answers[0]!({ approved: true });
    await settle();
    assert.deepEqual(h.toServer, [call(1, "push")]);
  });

  it("tells an initialized client to list tools again when hide changed, and only then", () => {
    const h = recordingRouter(ALLOW_ECHO);
    assert.deepEqual(h.router.reload(compile(`${ALLOW_ECHO}hide: [secret]\n`)), { hideChanged: true });
    assert.deepEqual(h.toClient, [], "a client that has not initialized was sent a notification");
    h.client(INIT);
    h.server(INIT_ANSWER);
    h.toClient.length = 0;
    assert.deepEqual(h.router.reload(compile(`${ALLOW_ECHO}hide: [secret, "internal_*"]\n`)), { hideChanged: true });
    assert.deepEqual(h.toClient, [LIST_CHANGED]);
    assert.deepEqual(h.router.reload(compile(`${ALLOW_ECHO.replace("human", "person")}hide: [secret, "internal_*"]\n`)), { hideChanged: false });
    assert.deepEqual(h.toClient, [LIST_CHANGED]);
    h.router.reload(compile(ALLOW_ECHO));
    assert.deepEqual(h.toClient, [LIST_CHANGED, LIST_CHANGED]);
  });

  it("tools/list is filtered by the hide list in force", () => {
    const h = recordingRouter(ALLOW_ECHO);
    const list = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"tools/list"}\n`;
    const tools = (id: number) => `{"jsonrpc":"2.0","id":${id},"result":{"tools":[{"name":"echo"},{"name":"secret"}]}}\n`;
    const names = (line: string): string[] => (JSON.parse(line) as { result: { tools: Array<{ name: string }> } }).result.tools.map((tool) => tool.name);
    h.client(list(1));
    h.server(tools(1));
    assert.deepEqual(names(h.toClient.at(-1)!), ["echo", "secret"]);
    h.router.reload(compile(`${ALLOW_ECHO}hide: [secret]\n`));
    h.client(list(2));
    h.server(tools(2));
    assert.deepEqual(names(h.toClient.at(-1)!), ["echo"]);
  });
});
