// Random interleavings of calls that need approval, answers (accept, decline, cancel, error),
// timeouts, client cancellations and server replies. Properties: (1) a call needing approval
// reaches the server only as the direct effect of a yes, within its limit, byte-identical;
// (2) every request gets exactly one response under its id, except a held call the client
// cancelled, which gets none; (3) no answer to our prompts, and no cancellation of a call it
// never saw, ever reaches the server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { recordingRouter } from "./harness.ts";

const POLICY = `version: "1"
default: deny
tools:
  echo: {}
  push: { action: approve, limits: ["3/minute"] }
approval: { offer_session: false }
`;
const PUSH_LIMIT = 3;

type Step =
  | { kind: "call"; name: "push" | "echo" | "nope"; asNotification: boolean }
  | { kind: "answer"; pick: number; action: "accept" | "decline" | "cancel" | "error" }
  | { kind: "timeout"; pick: number }
  | { kind: "cancel"; pick: number }
  | { kind: "flush" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("call" as const), name: fc.constantFrom("push" as const, "push" as const, "echo" as const, "nope" as const), asNotification: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("answer" as const), pick: fc.nat(), action: fc.constantFrom("accept" as const, "accept" as const, "decline" as const, "cancel" as const, "error" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("timeout" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
);

interface Prompt {
  id: string;
  /** The held call's request id; undefined for a call sent as a notification. */
  callId: number | undefined;
  line: string;
  timer: () => void;
  open: boolean;
}

describe("approval under random traffic (property)", () => {
  it("runs a held call only on a yes, answers every request once, and keeps prompts from the server", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 60, size: "max" }), (steps) => {
        const timers: Array<() => void> = [];
        const { router, toServer: atServer, toClient: atClient } = recordingRouter(POLICY, {
          setTimer: (_ms, fn) => {
            let live = true;
            timers.push(() => live && fn());
            return () => (live = false);
          },
        });
        router.fromClient(Buffer.from('{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"capabilities":{"elicitation":{}}}}\n'));
        router.fromServer(Buffer.from('{"jsonrpc":"2.0","id":"init","result":{}}\n'));
        atServer.length = 0;
        atClient.length = 0;

        let nextId = 1;
        const requests: number[] = [];
        const silenced = new Set<number>();
        const prompts: Prompt[] = [];
        const queued: string[] = [];
        let pushesForwarded = 0;
        const seenByServer = new Set<number>();

        const open = (pick: number): Prompt | undefined => {
          const live = prompts.filter((prompt) => prompt.open);
          return live.length === 0 ? undefined : live[pick % live.length];
        };
        /** Runs `act` and checks what reached the server meanwhile. */
        const observe = (act: () => void, yes: Prompt | undefined): void => {
          const before = atServer.length;
          const clientBefore = atClient.length;
          act();
          for (const line of atServer.slice(before)) {
            assert.ok(!line.includes("mcpgate-approval"), `an answer to our prompt reached the server: ${line}`);
            if (line.includes('"name":"push"')) {
              assert.ok(yes !== undefined, `a push reached the server without a yes: ${line}`);
              assert.equal(line, yes.line, "the server got other bytes than the judged call");
              pushesForwarded++;
            }
            const cancelled = /"requestId":(\d+)/.exec(line)?.[1];
            if (cancelled !== undefined) assert.ok(seenByServer.has(Number(cancelled)), `the server got a cancellation for a call it never saw: ${line}`);
            const id = /"id":(\d+)/.exec(line)?.[1];
            if (id !== undefined) {
              seenByServer.add(Number(id));
              queued.push(`{"jsonrpc":"2.0","id":${id},"result":{"content":[]}}\n`);
            }
          }
          for (const line of atClient.slice(clientBefore)) {
            const message = JSON.parse(line) as { method?: string; id?: string };
            if (message.method === "elicitation/create") {
              const held = lastCall;
              prompts.push({ id: message.id!, callId: held.id, line: held.line, timer: timers.at(-1)!, open: true });
            }
          }
        };
        let lastCall: { id: number | undefined; line: string } = { id: undefined, line: "" };

        for (const entry of steps) {
          if (entry.kind === "call") {
            const id = entry.asNotification ? undefined : nextId++;
            if (id !== undefined) requests.push(id);
            const line = `{"jsonrpc":"2.0",${id === undefined ? "" : `"id":${id},`}"method":"tools/call","params":{"name":"${entry.name}","arguments":{"n":${nextId}}}}\n`;
            lastCall = { id, line };
            observe(() => router.fromClient(Buffer.from(line)), undefined);
          } else if (entry.kind === "answer") {
            const prompt = open(entry.pick);
            if (prompt === undefined) continue;
            prompt.open = false;
            const body = entry.action === "error" ? '"error":{"code":-1,"message":"no"}' : `"result":{"action":"${entry.action}"}`;
            observe(() => router.fromClient(Buffer.from(`{"jsonrpc":"2.0","id":"${prompt.id}",${body}}\n`)), entry.action === "accept" ? prompt : undefined);
          } else if (entry.kind === "timeout") {
            const prompt = open(entry.pick);
            if (prompt === undefined) continue;
            prompt.open = false;
            observe(prompt.timer, undefined);
          } else if (entry.kind === "cancel") {
            const prompt = open(entry.pick);
            if (prompt === undefined || prompt.callId === undefined) continue;
            prompt.open = false;
            silenced.add(prompt.callId);
            observe(() => router.fromClient(Buffer.from(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":${prompt.callId}}}\n`)), undefined);
          } else {
            for (const reply of queued.splice(0)) router.fromServer(Buffer.from(reply));
          }
        }
        // Whatever is still open times out; then the server answers what it got.
        for (const prompt of prompts.filter((p) => p.open)) {
          prompt.open = false;
          observe(prompt.timer, undefined);
        }
        for (const reply of queued.splice(0)) router.fromServer(Buffer.from(reply));

        // (1) Within the limit, whatever the interleaving of yeses.
        assert.ok(pushesForwarded <= PUSH_LIMIT, `${pushesForwarded} pushes forwarded, limit ${PUSH_LIMIT}`);
        // (2) One response per request, none for a held call the client cancelled.
        const responses = atClient
          .map((line) => JSON.parse(line) as { id?: unknown; method?: string })
          .filter((message) => message.method === undefined)
          .map((message) => message.id as number);
        const expected = requests.filter((id) => !silenced.has(id));
        assert.deepEqual([...responses].sort((a, b) => a - b), expected);
        assert.equal(router.heldCount, 0);
        assert.equal(router.pendingCount, 0);
      }),
      { numRuns: 300, seed: Number(process.env.SEED ?? Date.now()), includeErrorInReport: true },
    );
  });
});
