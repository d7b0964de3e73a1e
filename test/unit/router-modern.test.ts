// Protocol 2026-07-28 at the router (SPEC §10): a tools/call is judged in the era its own _meta
// names; mcpgate's answers carry resultType "complete"; a call that needs a human gets an
// input_required round of mcpgate's, and the client's retry is checked against the state it
// minted. The router driven directly, no processes; time and timers injected.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ApprovalAnswer } from "../../src/approval/answer.ts";
import type { AuditEvent } from "../../src/audit/log.ts";
import { recordingRouter } from "./harness.ts";
import { ACCEPT, legacy, meta, modern, retry } from "./modern-lines.ts";

const POLICY = `version: "1"
default: deny
hide: [secret]
approval: { timeout: 30s }
tools:
  echo: {}
  secret: {}
  once: { limits: ["1/minute"] }
  ask: { action: approve }
  also: { action: approve }
  askonce: { action: approve, limits: ["1/minute"] }
`;

const NO_CHANNEL = "tools.ask requires a human's approval: a human's approval is required, and no approval channel exists (the client does not support elicitation and no --approver is set)";
const REASONS = {
  forged: "the retry's requestState was not issued by this mcpgate (forged, altered, or from an earlier run); call the tool again",
  expired: "the retry's requestState has expired; call the tool again",
  reused: "the retry's requestState was used already (each works once); call the tool again",
};

interface Timer {
  ms: number;
  fire(): void;
  cancelled: boolean;
}

function harness(options: { approver?: () => Promise<ApprovalAnswer> } = {}, policy = POLICY) {
  const clock = { t: 0 };
  const timers: Timer[] = [];
  const warnings: string[] = [];
  const events: AuditEvent[] = [];
  const h = recordingRouter(policy, {
    ...options,
    now: () => clock.t,
    setTimer: (ms, fn) => {
      const timer: Timer = { ms, fire: fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    audit: { path: undefined, enabled: true, write: (event) => events.push(event), close: async () => {} },
    log: { verbose: false, warn: (message) => warnings.push(message), info: () => {} },
  });
  const replies = () => h.toClient.map((line) => JSON.parse(line) as Record<string, any>);
  /** The requestState of mcpgate's round in the latest reply. */
  const lastState = (): string => {
    const result = replies().at(-1)!.result;
    assert.equal(result.resultType, "input_required", JSON.stringify(result));
    return result.requestState as string;
  };
  return { ...h, clock, timers, warnings, events, replies, lastState };
}

/** The denial a modern call gets, exactly, for `tool` under `rule` for `reason`. */
const modernDenial = (id: number, tool: string, rule: string, reason: string, extra = "") =>
  `{"jsonrpc":"2.0","id":${id},"result":{"isError":true,"content":[{"type":"text","text":${JSON.stringify(`[POLICY DENIED] ${tool}: ${reason}`)}}],"_meta":{"mcpgate/decision":{"decision":"deny","tool":"${tool}","rule":"${rule}","reason":${JSON.stringify(reason)}${extra}}},"resultType":"complete"}}\n`;

describe("Router, 2026-07-28: mcpgate's own answers", () => {
  it("denies with resultType complete and the legacy denial's text and _meta decision; legacy has no resultType", () => {
    const h = harness();
    h.client(legacy(1, "nope"));
    h.client(modern(2, "nope"));
    h.client(legacy(3, "secret"));
    h.client(modern(4, "secret"));
    assert.deepEqual(h.toServer, []);
    const [legacyNope, modernNope, legacyHidden, modernHidden] = h.replies();
    assert.equal(Object.hasOwn(legacyNope!.result, "resultType"), false);
    assert.equal(Object.hasOwn(legacyHidden!.result, "resultType"), false);
    assert.deepEqual(modernNope!.result, { ...legacyNope!.result, resultType: "complete" });
    assert.deepEqual(modernHidden!.result, { ...legacyHidden!.result, resultType: "complete" });
    assert.equal(h.toClient[1], modernDenial(2, "nope", "default", "not allowed by policy (no entry for this tool; default: deny)"));
    assert.equal(modernHidden!.result._meta["mcpgate/decision"].rule, "hide[0]");
  });

  it("says when to retry in a rate-limit denial", () => {
    const h = harness();
    h.client(modern(1, "once"));
    h.clock.t = 20_000;
    h.client(modern(2, "once"));
    assert.deepEqual(h.toServer, [modern(1, "once")]);
    assert.deepEqual(h.toClient, [modernDenial(2, "once", "tools.once.limits[0]", "rate limit reached (1 per minute; retry in 40s)", ',"retryAfterMs":40000')]);
  });

  it("judges each request by its own _meta: a later legacy call gets a legacy denial", () => {
    const h = harness();
    h.client(modern(1, "nope"));
    h.client(legacy(2, "nope"));
    h.client(modern(3, "nope", "{}", { capabilities: "{}" }));
    assert.deepEqual(h.replies().map((reply) => reply.result.resultType), ["complete", undefined, "complete"]);
  });

  it("answers a modern call whose _meta lacks clientCapabilities, or has a non-object, with -32602, and sends the server nothing", () => {
    const h = harness();
    h.client(modern(1, "echo", "{}", { capabilities: null }));
    h.client(modern(2, "echo", "{}", { capabilities: "null" }));
    h.client(modern(3, "ask", "{}", { capabilities: "[]" }));
    // A notification with the same fault is dropped: there is no id to answer under.
    h.client(modern(4, "echo", "{}", { capabilities: null }).replace('"id":4,', ""));
    assert.deepEqual(h.toServer, []);
    assert.deepEqual(h.toClient, [
      '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid _meta envelope for protocol revision 2026-07-28: io.modelcontextprotocol/clientCapabilities: missing","data":{"envelope":{"key":"io.modelcontextprotocol/clientCapabilities","problem":"missing"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}\n',
      '{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid _meta envelope for protocol revision 2026-07-28: io.modelcontextprotocol/clientCapabilities: not an object","data":{"envelope":{"key":"io.modelcontextprotocol/clientCapabilities","problem":"not an object"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}\n',
      '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid _meta envelope for protocol revision 2026-07-28: io.modelcontextprotocol/clientCapabilities: not an object","data":{"envelope":{"key":"io.modelcontextprotocol/clientCapabilities","problem":"not an object"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}\n',
    ]);
    for (const reply of h.replies()) assert.ok(reply.error.message.startsWith("Invalid _meta envelope"));
    assert.equal(h.router.pendingCount, 0);
  });

  it("forwards an allowed modern call exactly as received", () => {
    const h = harness();
    const line = ` {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"n":1.50,"s":"\\u0041"},${meta()}}}\r\n`;
    h.client(line);
    assert.deepEqual(h.toServer, [line]);
    assert.deepEqual(h.toClient, []);
  });
});

describe("Router, 2026-07-28: mcpgate's approval round", () => {
  it("answers a call that needs a human with an input_required round: one form elicitation and a state; nothing to the server", () => {
    const h = harness();
    h.client(modern(1, "ask", '{"x":1}'));
    assert.deepEqual(h.toServer, []);
    assert.equal(h.router.pendingCount, 0);
    assert.equal(h.router.heldCount, 0);
    const [reply] = h.replies();
    assert.equal(reply!.id, 1);
    const { result } = reply!;
    assert.deepEqual(Object.keys(result), ["resultType", "inputRequests", "requestState"]);
    assert.equal(result.resultType, "input_required");
    assert.match(result.requestState, /^mcpgate1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(Object.keys(result.inputRequests), ["mcpgate_approval"]);
    assert.deepEqual(result.inputRequests.mcpgate_approval, {
      method: "elicitation/create",
      params: {
        mode: "form",
        message: [
          'mcpgate: the agent wants to call the tool "ask". Allow it?',
          "Why you are asked: tools.ask requires a human's approval",
          'Arguments: {\n  "x": 1\n}',
          "Accept to run it once; decline to deny it. No answer in 30 s denies it.",
        ].join("\n"),
        requestedSchema: {
          type: "object",
          properties: {
            allow_for_session: {
              type: "boolean",
              title: "Also allow identical calls for the rest of this session",
              description: "Calls to ask with exactly these arguments will not ask again until the client disconnects.",
              default: false,
            },
          },
        },
      },
    });
    // The round's expiry is timed: it is recorded as unanswered if no retry comes.
    assert.deepEqual(h.timers.map((timer) => [timer.ms, timer.cancelled]), [[30_000, false]]);
    assert.deepEqual(h.events, []);
  });

  it("consumes no counter for a round: two rounds for a call limited to 1/minute are both asked", () => {
    const h = harness();
    h.client(modern(1, "askonce"));
    h.client(modern(2, "askonce"));
    assert.deepEqual(h.replies().map((reply) => reply.result.resultType), ["input_required", "input_required"]);
    assert.deepEqual(h.toServer, []);
  });

  it("denies for want of a channel when the request's capabilities lack elicitation, whatever initialize said", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"c","version":"1"}}}\n');
    h.client(modern(1, "ask", "{}", { capabilities: "{}" }));
    h.client(modern(2, "ask", "{}", { capabilities: '{"elicitation":{"url":{}}}' }));
    assert.equal(h.toServer.length, 1, "only initialize");
    assert.deepEqual(h.toClient, [modernDenial(1, "ask", "tools.ask", NO_CHANNEL), modernDenial(2, "ask", "tools.ask", NO_CHANNEL)]);
    assert.deepEqual(h.timers, []);
  });

  it("drops a modern tools/call notification that needs a human: a round needs a request to answer", () => {
    const h = harness();
    h.client(modern(1, "ask").replace('"id":1,', ""));
    h.client(modern(2, "echo").replace('"id":2,', ""));
    assert.deepEqual(h.toServer, [modern(2, "echo").replace('"id":2,', "")]);
    assert.deepEqual(h.toClient, []);
    assert.deepEqual(h.events.map((event) => [event.tool, event.decision, event.reason]), [["ask", "deny", NO_CHANNEL]]);
  });

  it("forwards an accepted retry without inputResponses and requestState, every other byte as sent, and consumes the limit once", () => {
    const h = harness();
    h.client(modern(1, "askonce", '{"x":1}'));
    const first = h.lastState();
    h.client(modern(2, "askonce", '{"x":1}'));
    const second = h.lastState();
    h.clock.t = 5_000;
    h.client(retry(3, "askonce", '{"x":1}', first));
    assert.deepEqual(h.toServer, [modern(3, "askonce", '{"x":1}')]);
    assert.equal(h.router.pendingCount, 1);
    assert.equal(h.timers[0]!.cancelled, true, "the answered round's expiry is called off");
    // The limit is used now: the second round's yes comes too late, and a new call is denied outright.
    h.client(retry(4, "askonce", '{"x":1}', second));
    h.client(modern(5, "askonce", '{"x":1}'));
    assert.deepEqual(h.toServer, [modern(3, "askonce", '{"x":1}')]);
    assert.deepEqual(h.toClient.slice(2), [
      modernDenial(4, "askonce", "tools.askonce.limits[0]", "rate limit reached (1 per minute; retry in 60s)", ',"retryAfterMs":60000'),
      modernDenial(5, "askonce", "tools.askonce.limits[0]", "rate limit reached (1 per minute; retry in 60s)", ',"retryAfterMs":60000'),
    ]);
    // The server's answer to the forwarded retry reaches the client as it is, and completes its record.
    h.clock.t = 5_250;
    const answer = '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"ran"}],"resultType":"complete"}}\n';
    h.server(answer);
    assert.equal(h.toClient.at(-1), answer);
    assert.deepEqual(
      h.events.map((event) => [event.tool, event.decision, event.rule, event.approval, event.duration_ms]),
      [
        ["askonce", "deny", "tools.askonce.limits[0]", "accepted", undefined],
        ["askonce", "deny", "tools.askonce.limits[0]", undefined, undefined],
        ["askonce", "allow", "tools.askonce", "accepted", 250],
      ],
    );
  });

  it("matches the retry by its canonical arguments, and forwards the retry's own bytes", () => {
    const h = harness();
    h.client(modern(1, "ask", '{"x":1,"y":[2,"z"]}'));
    const state = h.lastState();
    h.client(retry(2, "ask", '{ "y" : [2, "\\u007a"], "x":1 }', state));
    assert.deepEqual(h.toServer, [modern(2, "ask", '{ "y" : [2, "\\u007a"], "x":1 }')]);
  });

  it("keeps every byte outside params and every value's bytes when the round's members sit anywhere in params", () => {
    const h = harness();
    h.client(modern(1, "ask", '{"x":1}'));
    const state = h.lastState();
    const line = ` { "jsonrpc" : "2.0", "id" : 2, "method":"tools/call", "params" : {"requestState":"${state}","name":"ask","inputResponses":{"mcpgate_approval":${ACCEPT}},"arguments":{ "x" : 1 },${meta()}} } \r\n`;
    h.client(line);
    assert.deepEqual(h.toServer, [` { "jsonrpc" : "2.0", "id" : 2, "method":"tools/call", "params" : {"name":"ask","arguments":{ "x" : 1 },${meta()}} } \r\n`]);
  });

  it("denies a declined, cancelled or unanswered retry, saying which, and forwards nothing", () => {
    const h = harness();
    const states: string[] = [];
    for (const id of [1, 2, 3, 4]) {
      h.client(modern(id, "ask"));
      states.push(h.lastState());
    }
    h.client(retry(11, "ask", "{}", states[0], '{"action":"decline"}'));
    h.client(retry(12, "ask", "{}", states[1], '{"action":"cancel"}'));
    h.client(modern(13, "ask", "{}", { extra: `,"requestState":"${states[2]}"` }));
    h.client(retry(14, "ask", "{}", states[3], '{"action":"maybe"}'));
    assert.deepEqual(h.toServer, []);
    const base = "tools.ask requires a human's approval";
    assert.deepEqual(h.toClient.slice(4), [
      modernDenial(11, "ask", "tools.ask", `${base}; a human declined it`),
      modernDenial(12, "ask", "tools.ask", `${base}; the approval prompt was dismissed without an answer`),
      modernDenial(13, "ask", "tools.ask", `${base}; the retry carried no answer to the approval request (inputResponses.mcpgate_approval)`),
      modernDenial(14, "ask", "tools.ask", `${base}; the client's answer to the approval prompt was not understood (action "maybe")`),
    ]);
    assert.deepEqual(h.events.map((event) => event.approval), ["declined", "cancelled", "error", "error"]);
  });

  it("denies a retry whose state is forged, expired, reused or for another call, saying which, and forwards nothing", () => {
    const h = harness();
    const other = harness();
    other.client(modern(1, "ask"));
    const foreign = other.lastState();
    const states: string[] = [];
    for (const id of [1, 2, 3, 4, 5]) {
      h.client(modern(id, "ask", '{"x":1}'));
      states.push(h.lastState());
    }
    const [used, forArgs, forTool, forEcho, late] = states as [string, string, string, string, string];
    h.client(retry(10, "ask", '{"x":1}', used));
    assert.deepEqual(h.toServer, [modern(10, "ask", '{"x":1}')]);
    const altered = `${used.slice(0, -1)}${used.endsWith("A") ? "B" : "A"}`;
    h.client(retry(11, "ask", '{"x":1}', used));
    h.client(retry(12, "ask", '{"x":1}', foreign));
    h.client(retry(13, "ask", '{"x":1}', altered));
    h.client(retry(14, "ask", '{"x":1}', "srv"));
    h.client(retry(15, "ask", '{"x":1}', { state: used }));
    h.client(retry(16, "ask", '{"x":2}', forArgs));
    h.client(retry(17, "also", '{"x":1}', forTool));
    h.client(retry(18, "echo", '{"x":1}', forEcho));
    h.clock.t = 30_000;
    h.client(retry(19, "ask", '{"x":1}', late));
    assert.deepEqual(h.toServer, [modern(10, "ask", '{"x":1}')]);
    const denial = (id: number, tool: string, reason: string) => modernDenial(id, tool, "requestState", reason);
    assert.deepEqual(h.toClient.slice(5), [
      denial(11, "ask", REASONS.reused),
      denial(12, "ask", REASONS.forged),
      denial(13, "ask", REASONS.forged),
      denial(14, "ask", REASONS.forged),
      denial(15, "ask", REASONS.forged),
      denial(16, "ask", "the retry's requestState was issued for another call (other arguments); call the tool again"),
      denial(17, "also", 'the retry\'s requestState was issued for another call (tool "ask"); call the tool again'),
      denial(18, "echo", 'the retry\'s requestState was issued for another call (tool "ask"); call the tool again'),
      denial(19, "ask", REASONS.expired),
    ]);
    assert.deepEqual(
      h.events.filter((event) => event.decision === "deny").map((event) => [event.tool, event.rule, event.approval]),
      [
        ["ask", "requestState", "reused"],
        ["ask", "requestState", "forged"],
        ["ask", "requestState", "forged"],
        ["ask", "requestState", "forged"],
        ["ask", "requestState", "forged"],
        ["ask", "requestState", "mismatch"],
        ["also", "requestState", "mismatch"],
        ["echo", "requestState", "mismatch"],
        ["ask", "requestState", "expired"],
      ],
    );
  });

  it("answers a legacy-era retry's refusal without resultType", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":{},"requestState":"mcpgate1.x.y"}}\n');
    assert.deepEqual(h.toServer, []);
    assert.equal(Object.hasOwn(h.replies()[0]!.result, "resultType"), false);
    assert.equal(h.replies()[0]!.result.content[0].text, `[POLICY DENIED] ask: ${REASONS.forged}`);
  });

  it("records a round nobody retried as denied when its time is up", () => {
    const h = harness();
    h.client(modern(1, "ask"));
    h.timers[0]!.fire();
    assert.deepEqual(h.events, [
      {
        event: "call",
        tool: "ask",
        decision: "deny",
        rule: "tools.ask",
        reason: "tools.ask requires a human's approval; nobody answered within 30 s (the client never retried the call)",
        approval: "timeout",
        args_sha256: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      },
    ]);
    assert.ok(h.warnings.includes("ask: an approval round expired unanswered [tools.ask]"));
  });

  it("forwards the next identical call without a round once a human allowed it for the session", () => {
    const h = harness();
    h.client(modern(1, "ask", '{"x":1}'));
    h.client(retry(2, "ask", '{"x":1}', h.lastState(), '{"action":"accept","content":{"allow_for_session":true}}'));
    h.client(modern(3, "ask", '{"x":1}'));
    h.client(modern(4, "ask", '{ "x" : 1 }'));
    h.client(modern(5, "ask", '{"x":2}'));
    h.client(modern(6, "also", '{"x":1}'));
    assert.deepEqual(h.toServer, [modern(2, "ask", '{"x":1}'), modern(3, "ask", '{"x":1}'), modern(4, "ask", '{ "x" : 1 }')]);
    assert.deepEqual(h.replies().slice(1).map((reply) => [reply.id, reply.result.resultType]), [[5, "input_required"], [6, "input_required"]]);
    assert.ok(h.warnings.includes("a human approved ask [tools.ask], and identical calls for the rest of this session"));
  });

  it("adds no session allowance when the policy does not offer one, whatever the answer says", () => {
    const h = harness({}, POLICY.replace("approval: { timeout: 30s }", "approval: { timeout: 30s, offer_session: false }"));
    h.client(modern(1, "ask", '{"x":1}'));
    const round = h.replies().at(-1)!.result;
    assert.deepEqual(round.inputRequests.mcpgate_approval.params.requestedSchema, { type: "object", properties: {} });
    h.client(retry(2, "ask", '{"x":1}', h.lastState(), '{"action":"accept","content":{"allow_for_session":true}}'));
    h.client(modern(3, "ask", '{"x":1}'));
    assert.deepEqual(h.toServer, [modern(2, "ask", '{"x":1}')]);
    assert.equal(h.replies().at(-1)!.result.resultType, "input_required", "the identical call is asked about again");
    assert.ok(h.warnings.includes("a human approved ask [tools.ask]"));
  });

  it("adds no session allowance in the 2025 era either when the policy does not offer one", () => {
    const h = harness({}, POLICY.replace("approval: { timeout: 30s }", "approval: { timeout: 30s, offer_session: false }"));
    h.client('{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"form":{}}},"clientInfo":{"name":"t","version":"1"}}}\n');
    h.client(legacy(1, "ask", '{"x":1}'));
    const prompt = h.replies().at(-1)!;
    assert.equal(prompt.method, "elicitation/create");
    h.client(`{"jsonrpc":"2.0","id":${JSON.stringify(prompt.id)},"result":{"action":"accept","content":{"allow_for_session":true}}}\n`);
    h.client(legacy(2, "ask", '{"x":1}'));
    assert.deepEqual(h.toServer.slice(1), [legacy(1, "ask", '{"x":1}')]);
    assert.equal(h.replies().at(-1)!.method, "elicitation/create", "the identical call is asked about again");
  });

  it("asks the --approver, not the client, in the modern era too, and its denial carries resultType complete", async () => {
    const answers: Array<(answer: ApprovalAnswer) => void> = [];
    const h = harness({ approver: () => new Promise((resolve) => answers.push(resolve)) });
    h.client(modern(1, "ask"));
    h.client(modern(2, "ask", '{"x":2}'));
    assert.equal(h.router.heldCount, 2);
    assert.deepEqual(h.toClient, []);
    answers[0]!({ approved: true });
    answers[1]!({ approved: false, outcome: "declined", reason: "a human declined it" });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.toServer, [modern(1, "ask")]);
    assert.deepEqual(h.toClient, [modernDenial(2, "ask", "tools.ask", "tools.ask requires a human's approval; a human declined it")]);
  });
});
