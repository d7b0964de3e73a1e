// Approval in the router: elicitation to the client, an approver stub, timers run by hand.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ApprovalAnswer, ApprovalRequest } from "../../src/approval/answer.ts";
import { commandApprover } from "../../src/approval/approver.ts";
import { canElicitForm, elicitationAnswer, shorten } from "../../src/approval/elicitation.ts";
import { type AuditEvent } from "../../src/audit/log.ts";
import { recordingRouter } from "./harness.ts";

const POLICY = `version: "1"
default: deny
tools:
  echo: {}
  push: { action: approve, reason: "pushes need a human", limits: ["2/minute"] }
  run:
    approve_if:
      - { path: args.command, op: regex, value: "^git push", message: "git push needs a yes" }
`;

interface Options {
  approver?: (request: ApprovalRequest, signal: AbortSignal) => Promise<ApprovalAnswer>;
  dryRun?: boolean;
}

function harness(yaml = POLICY, options: Options = {}) {
  const audit: AuditEvent[] = [];
  const timers: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
  const { router, toServer, toClient, client, server } = recordingRouter(yaml, {
    audit: { enabled: true, write: (event: AuditEvent) => audit.push(event), close: async () => {} } as never,
    dryRun: options.dryRun ?? false,
    ...(options.approver === undefined ? {} : { approver: options.approver }),
    setTimer: (ms, fn) => {
      const timer = { ms, fn, cancelled: false };
      timers.push(timer);
      return () => (timer.cancelled = true);
    },
  });
  const h = {
    router,
    toServer,
    toClient,
    audit,
    timers,
    client,
    server,
    json: (line: string) => JSON.parse(line) as Record<string, any>,
    /** The last message the client got, decoded. */
    last: () => JSON.parse(toClient.at(-1)!) as Record<string, any>,
    /** Sends initialize with these capabilities and the server's answer. */
    initialize(capabilities: object) {
      h.client(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":${JSON.stringify(capabilities)},"clientInfo":{"name":"t","version":"1"}}}\n`);
      h.server('{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}\n');
      toServer.length = 0;
      toClient.length = 0;
    },
  };
  return h;
}

const call = (id: string, name: string, args = "{}") => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${args}}}\n`;
const answer = (id: string, result: object) => `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result)}}\n`;
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("approval: no channel", () => {
  it("denies with a reason saying approval was required and no channel exists", () => {
    const h = harness();
    h.initialize({});
    h.client(call("1", "push"));
    assert.deepEqual(h.toServer, []);
    const reply = h.last();
    assert.equal(reply.id, 1);
    assert.equal(reply.result.isError, true);
    assert.match(reply.result.content[0].text, /^\[POLICY DENIED\] push: pushes need a human: a human's approval is required, and no approval channel exists/);
    assert.equal(reply.result._meta["mcpgate/decision"].rule, "tools.push");
  });

  it("a call that needs no approval is not held", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    const line = call("1", "run", '{"command":"git status"}');
    h.client(line);
    assert.deepEqual(h.toServer, [line]);
    assert.deepEqual(h.toClient, []);
  });
});

describe("approval by elicitation", () => {
  it("asks the client with its own id, forwards the exact call on accept, and keeps the answer from the server", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    const line = call("7", "run", '{"command":"git push origin main"}');
    h.client(line);
    assert.deepEqual(h.toServer, [], "held until a human answers");
    const prompt = h.last();
    assert.equal(prompt.method, "elicitation/create");
    assert.match(prompt.id, /^mcpgate-approval-[0-9a-f]{12}-1$/);
    assert.match(prompt.params.message, /"run"/);
    assert.match(prompt.params.message, /git push needs a yes/);
    assert.match(prompt.params.message, /git push origin main/);
    assert.equal(prompt.params.requestedSchema.type, "object");
    assert.equal(prompt.params.requestedSchema.properties.allow_for_session.type, "boolean");
    assert.equal(h.timers[0]!.ms, 50_000, "default timeout below 60 s");

    h.client(answer(prompt.id, { action: "accept", content: {} }));
    assert.deepEqual(h.toServer, [line], "exactly the judged bytes, and not the client's answer");
    assert.equal(h.timers[0]!.cancelled, true);
    h.server('{"jsonrpc":"2.0","id":7,"result":{"content":[]}}\n');
    assert.equal(h.last().id, 7);
    assert.equal(h.router.pendingCount, 0);
    const event = h.audit.find((e) => e.event === "call")!;
    assert.equal(event.decision, "allow");
    assert.equal(event.approval, "accepted");
  });

  it("supports 2025-11-25 capabilities: form mode yes, url-only no", () => {
    assert.equal(canElicitForm({ elicitation: {} }), true);
    assert.equal(canElicitForm({ elicitation: { form: {} } }), true);
    assert.equal(canElicitForm({ elicitation: { form: {}, url: {} } }), true);
    assert.equal(canElicitForm({ elicitation: { url: {} } }), false);
    assert.equal(canElicitForm({ sampling: {} }), false);
    assert.equal(canElicitForm({ elicitation: true }), false);
    assert.equal(canElicitForm(null), false);
  });

  for (const [action, expected, outcome] of [
    ["decline", /; a human declined it$/, "declined"],
    ["cancel", /; the approval prompt was dismissed without an answer$/, "cancelled"],
  ] as const) {
    it(`denies on ${action}, with its own reason`, () => {
      const h = harness();
      h.initialize({ elicitation: {} });
      h.client(call("2", "push"));
      h.client(answer(h.last().id, { action }));
      assert.deepEqual(h.toServer, []);
      const reply = h.last();
      assert.equal(reply.id, 2);
      assert.equal(reply.result.isError, true);
      assert.match(reply.result.content[0].text, expected);
      assert.equal(h.audit.at(-1)!.approval, outcome);
    });
  }

  it("denies when the client answers the prompt with an error", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(call("2", "push"));
    h.client(`{"jsonrpc":"2.0","id":"${h.last().id}","error":{"code":-32601,"message":"no UI"}}\n`);
    assert.match(h.last().result.content[0].text, /the client could not show the approval prompt \(no UI\)/);
  });

  it("denies on timeout, withdraws the prompt, and ignores a late answer", () => {
    const h = harness(`${POLICY}approval: { timeout: 5s }\n`);
    h.initialize({ elicitation: {} });
    h.client(call("3", "push"));
    const prompt = h.last();
    assert.equal(h.timers[0]!.ms, 5_000);
    h.timers[0]!.fn();
    const [cancel, reply] = h.toClient.slice(-2).map(h.json);
    assert.deepEqual(cancel!.method, "notifications/cancelled");
    assert.equal(cancel!.params.requestId, prompt.id);
    assert.equal(reply!.id, 3);
    assert.match(reply!.result.content[0].text, /; nobody answered within 5 s$/);
    const sent = h.toClient.length;
    h.client(answer(prompt.id, { action: "accept" }));
    assert.deepEqual(h.toServer, [], "a late yes runs nothing");
    assert.equal(h.toClient.length, sent);
  });

  it("a notifications/cancelled for the held call ends the wait: nothing forwarded, no reply, a late yes ignored", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(call("4", "push"));
    const prompt = h.last();
    h.client('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4,"reason":"user stopped"}}\n');
    assert.deepEqual(h.toServer, [], "the server never saw the call, so not its cancellation either");
    const withdrawn = h.last();
    assert.equal(withdrawn.method, "notifications/cancelled");
    assert.equal(withdrawn.params.requestId, prompt.id);
    assert.equal(h.timers[0]!.cancelled, true);
    h.client(answer(prompt.id, { action: "accept" }));
    assert.deepEqual(h.toServer, []);
    assert.equal(h.router.pendingCount, 0);
    assert.equal(h.audit.at(-1)!.approval, "withdrawn");
  });

  it("forwards answers to the server's own requests while a prompt is open", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(call("5", "push"));
    const reply = '{"jsonrpc":"2.0","id":"mcpgate-approval-1","result":{"action":"accept"}}\n';
    h.server('{"jsonrpc":"2.0","id":"mcpgate-approval-1","method":"elicitation/create","params":{}}\n');
    h.client(reply);
    assert.deepEqual(h.toServer, [reply], "a guessable id is the server's, not ours");
  });

  it("an answer from the server to a held id settles nothing", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(call("6", "push"));
    const prompt = h.last();
    h.server('{"jsonrpc":"2.0","id":6,"result":{"content":[]}}\n');
    h.client(answer(prompt.id, { action: "accept" }));
    assert.equal(h.toServer.length, 1, "still forwarded once approved");
    assert.equal(h.router.pendingCount, 1, "and still waiting for the real answer");
  });

  it("'allow for the rest of this session' skips the prompt for identical calls only", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(call("1", "run", '{"command":"git push","flags":{"b":1,"a":2}}'));
    h.client(answer(h.last().id, { action: "accept", content: { allow_for_session: true } }));
    assert.equal(h.toServer.length, 1);
    h.client(call("2", "run", '{"flags":{"a":2,"b":1},"command":"git push"}'));
    assert.equal(h.toServer.length, 2, "same arguments in another key order: no prompt");
    const prompts = h.toClient.filter((line) => line.includes("elicitation/create")).length;
    h.client(call("3", "run", '{"command":"git push --force"}'));
    assert.equal(h.toServer.length, 2, "other arguments are asked about");
    assert.equal(h.toClient.filter((line) => line.includes("elicitation/create")).length, prompts + 1);
  });

  it("re-checks limits when the human says yes: two held calls, room for one", () => {
    const h = harness(POLICY.replace('"2/minute"', '"1/minute"'));
    h.initialize({ elicitation: {} });
    h.client(call("1", "push"));
    const first = h.last().id;
    h.client(call("2", "push"));
    const second = h.last().id;
    h.client(answer(first, { action: "accept" }));
    h.client(answer(second, { action: "accept" }));
    assert.equal(h.toServer.length, 1);
    const reply = h.last();
    assert.equal(reply.id, 2);
    assert.match(reply.result.content[0].text, /pushes need a human \(1 per minute; retry in 60s\)/);
  });

  it("a held call in a batch is answered after the rest, every request exactly once", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(`[${call("1", "echo").trim()},${call("2", "push").trim()},${call("3", "nope").trim()}]\n`);
    assert.deepEqual(h.toServer.map(h.json), [[h.json(call("1", "echo"))]], "the allowed call goes at once");
    const prompt = h.toClient.map(h.json).find((m) => m.method === "elicitation/create")!;
    h.server('[{"jsonrpc":"2.0","id":1,"result":{"content":[]}}]\n');
    h.client(answer(prompt.id, { action: "decline" }));
    const replies = h.toClient.map(h.json).filter((m) => Array.isArray(m)).flat();
    assert.deepEqual(replies.map((r: any) => r.id).sort(), [1, 2, 3]);
  });

  it("a held call sent as a notification is forwarded on yes and dropped on no", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    const line = '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"push","arguments":{}}}\n';
    h.client(line);
    h.client(line);
    const prompts = h.toClient.map(h.json).filter((m) => m.method === "elicitation/create");
    h.client(answer(prompts[0]!.id, { action: "accept" }));
    h.client(answer(prompts[1]!.id, { action: "decline" }));
    assert.deepEqual(h.toServer, [line]);
    assert.equal(h.toClient.length, 2, "no replies to notifications");
  });

  it("the server exiting ends every wait and answers the held request", () => {
    const h = harness();
    h.initialize({ elicitation: {} });
    h.client(call("9", "push"));
    const prompt = h.last();
    h.router.serverExited("exited with code 1");
    const [cancel, error] = h.toClient.slice(-2).map(h.json);
    assert.equal(cancel!.params.requestId, prompt.id);
    assert.equal(error!.id, 9);
    assert.match(error!.error.message, /exited with code 1/);
    h.client(answer(prompt.id, { action: "accept" }));
    assert.deepEqual(h.toServer, []);
  });

  it("--dry-run forwards without asking", () => {
    const h = harness(POLICY, { dryRun: true });
    h.initialize({ elicitation: {} });
    const line = call("1", "push");
    h.client(line);
    assert.deepEqual(h.toServer, [line]);
    assert.deepEqual(h.toClient, []);
  });
});

describe("approval by an approver", () => {
  it("is preferred over elicitation; yes forwards, no denies with its reason", async () => {
    const asked: ApprovalRequest[] = [];
    let verdict: ApprovalAnswer = { approved: true };
    const h = harness(POLICY, {
      approver: async (request) => {
        asked.push(request);
        return verdict;
      },
    });
    h.initialize({ elicitation: {} });
    const line = call("1", "run", '{"command":"git push"}');
    h.client(line);
    await settle();
    assert.deepEqual(h.toServer, [line]);
    assert.deepEqual(asked[0], { tool: "run", args: { command: "git push" }, reason: "git push needs a yes", rule: "tools.run.approve_if[0]" });
    assert.equal(h.toClient.filter((m) => m.includes("elicitation/create")).length, 0);

    verdict = { approved: false, outcome: "declined", reason: "the approver command said no (exit code 1)" };
    h.client(call("2", "push"));
    await settle();
    assert.match(h.last().result.content[0].text, /pushes need a human; the approver command said no \(exit code 1\)$/);
  });

  it("a timeout aborts the approver", async () => {
    let aborted = false;
    const h = harness(POLICY, {
      approver: (_request, signal) =>
        new Promise((resolve) => signal.addEventListener("abort", () => ((aborted = true), resolve({ approved: true })))),
    });
    h.client(call("1", "push"));
    h.timers[0]!.fn();
    await settle();
    assert.equal(aborted, true);
    assert.deepEqual(h.toServer, []);
    assert.match(h.last().result.content[0].text, /nobody answered within 50 s/);
  });
});

describe("the approver command", () => {
  const request: ApprovalRequest = { tool: "run", args: { command: "git push" }, reason: "r", rule: "tools.run" };
  const node = JSON.stringify(process.execPath);

  it("gets the call as JSON on stdin and approves by exiting 0", async () => {
    const script = `let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=JSON.parse(s);process.exit(c.tool==="run"&&c.arguments.command==="git push"?0:3)})`;
    const answer = await commandApprover(`${node} -e ${JSON.stringify(script)}`)(request, new AbortController().signal);
    assert.deepEqual(answer, { approved: true });
  });

  it("denies on any other exit, and when it cannot start", async () => {
    assert.deepEqual(await commandApprover(`${node} -e "process.exit(1)"`)(request, new AbortController().signal), {
      approved: false,
      outcome: "declined",
      reason: "the approver command said no (exit code 1)",
    });
    const missing = await commandApprover("/nonexistent/approver")(request, new AbortController().signal);
    assert.equal(missing.approved, false);
  });

  it("is killed when the question is withdrawn", async () => {
    const controller = new AbortController();
    const pending = commandApprover(`${node} -e "setInterval(()=>{},1000)"`)(request, controller.signal);
    controller.abort();
    const answer = await pending;
    assert.equal(answer.approved, false);
  });
});

describe("approval helpers", () => {
  it("shortens long arguments and says how much was left out", () => {
    const text = shorten({ data: "x".repeat(5_000) });
    assert.ok(text.length < 2_100);
    assert.match(text, /… \(\d+ more characters\)$/);
  });

  it("reads every kind of answer", () => {
    assert.deepEqual(elicitationAnswer({ result: { action: "accept", content: { allow_for_session: true } } }), { approved: true, session: true });
    assert.deepEqual(elicitationAnswer({ result: { action: "accept" } }), { approved: true });
    assert.equal(elicitationAnswer({ result: { action: "maybe" } }).approved, false);
    assert.equal(elicitationAnswer({ result: null }).approved, false);
  });
});
