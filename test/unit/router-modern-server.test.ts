// Protocol 2026-07-28 at the router, the server's side (SPEC §10): a round the server opens for a
// call mcpgate forwarded has its state wrapped in one of mcpgate's, so the client's retry
// continues the judged call — forwarded with the server's state restored, neither judged nor
// counted again. Also tools/list filtering that keeps every other member's bytes, batches that
// carry a retry, and a retry sent as a notification. The router driven directly, no processes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recordingRouter } from "./harness.ts";
import { legacy, meta, modern, retry } from "./modern-lines.ts";

const POLICY = `version: "1"
default: deny
hide: [secret]
tools:
  echo: {}
  secret: {}
  once: { limits: ["1/minute"] }
  ask: { action: approve }
`;

function harness() {
  const clock = { t: 0 };
  const warnings: string[] = [];
  const h = recordingRouter(POLICY, { now: () => clock.t, setTimer: () => () => {}, log: { verbose: false, warn: (message) => warnings.push(message), info: () => {} } });
  const replies = () => h.toClient.map((line) => JSON.parse(line) as Record<string, any>);
  return { ...h, clock, warnings, replies };
}

const REUSED = "the retry's requestState was used already (each works once); call the tool again";
const reusedDenial = (id: number, tool: string) =>
  `{"jsonrpc":"2.0","id":${id},"result":{"isError":true,"content":[{"type":"text","text":${JSON.stringify(`[POLICY DENIED] ${tool}: ${REUSED}`)}}],"_meta":{"mcpgate/decision":{"decision":"deny","tool":"${tool}","rule":"requestState","reason":${JSON.stringify(REUSED)}}},"resultType":"complete"}}\n`;

const INPUT_REQUESTS = '{"q":{"method":"elicitation/create","params":{"mode":"form","message":"Name?","requestedSchema":{"type":"object","properties":{"n":{"type":"string"}}}}}}';
/** The server's input_required result for request `id`; `state` is the JSON text of its requestState, or none. */
const serverRound = (id: number, state?: string) =>
  `{"jsonrpc":"2.0","id":${id},"result":{"resultType":"input_required","inputRequests":${INPUT_REQUESTS}${state === undefined ? "" : `,"requestState":${state}`},"_meta":{"k":1.50}}}\n`;
/** The client's retry of the server's round, carrying `state` (JSON text) and the server's own inputResponses. */
const serverRetry = (id: number, name: string, state: string) =>
  modern(id, name, '{"a":1}', { extra: `,"inputResponses":{"q":{"action":"accept","content":{"n":"x"}}},"requestState":${state}` });

/** The state mcpgate put in the latest line to the client. */
function wrapped(h: { replies(): Record<string, any>[] }): string {
  const state = h.replies().at(-1)!.result.requestState as unknown;
  assert.equal(typeof state, "string");
  assert.match(state as string, /^mcpgate1\./);
  return state as string;
}

describe("Router, 2026-07-28: a round the server opens", () => {
  it("wraps the server's state, restores it exactly on the retry, and neither judges nor counts the continuation again", () => {
    const h = harness();
    h.client(modern(1, "once", '{"a":1}'));
    assert.deepEqual(h.toServer, [modern(1, "once", '{"a":1}')]);
    h.server(serverRound(1, '"srv"'));
    const ours = wrapped(h);
    // Every member of the result keeps its bytes; only the state is ours.
    assert.deepEqual(h.toClient, [serverRound(1, JSON.stringify(ours))]);
    h.clock.t = 1_000;
    h.client(serverRetry(2, "once", JSON.stringify(ours)));
    // The limit (1/minute) is used by call 1, yet its continuation goes through, with the server's state.
    assert.deepEqual(h.toServer.slice(1), [serverRetry(2, "once", '"srv"')]);
    const done = '{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi x"}],"resultType":"complete"}}\n';
    h.server(done);
    assert.equal(h.toClient.at(-1), done);
    // A new call is judged, and the limit holds.
    h.client(modern(3, "once", '{"a":1}'));
    assert.equal(h.toServer.length, 2);
    assert.equal(h.replies().at(-1)!.result._meta["mcpgate/decision"].rule, "tools.once.limits[0]");
  });

  it("restores a server state of any JSON text byte for byte", () => {
    for (const state of ['"s\\u0072v \\ud83d\\ude00"', '{"step":2,"n":1.0e1,"x":[null,true]}', '""']) {
      const h = harness();
      h.client(modern(1, "echo", '{"a":1}'));
      h.server(serverRound(1, state));
      const ours = wrapped(h);
      assert.deepEqual(h.toClient, [serverRound(1, JSON.stringify(ours))], state);
      h.client(serverRetry(2, "echo", JSON.stringify(ours)));
      assert.deepEqual(h.toServer.slice(1), [serverRetry(2, "echo", state)], state);
    }
  });

  it("gives a round without a state one of ours, and forwards the retry with requestState removed", () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    h.server(serverRound(1));
    const ours = wrapped(h);
    assert.deepEqual(h.toClient, [serverRound(1).replace('"_meta":{"k":1.50}}}', `"_meta":{"k":1.50},"requestState":${JSON.stringify(ours)}}}`)]);
    h.client(serverRetry(2, "echo", JSON.stringify(ours)));
    assert.deepEqual(h.toServer.slice(1), [modern(2, "echo", '{"a":1}', { extra: ',"inputResponses":{"q":{"action":"accept","content":{"n":"x"}}}' })]);
  });

  it("denies a continuation state used twice, and one used for another call", () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    h.server(serverRound(1, '"srv"'));
    const first = wrapped(h);
    h.client(modern(2, "echo", '{"a":1}'));
    h.server(serverRound(2, '"srv2"'));
    const second = wrapped(h);
    h.client(serverRetry(3, "echo", JSON.stringify(first)));
    h.client(serverRetry(4, "echo", JSON.stringify(first)));
    h.client(serverRetry(5, "once", JSON.stringify(second)));
    assert.deepEqual(h.toServer.slice(2), [serverRetry(3, "echo", '"srv"')]);
    assert.equal(h.toClient[2], reusedDenial(4, "echo"));
    assert.equal(h.replies()[3]!.result.content[0].text, `[POLICY DENIED] once: the retry's requestState was issued for another call (tool "echo"); call the tool again`);
  });

  it("wraps a second round the server opens on the continuation, bound to the same call", () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    h.server(serverRound(1, '"step1"'));
    h.client(serverRetry(2, "echo", JSON.stringify(wrapped(h))));
    h.server(serverRound(2, '"step2"'));
    const again = wrapped(h);
    assert.equal(h.toClient[1], serverRound(2, JSON.stringify(again)));
    h.client(serverRetry(3, "echo", JSON.stringify(again)));
    assert.deepEqual(h.toServer, [modern(1, "echo", '{"a":1}'), serverRetry(2, "echo", '"step1"'), serverRetry(3, "echo", '"step2"')]);
  });

  it("wraps a round for a call forwarded after mcpgate's own approval round", () => {
    const h = harness();
    h.client(modern(1, "ask", '{"a":1}'));
    h.client(retry(2, "ask", '{"a":1}', h.replies()[0]!.result.requestState));
    h.server(serverRound(2, '"srv"'));
    h.client(serverRetry(3, "ask", JSON.stringify(wrapped(h))));
    assert.deepEqual(h.toServer, [modern(2, "ask", '{"a":1}'), serverRetry(3, "ask", '"srv"')]);
  });

  it("passes through, untouched, an answer that is no round: a legacy call's, an error, a complete result naming input_required", () => {
    const h = harness();
    h.client(legacy(1, "echo"));
    h.client(modern(2, "echo"));
    h.client(modern(3, "echo"));
    h.client(modern(4, "echo"));
    const answers = [
      serverRound(1, '"srv"'),
      '{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"input_required","data":{"resultType":"input_required","requestState":"srv"}}}\n',
      '{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"input_required"}],"resultType":"complete","requestState":"srv"}}\n',
      '{"jsonrpc":"2.0","id":4,"result":{"content":[],"structuredContent":{"resultType":"input_required","requestState":"srv"}}}\n',
    ];
    for (const answer of answers) h.server(answer);
    assert.deepEqual(h.toClient, answers);
  });

  it("wraps a round answered inside a server batch", () => {
    const h = harness();
    h.client(`[${modern(1, "echo", '{"a":1}').trimEnd()},${modern(2, "echo").trimEnd()}]\n`);
    h.server(`[${serverRound(1, '"srv"').trimEnd()},{"jsonrpc":"2.0","id":2,"result":{"content":[],"resultType":"complete"}}]\n`);
    const [batch] = h.replies() as unknown as Record<string, any>[][];
    const ours = batch![0]!.result.requestState as string;
    assert.match(ours, /^mcpgate1\./);
    assert.deepEqual(h.toClient, [`[${serverRound(1, JSON.stringify(ours)).trimEnd()},{"jsonrpc":"2.0","id":2,"result":{"content":[],"resultType":"complete"}}]\n`]);
    h.client(serverRetry(3, "echo", JSON.stringify(ours)));
    assert.deepEqual(h.toServer.slice(1), [serverRetry(3, "echo", '"srv"')]);
  });

  // A server line past the streaming threshold (1 MiB in gateway.ts) is forwarded as it arrives,
  // and answers.ts never sees it whole: a large round (say a sampling request with a long
  // history) reaches the client with the server's own state, and the retry is refused as forged.
  it("wraps a round the server sends as a line long enough to stream", { todo: "server-stream.ts streams a modern call's answer without looking for a round" }, () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    const line = serverRound(1, '"srv"').replace('"Name?"', JSON.stringify("x".repeat(2_000_000)));
    const cut = 1_100_000;
    h.router.serverStreamStart([Buffer.from(line.slice(0, cut))]);
    h.router.serverStreamDone(Buffer.from(line.slice(cut)));
    // Streamed, the line reaches the client in pieces.
    const ours = (JSON.parse(h.toClient.join("")) as Record<string, any>).result.requestState as string;
    assert.match(ours, /^mcpgate1\./);
    h.client(serverRetry(2, "echo", JSON.stringify(ours)));
    assert.deepEqual(h.toServer.slice(1), [serverRetry(2, "echo", '"srv"')]);
  });

  // serverRound() looks for the bytes "input_required" before decoding: a resultType written
  // with an escape is a round to the client, but passes unwrapped, and its retry is refused.
  it("wraps a round whose resultType is written with an escape", () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    h.server(serverRound(1, '"srv"').replace('"input_required"', '"input_\\u0072equired"'));
    const ours = wrapped(h);
    h.client(serverRetry(2, "echo", JSON.stringify(ours)));
    assert.deepEqual(h.toServer.slice(1), [serverRetry(2, "echo", '"srv"')]);
  });

  it("reads a result's resultType and requestState as a JSON.parse client does when a key is repeated: the last one", () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    h.server(serverRound(1, '"first"').replace('"resultType":"input_required"', '"resultType":"complete","resultType":"input_required"').replace('"requestState":"first"', '"requestState":"first","requestState":"srv"'));
    const ours = wrapped(h);
    // Both copies of the state are ours: the client reads ours whichever it takes.
    assert.equal(h.replies().at(-1)!.result.requestState, ours);
    assert.equal(h.toClient.at(-1)!.split(JSON.stringify(ours)).length, 3);
    h.client(serverRetry(2, "echo", JSON.stringify(ours)));
    assert.deepEqual(h.toServer.slice(1), [serverRetry(2, "echo", '"srv"')]);
  });

  it("drops a tools/call notification that carries a requestState, leaving the state unused", () => {
    const h = harness();
    h.client(modern(1, "echo", '{"a":1}'));
    h.server(serverRound(1, '"srv"'));
    const ours = wrapped(h);
    h.client(serverRetry(2, "echo", JSON.stringify(ours)).replace('"id":2,', ""));
    h.client(modern(3, "echo", "{}", { extra: ',"requestState":"srv"' }).replace('"id":3,', ""));
    assert.deepEqual(h.toServer, [modern(1, "echo", '{"a":1}')]);
    assert.equal(h.toClient.length, 1);
    assert.deepEqual(h.warnings, [
      "dropped a tools/call notification for echo that carries a requestState: only a request can continue a round",
      "dropped a tools/call notification for echo that carries a requestState: only a request can continue a round",
    ]);
    h.client(serverRetry(4, "echo", JSON.stringify(ours)));
    assert.deepEqual(h.toServer.slice(1), [serverRetry(4, "echo", '"srv"')]);
  });
});

describe("Router, 2026-07-28: tools/list", () => {
  const list = (id: number, tools: string[]) =>
    `{"jsonrpc":"2.0","id":${id},"result":{"ttlMs":60000,"tools":[${tools.join(",")}],"cacheScope":"session","resultType":"complete","nextCursor":"c\\u0032","_meta":{"k":[1,2.50,"\\u00e9"]}}}\n`;
  const TOOLS = ['{"name":"echo","inputSchema":{"type":"object","properties":{"n":{"type":"number","default":1.0}}}}', '{"name":"secret","inputSchema":{"type":"object"}}', '{"description":"\\u00e9 \\ud83d\\ude00","name":"once"}', '{"name":"secret","title":"again"}'];

  it("removes hidden tools and keeps ttlMs, cacheScope, resultType, nextCursor, _meta and the kept tools' bytes", () => {
    const h = harness();
    h.client(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{${meta()}}}\n`);
    h.server(list(1, TOOLS));
    assert.deepEqual(h.toClient, [list(1, [TOOLS[0]!, TOOLS[2]!])]);
  });

  it("forwards a list with nothing hidden exactly as it came", () => {
    const h = harness();
    h.client(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{${meta()}}}\n`);
    const line = list(1, [TOOLS[0]!, TOOLS[2]!]).replace("[", " [ ").replace(",", " , ");
    h.server(line);
    assert.deepEqual(h.toClient, [line]);
  });

  it("answers a result that holds tools twice with an error, and forwards none of it", () => {
    const h = harness();
    h.client('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    h.server('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}],"resultType":"complete","tools":[{"name":"secret"}]}}\n');
    assert.deepEqual(h.toClient, ['{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"mcpgate: the server\'s tools/list result could not be decoded"}}\n']);
    assert.ok(h.warnings.includes("server's tools/list result could not be decoded; answered with an error so no hidden tool leaks"));
  });
});

describe("Router, 2026-07-28: batches", () => {
  it("forwards a batch of a retry and a plain call as one batch, the retry edited", () => {
    const h = harness();
    h.client(modern(1, "ask", '{"a":1}'));
    const state = h.replies()[0]!.result.requestState as string;
    h.client(`[${retry(2, "ask", '{"a":1}', state).trimEnd()},${legacy(3, "echo").trimEnd()}]\n`);
    assert.deepEqual(h.toServer, [`[${modern(2, "ask", '{"a":1}').trimEnd()},${legacy(3, "echo").trimEnd()}]\n`]);
    h.server('[{"jsonrpc":"2.0","id":2,"result":{"content":[],"resultType":"complete"}},{"jsonrpc":"2.0","id":3,"result":{"content":[]}}]\n');
    assert.equal(h.toClient.length, 2);
    assert.equal(h.router.pendingCount, 0);
  });

  it("answers a round asked in a batch together with the server's answers to the rest", () => {
    const h = harness();
    h.client(`[${modern(1, "ask").trimEnd()},${modern(2, "echo").trimEnd()},${modern(3, "nope").trimEnd()}]\n`);
    assert.deepEqual(h.toServer, [`[${modern(2, "echo").trimEnd()}]\n`]);
    assert.deepEqual(h.toClient, []);
    h.server('[{"jsonrpc":"2.0","id":2,"result":{"content":[],"resultType":"complete"}}]\n');
    const [batch] = h.replies() as unknown as Record<string, any>[][];
    assert.deepEqual(batch!.map((reply) => [reply.id, reply.result.resultType]), [[2, "complete"], [1, "input_required"], [3, "complete"]]);
    // The round asked in the batch is good for a retry outside it.
    h.client(retry(4, "ask", "{}", batch![1]!.result.requestState));
    assert.deepEqual(h.toServer.slice(1), [modern(4, "ask")]);
  });

  it("denies a batch's retry with a bad state and forwards the rest", () => {
    const h = harness();
    h.client(`[${retry(1, "ask", "{}", "mcpgate1.x.y").trimEnd()},${modern(2, "echo").trimEnd()}]\n`);
    assert.deepEqual(h.toServer, [`[${modern(2, "echo").trimEnd()}]\n`]);
    h.server('[{"jsonrpc":"2.0","id":2,"result":{"content":[],"resultType":"complete"}}]\n');
    const [batch] = h.replies() as unknown as Record<string, any>[][];
    assert.deepEqual(batch!.map((reply) => [reply.id, reply.result._meta?.["mcpgate/decision"]?.rule ?? null]), [[2, null], [1, "requestState"]]);
  });
});
