// Random interleavings of requests, calls, notifications, batches and junk through the router,
// with a recording fake server that answers whenever the schedule says so. Three properties:
// (1) every call the server received was allowed by the policy, (2) every client request got
// exactly one response with its own id, (3) every message not acted on arrived byte-identical.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { recordingRouter } from "./harness.ts";
import { Router } from "../../src/relay/router.ts";
import { member } from "../../src/wire/message.ts";
import { scanJson } from "../../src/wire/scan.ts";

const POLICY = 'version: "1"\ndefault: deny\nhide: [secret]\ntools:\n  echo: {}\n  "read_*": {}\n  danger: { action: deny }\n  secret: {}\n';
const ALLOWED = new Set(["echo", "read_file", "read_x"]);
const NAMES = ["echo", "read_file", "read_x", "danger", "secret", "unknown", "__proto__", "constructor"];

type Item =
  | { kind: "request"; method: string; params: string }
  | { kind: "call"; name: string; args: string; duplicate?: string; asNotification: boolean }
  | { kind: "notification"; method: string; params: string }
  | { kind: "batch"; items: Item[] }
  | { kind: "junk"; text: string }
  | { kind: "flush" };

const json = fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value));
const request = fc.record({ kind: fc.constant("request" as const), method: fc.constantFrom("ping", "resources/list", "prompts/get", "tools/list"), params: fc.oneof(fc.constant("{}"), json.map((value) => `{"x":${value}}`)) });
const toolCall = fc.record(
  { kind: fc.constant("call" as const), name: fc.constantFrom(...NAMES), args: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }).map((value) => JSON.stringify(value)), duplicate: fc.option(fc.constantFrom(...NAMES), { nil: undefined }), asNotification: fc.boolean() },
  { requiredKeys: ["kind", "name", "args", "asNotification"] },
);
const notification = fc.record({ kind: fc.constant("notification" as const), method: fc.constantFrom("notifications/initialized", "notifications/cancelled", "notifications/progress"), params: fc.nat(50).map((n) => `{"requestId":${n}}`) });
const junk = fc.string({ minLength: 1, maxLength: 20 }).filter((text) => !text.includes("\n") && text.trim() !== "" && !scanJson(Buffer.from(text)).ok).map((text) => ({ kind: "junk" as const, text }));
const single = fc.oneof(request, toolCall, notification);
const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 3, arbitrary: single },
  { weight: 1, arbitrary: fc.array(single, { minLength: 1, maxLength: 4 }).map((items) => ({ kind: "batch" as const, items })) },
  { weight: 1, arbitrary: junk },
  { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
);

/** Ids of every JSON type a client may use, never repeated within a run. */
function idFor(n: number): string {
  switch (n % 6) {
    case 0:
      return String(n);
    case 1:
      return `"s-${n}"`;
    case 2:
      return `"é\\u00e9${n}"`;
    case 3:
      // The same number as n, spelled otherwise: a reply must still echo these bytes.
      return `${n}.0`;
    case 4:
      return `"a:${n}"`;
    default:
      // Beyond 2^53, and far enough apart to stay distinct as doubles (ids that collide after
      // rounding are refused while one is in flight: see the README).
      return (9007199254740993n + BigInt(n) * 1024n).toString();
  }
}

describe("Router under random traffic (property)", () => {
  it("never forwards a denied call, answers each request once under its id, and keeps bytes it does not act on", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), (items) => {
        const { router, toServer: atServer, toClient: atClient } = recordingRouter(POLICY);
        const queued: Array<{ reply: string; rewritable: boolean }> = [];
        let seen = 0;
        const expectedIds: string[] = [];
        const untouched: string[] = [];
        const serverReplies: string[] = [];

        const render = (entry: Item): string => {
          if (entry.kind === "request") {
            const id = idFor(seen++);
            expectedIds.push(id);
            return `{"jsonrpc":"2.0","id":${id},"method":"${entry.method}","params":${entry.params}}`;
          }
          if (entry.kind === "call") {
            const names = entry.duplicate === undefined ? `"name":"${entry.name}"` : `"name":"${entry.duplicate}","name":"${entry.name}"`;
            const head = entry.asNotification ? "" : `"id":${idFor(seen)},`;
            if (!entry.asNotification) expectedIds.push(idFor(seen++));
            return `{"jsonrpc":"2.0",${head}"method":"tools/call","params":{${names},"arguments":${entry.args}}}`;
          }
          if (entry.kind === "notification") return `{"jsonrpc":"2.0","method":"${entry.method}","params":${entry.params}}`;
          return "";
        };

        // The fake server answers each request it received, in an odd but valid layout that a
        // re-serializing relay would change.
        const answer = (line: string): void => {
          const buf = Buffer.from(line);
          const scan = scanJson(buf);
          if (!scan.ok) return;
          const elements = scan.type === "array" ? scan.members.map((span) => buf.subarray(span.start, span.end)) : [buf];
          const replies: string[] = [];
          // A tools/list result is the one response the gateway rewrites (hidden tools).
          const rewritable = elements.some((element) => element.includes('"method":"tools/list"'));
          for (const element of elements) {
            const inner = scanJson(element);
            assert.ok(inner.ok);
            const id = member(inner.members, "id");
            if (id === undefined) continue;
            replies.push(`{ "result" : {"ok":true,"tools":[{"name":"secret"},{"name":"echo"}]} , "id" : ${element.toString("utf8", id.start, id.end)}, "jsonrpc":"2.0" }`);
          }
          if (replies.length === 0) return;
          queued.push({ reply: scan.type === "array" ? `[${replies.join(" , ")}]\n` : `${replies[0]}\n`, rewritable });
        };
        const flush = (): void => {
          while (queued.length > 0) {
            const { reply, rewritable } = queued.shift()!;
            if (!rewritable) serverReplies.push(reply);
            router.fromServer(Buffer.from(reply));
          }
        };

        for (const entry of items) {
          if (entry.kind === "flush") {
            flush();
            continue;
          }
          let line: string;
          if (entry.kind === "junk") line = entry.text;
          else if (entry.kind === "batch") line = `[${entry.items.map(render).join(",")}]`;
          else line = render(entry);
          // The gateway acts on calls, junk, and cancellations (one for a call it denied is dropped).
          const actedOn = (inner: Item): boolean => inner.kind === "call" || inner.kind === "junk" || (inner.kind === "notification" && inner.method === "notifications/cancelled");
          const actsOn = actedOn(entry) || (entry.kind === "batch" && entry.items.some(actedOn));
          if (!actsOn) untouched.push(`${line}\n`);
          const before = atServer.length;
          router.fromClient(Buffer.from(`${line}\n`));
          for (const sent of atServer.slice(before)) answer(sent);
        }
        flush();

        // (1) Every call the server received was allowed.
        for (const line of atServer) {
          const messages = ([] as Array<{ method?: string; params?: { name?: string } }>).concat(JSON.parse(line) as never);
          for (const message of messages) {
            if (message.method === "tools/call") assert.ok(ALLOWED.has(message.params!.name!), `server received a call to ${message.params!.name}`);
          }
        }
        // (2) Every request got exactly one response with its own id.
        const responseIds: string[] = [];
        for (const line of atClient) {
          const buf = Buffer.from(line.trimEnd());
          const scan = scanJson(buf);
          assert.ok(scan.ok, line);
          const elements = scan.type === "array" ? scan.members.map((span) => buf.subarray(span.start, span.end)) : [buf];
          for (const element of elements) {
            const inner = scanJson(element);
            assert.ok(inner.ok);
            const id = member(inner.members, "id")!;
            const raw = element.toString("utf8", id.start, id.end);
            if (raw !== "null") responseIds.push(raw);
          }
        }
        assert.deepEqual([...responseIds].sort(), [...expectedIds].sort());
        // (3) What the gateway did not act on arrived byte-identical, both ways.
        for (const line of untouched) assert.ok(atServer.includes(line), `not forwarded as sent: ${line}`);
        for (const reply of serverReplies) {
          if (!reply.startsWith("[")) assert.ok(atClient.includes(reply), `server reply changed: ${reply}`);
        }
      }),
      { numRuns: 300, seed: Number(process.env.SEED ?? Date.now()), includeErrorInReport: true },
    );
  });
});
