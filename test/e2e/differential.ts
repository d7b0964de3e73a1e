// Parser differentials against real peers (one test file per peer): bytes that mcpgate judges one way and a real server
// reads another (bare CR as a line end, Go's case-folding keys, nesting deep enough to crash a
// recursive parser). Each attack has a control that sends the same bytes straight to the peer
// and shows it executes the denied call (for deep nesting: that the peer itself copes), so a
// passing attack test means mcpgate stopped it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { INIT, lines, tempDir, writePolicy } from "./helpers.ts";
import { type Executed, exchange, type Exchanged, executed, gatewayCommand, needs, type Peer, peerCommand, preparePeer } from "./peers.ts";

type PeerName = "python" | "go" | "readline";

const INITIALIZED = '{"jsonrpc":"2.0","method":"notifications/initialized"}';
const LAST = { jsonrpc: "2.0", id: "last", method: "ping" };
const SMUGGLED = '{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"run","arguments":{"command":"id"}}}';
const ALLOW_ECHO = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n';
const RM_DENIED = 'version: "1"\ndefault: deny\ntools:\n  echo: {}\n  run:\n    deny_if:\n      - { path: args.command, op: regex, value: "rm" }\n';
const SHELL_KIND_DENIED = 'version: "1"\ndefault: deny\ntools:\n  echo:\n    deny_if:\n      - { path: args.kind, op: eq, value: "shell" }\n';

interface Outcome extends Exchanged {
  calls: Executed[];
}

/**
 * The attack lines through mcpgate after a proper handshake, then a last ping. The audit log is
 * on, as it is by default, so what it does with the call is exercised too.
 */
async function throughGateway(peer: Peer, policy: string, attack: string[], ids: unknown[]): Promise<Outcome> {
  const scratch = tempDir();
  const record = join(scratch, "record");
  const input = lines(INIT, INITIALIZED, ...attack, LAST);
  const run = await exchange(gatewayCommand(writePolicy(policy), peerCommand(peer), ["--audit", join(scratch, "audit.jsonl")]), input, {
    ids: [0, ...ids, LAST.id],
    settleId: LAST.id,
    env: { RECORD: record },
  });
  return { ...run, calls: executed(record) };
}

/** The same lines straight to the peer: the control that shows the attack is real. */
async function direct(peer: Peer, attack: string[], ids: unknown[]): Promise<Outcome> {
  const record = join(tempDir(), "record");
  const run = await exchange(peerCommand(peer), lines(INIT, INITIALIZED, ...attack, LAST), {
    ids: [0, ...ids, LAST.id],
    settleId: LAST.id,
    env: { RECORD: record },
  });
  return { ...run, calls: executed(record) };
}

/** How a peer records a call it executes with these arguments (Go records its typed struct). */
function recorded(peer: Peer, tool: string, args: Record<string, unknown>): Executed {
  if (peer.name !== "go") return { tool, args };
  const field = (key: string): string => (typeof args[key] === "string" ? (args[key] as string) : "");
  return { tool, args: { command: field("command"), text: field("text"), kind: field("kind") } };
}

function show(outcome: Outcome): string {
  let calls: string;
  try {
    calls = JSON.stringify(outcome.calls).slice(0, 400);
  } catch {
    calls = `${outcome.calls.length} calls, too deep to print`;
  }
  return `executed: ${calls}\nstdout: ${outcome.stdout.slice(0, 600)}\nstderr: ${outcome.stderr.slice(0, 600)}`;
}

/** The server executed only calls that mcpgate judged and allowed: exactly these, nothing else. */
function assertOnly(outcome: Outcome, allowed: Executed[]): void {
  for (const call of outcome.calls) {
    assert.ok(
      allowed.some((judged) => JSON.stringify(judged) === JSON.stringify(call)),
      `the server executed a call mcpgate did not judge: ${JSON.stringify(call).slice(0, 200)}\n${show(outcome)}`,
    );
  }
}

function assertAnswered(outcome: Outcome, ids: unknown[]): void {
  for (const id of ids) assert.ok(outcome.replied.has(JSON.stringify(id)), `the client got no reply for id ${JSON.stringify(id)}\n${show(outcome)}`);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A fresh seed each run, or FC_SEED's to replay one that failed (every failure names its seed). */
const propertySeed = (): number => (process.env.FC_SEED === undefined ? (Math.random() * 2 ** 31) | 0 : Number(process.env.FC_SEED));

const ranRun = (outcome: Outcome): boolean => outcome.calls.some((call) => call.tool === "run");

interface CrLine {
  id: number;
  text: string;
  valid: boolean;
  echo?: Record<string, unknown>;
}

/** Bytes some line reader somewhere takes for a line end (str.splitlines takes all of these). */
const CONTROL_BYTES = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"];

/** Where JSON allows whitespace in these lines: after "{", ":" and "," (no string here has them). */
function boundaries(text: string): number[] {
  return [...text].flatMap((char, index) => ("{:,".includes(char) ? [index + 1] : []));
}

/**
 * A ping or an allowed echo, each carrying a whole denied call as a value, with a bare CR where
 * JSON allows whitespace (half the time) and 0-2 control bytes anywhere inside the line.
 */
const crLine = fc
  .record({
    echo: fc.boolean(),
    cr: fc.option(fc.nat(), { nil: undefined }),
    inserts: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...CONTROL_BYTES)), { maxLength: 2 }),
  })
  .map(({ echo, cr, inserts }) => (id: number): CrLine => {
    const smuggled = { jsonrpc: "2.0", id: 1000 + id, method: "tools/call", params: { name: "run", arguments: { command: `id #${id}` } } };
    const args = { text: `t${id}`, note: smuggled };
    const message = echo
      ? { jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: args } }
      : { jsonrpc: "2.0", id, method: "ping", params: { _meta: { x: smuggled } } };
    let text = JSON.stringify(message);
    if (cr !== undefined) {
      const at = boundaries(text)[cr % boundaries(text).length]!;
      text = `${text.slice(0, at)}\r${text.slice(at)}`;
    }
    for (const [at, byte] of inserts) {
      // Strictly inside: a CR before the first or after the last byte splits off nothing.
      const position = 1 + (at % (text.length - 1));
      text = text.slice(0, position) + byte + text.slice(position);
    }
    return { id, text, valid: isJson(text), echo: echo ? args : undefined };
  });

/** 30 such lines, at least one of them JSON with a bare CR in it (so the control always bites). */
const crBatch = fc
  .array(crLine, { minLength: 30, maxLength: 30 })
  .map((builds) => builds.map((build, index) => build(index + 1)))
  .filter((sent) => sent.some((line) => line.valid && line.text.includes("\r")));

interface FoldedLine {
  id: number;
  text: string;
  /** The arguments of the allowed echo that mcpgate should see, when the line has one. */
  echo?: Record<string, unknown>;
}

/** Spellings of one letter that encoding/json matches to it; ſ and K both raw and escaped. */
function spellings(letter: string): string[] {
  const other = letter === letter.toLowerCase() ? letter.toUpperCase() : letter.toLowerCase();
  const special = letter.toLowerCase() === "s" ? ["\u017f", "\\u017f"] : letter.toLowerCase() === "k" ? ["\u212a", "\\u212a"] : [];
  return [letter, other, ...special];
}

/** A random spelling of `key` as JSON text (without quotes); `changed` forces one that differs. */
function fold(key: string, changed = false): fc.Arbitrary<string> {
  const spelled = fc.tuple(...[...key].map((letter) => fc.constantFrom(...spellings(letter)))).map((parts) => parts.join(""));
  return changed ? spelled.filter((spelling) => spelling !== key) : spelled;
}

const q = (key: string): string => `"${key}"`;

/**
 * A tools/call of the denied `run`, its keys randomly folded: either alone (mcpgate sees no exact
 * key), or as a folded duplicate after the exact benign key (Go keeps the last). "id" is never
 * folded, so every line stays a request the client is owed a reply for.
 */
const foldedLine = fc
  .record({
    template: fc.constantFrom("alone", "method", "params", "name"),
    jsonrpc: fold("jsonrpc"),
    method: fold("method"),
    methodChanged: fold("method", true),
    params: fold("params"),
    paramsChanged: fold("params", true),
    name: fold("name"),
    nameChanged: fold("name", true),
    args: fold("arguments"),
    command: fold("command"),
  })
  .map((f) => (id: number): FoldedLine => {
    const runArgs = `{${q(f.command)}:"id #${id}"}`;
    const head = `{${q(f.jsonrpc)}:"2.0","id":${id}`;
    const echo = { text: `t${id}` };
    switch (f.template) {
      case "alone":
        return { id, text: `${head},${q(f.method)}:"tools/call",${q(f.params)}:{${q(f.name)}:"run",${q(f.args)}:${runArgs}}}` };
      case "method":
        return { id, text: `${head},"method":"ping",${q(f.methodChanged)}:"tools/call",${q(f.params)}:{${q(f.name)}:"run",${q(f.args)}:${runArgs}}}` };
      case "params":
        return {
          id,
          text: `${head},"method":"tools/call","params":{"name":"echo","arguments":${JSON.stringify(echo)}},${q(f.paramsChanged)}:{${q(f.name)}:"run",${q(f.args)}:${runArgs}}}`,
          echo,
        };
      default:
        return { id, text: `${head},"method":"tools/call","params":{"name":"echo",${q(f.nameChanged)}:"run","arguments":${runArgs}}}`, echo: { command: `id #${id}` } };
    }
  });

/**
 * Defines the differential tests against one peer; each peer's run in a test file of its own,
 * so the slow Python peer does not hold up the others and each file has its own time budget.
 */
export async function differentialSuite(name: PeerName): Promise<void> {
  const prepared = await preparePeer(name);
  /** This file's peer, once, if it is one of `names`. */
  const only = (...names: PeerName[]): Peer[] => (names.includes(name) ? [prepared] : []);

  if (name !== "go") describe("bare CR framing: a peer that also ends lines at \\r must not see a smuggled call", () => {
    const attacks: Array<{ name: string; line: string; judged?: Record<string, unknown> }> = [
      { name: "in a string value of a ping", line: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\r${SMUGGLED}\r"}}` },
      { name: "in params._meta of a ping", line: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"x":"\r${SMUGGLED}\r"}}}` },
      { name: "as whitespace between tokens", line: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":\r${SMUGGLED}\r}}` },
      { name: "joining two messages on one line", line: `{"jsonrpc":"2.0","id":1,"method":"ping"}\r${SMUGGLED}` },
      {
        name: "as whitespace inside an allowed echo call",
        line: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","note":\r${SMUGGLED}\r}}}`,
        judged: { text: "hi", note: JSON.parse(SMUGGLED) },
      },
    ];
    for (const peer of only("python", "readline")) {
      describe(`${peer.name} peer`, needs(peer), () => {
        for (const attack of attacks) {
          it(`control: sent straight to the ${peer.name} peer, a call ${attack.name} runs`, async () => {
            const outcome = await direct(peer, [attack.line], [99]);
            assert.ok(ranRun(outcome), `the peer did not run the smuggled call\n${show(outcome)}`);
          });
          // A raw CR inside a string is not JSON: its id cannot be read (JSON-RPC answers such a
          // line with id null), so only a line that is still JSON is owed a reply with id 1.
          const owed = isJson(attack.line) ? [1] : [];
          it(`through mcpgate, a call ${attack.name} never runs${owed.length > 0 ? " and id 1 is answered" : ""}`, async () => {
            const outcome = await throughGateway(peer, ALLOW_ECHO, [attack.line], owed);
            assertOnly(outcome, attack.judged === undefined ? [] : [recorded(peer, "echo", attack.judged)]);
            assertAnswered(outcome, [0, ...owed, LAST.id]);
          });
        }

        const seed = propertySeed();
        const sent = fc.sample(crBatch, { numRuns: 1, seed })[0]!;
        const context = `(seed ${seed}; lines: ${JSON.stringify(sent.map((line) => line.text)).slice(0, 3000)})`;
        // A line with a bare CR that is still JSON is split by the peer, whose pieces cannot be
        // answered: so every such line is owed a reply that only mcpgate can make happen.
        const splitLines = sent.filter((line) => line.valid && line.text.includes("\r"));

        it("control for the property: straight to the peer, no JSON line with a bare CR in it is answered", async () => {
          const outcome = await direct(peer, sent.map((line) => line.text), []);
          const answered = splitLines.filter((line) => outcome.replied.has(String(line.id)));
          assert.deepEqual(answered.map((line) => line.text), [], `the peer answered these ${context}\n${show(outcome)}`);
        });

        it("property: CR and other control bytes anywhere in a ping or an allowed echo smuggle nothing and lose no reply", async () => {
          const outcome = await throughGateway(peer, ALLOW_ECHO, sent.map((line) => line.text), []);
          // Only an echo whose line mcpgate could parse was judged, so only those may run, as sent.
          const judged = sent.filter((line) => line.valid && line.echo !== undefined).map((line) => recorded(peer, "echo", line.echo!));
          assert.doesNotThrow(() => assertOnly(outcome, judged), context);
          // A line that is not JSON has no id to answer; every other one must be answered.
          const ids = sent.filter((line) => line.valid).map((line) => line.id);
          assert.doesNotThrow(() => assertAnswered(outcome, [0, ...ids, LAST.id]), context);
        });
      });
    }
  });

  if (name === "go") describe("Go's key folding: a key mcpgate does not know may be one a Go server decodes", () => {
    const peer = prepared;
    const folded: Array<{ name: string; policy: string; line: string; judged: Executed[]; bad: (call: Executed) => boolean }> = [
      {
        name: '"METHOD" after "method":"ping"',
        policy: ALLOW_ECHO,
        line: '{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call","params":{"name":"run","arguments":{"command":"id"}}}',
        judged: [],
        bad: (call) => call.tool === "run",
      },
      {
        name: '"Name":"run" after "name":"echo"',
        policy: ALLOW_ECHO,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Name":"run","arguments":{"command":"id"}}}',
        judged: [recorded(peer, "echo", { command: "id" })],
        bad: (call) => call.tool === "run",
      },
      {
        name: 'a second "PARAMS"',
        policy: ALLOW_ECHO,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}},"PARAMS":{"name":"run","arguments":{"command":"id"}}}',
        judged: [recorded(peer, "echo", { text: "hi" })],
        bad: (call) => call.tool === "run",
      },
      {
        name: 'a second "param\\u017f" (LONG S, escaped)',
        policy: ALLOW_ECHO,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}},"param\\u017f":{"name":"run","arguments":{"command":"id"}}}',
        judged: [recorded(peer, "echo", { text: "hi" })],
        bad: (call) => call.tool === "run",
      },
      {
        name: 'a second "paramſ" (LONG S, raw UTF-8)',
        policy: ALLOW_ECHO,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}},"param\u017f":{"name":"run","arguments":{"command":"id"}}}',
        judged: [recorded(peer, "echo", { text: "hi" })],
        bad: (call) => call.tool === "run",
      },
      {
        name: '"Command":"rm -rf /" after "command":"ls" (deny_if on args.command)',
        policy: RM_DENIED,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run","arguments":{"command":"ls","Command":"rm -rf /"}}}',
        judged: [recorded(peer, "run", { command: "ls" })],
        bad: (call) => /rm/.test(String(call.args.command)),
      },
      {
        name: 'a second "argument\\u017f" with rm (LONG S, escaped)',
        policy: RM_DENIED,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run","arguments":{"command":"ls"},"argument\\u017f":{"command":"rm -rf /"}}}',
        judged: [recorded(peer, "run", { command: "ls" })],
        bad: (call) => /rm/.test(String(call.args.command)),
      },
      {
        name: 'a second "argumentſ" with rm (LONG S, raw UTF-8)',
        policy: RM_DENIED,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run","arguments":{"command":"ls"},"argument\u017f":{"command":"rm -rf /"}}}',
        judged: [recorded(peer, "run", { command: "ls" })],
        bad: (call) => /rm/.test(String(call.args.command)),
      },
      {
        name: '"\\u212aind":"shell" after "kind":"plain" (KELVIN SIGN, escaped; deny_if on args.kind)',
        policy: SHELL_KIND_DENIED,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","kind":"plain","\\u212aind":"shell"}}}',
        judged: [recorded(peer, "echo", { text: "hi", kind: "plain" })],
        bad: (call) => call.args.kind === "shell",
      },
      {
        name: '"\u212aind":"shell" after "kind":"plain" (KELVIN SIGN, raw UTF-8)',
        policy: SHELL_KIND_DENIED,
        line: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","kind":"plain","\u212aind":"shell"}}}',
        judged: [recorded(peer, "echo", { text: "hi", kind: "plain" })],
        bad: (call) => call.args.kind === "shell",
      },
    ];

    describe("go peer", needs(peer), () => {
      for (const attack of folded) {
        it(`control: sent straight to the go peer, ${attack.name} runs what the policy denies`, async () => {
          const outcome = await direct(peer, [attack.line], [1]);
          assert.ok(outcome.calls.some(attack.bad), `the peer did not run the folded call\n${show(outcome)}`);
        });
        it(`through mcpgate, ${attack.name} never runs and id 1 is answered`, async () => {
          const outcome = await throughGateway(peer, attack.policy, [attack.line], [1]);
          assert.ok(!outcome.calls.some(attack.bad), `the server ran what the policy denies\n${show(outcome)}`);
          assertOnly(outcome, attack.judged);
          assertAnswered(outcome, [0, 1, LAST.id]);
        });
      }

      const seed = propertySeed();
      const sent = fc.sample(foldedLine, { numRuns: 30, seed }).map((build, index) => build(index + 1));
      const context = `(seed ${seed}; lines: ${JSON.stringify(sent.map((line) => line.text)).slice(0, 3000)})`;

      it("control for the property: straight to the go peer, every randomly folded line runs the denied tool", async () => {
        const outcome = await direct(peer, sent.map((line) => line.text), sent.map((line) => line.id));
        const ran = new Set(outcome.calls.filter((call) => call.tool === "run").map((call) => call.args.command));
        assert.deepEqual(
          sent.filter((line) => !ran.has(`id #${line.id}`)).map((line) => line.text),
          [],
          `these lines did not run the denied tool on the peer ${context}\n${show(outcome)}`,
        );
      });

      it("property: random case folding (and ſ, K) of the keys of a call never runs the denied tool", async () => {
        const outcome = await throughGateway(peer, ALLOW_ECHO, sent.map((line) => line.text), []);
        const judged = sent.flatMap((line) => (line.echo === undefined ? [] : [recorded(peer, "echo", line.echo)]));
        assert.doesNotThrow(() => assertOnly(outcome, judged), context);
        assert.doesNotThrow(() => assertAnswered(outcome, [0, ...sent.map((line) => line.id), LAST.id]), context);
      });
    });
  });

  describe("deep nesting: arguments nested 5,000 deep neither crash mcpgate nor lose a reply", () => {
    const depth = 5000;
    const nested = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    const deep = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":${nested}}}`;
    const ping = '{"jsonrpc":"2.0","id":2,"method":"ping"}';
    for (const peer of only("python", "go", "readline")) {
      // The Python SDK's parser stops at its recursion limit and drops the message without a
      // reply (its control shows that), so only the ping after it is owed a reply there.
      const answersDeep = peer.name !== "python";
      describe(`${peer.name} peer`, needs(peer), () => {
        it(`control: straight to the ${peer.name} peer, the deep call ${answersDeep ? "and" : "is dropped but"} the ping after it ${answersDeep ? "are" : "is"} answered`, async () => {
          const outcome = await direct(peer, [deep, ping], [1, 2]);
          assertAnswered(outcome, [2, LAST.id]);
          assert.equal(outcome.replied.has("1"), answersDeep, `reply for the deep call\n${show(outcome)}`);
        });
        it("through mcpgate, the deep echo is answered, then a ping is answered, and nothing but echo runs", async () => {
          const outcome = await throughGateway(peer, ALLOW_ECHO, [deep, ping], answersDeep ? [1, 2] : [2]);
          assert.deepEqual(
            outcome.calls.filter((call) => call.tool !== "echo"),
            [],
            show(outcome),
          );
          assertAnswered(outcome, [0, ...(answersDeep ? [1] : []), 2, LAST.id]);
        });
      });
    }
  });
}
