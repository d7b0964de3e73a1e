// The requestState mcpgate mints for an MRTR round (SPEC §10): authenticated under a key of
// this process, bound to its claims, expiring, and good once. Pure: a clock and a key injected.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { argumentsDigest, RequestStates, type StateClaims } from "../../src/approval/request-state.ts";

const KEY = Buffer.alloc(32, 7);
const CLAIMS: StateClaims = { kind: "approve", tool: "run", digest: "ab".repeat(32), rule: "tools.run" };
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function clocked(start = 1_000) {
  const clock = { t: start };
  return { clock, states: new RequestStates(() => clock.t, KEY) };
}

describe("RequestStates: once, and only while fresh", () => {
  it("opens a minted state once, then says it was used", () => {
    const { states } = clocked();
    const state = states.mint(CLAIMS, 50_000);
    assert.match(state, /^mcpgate1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(states.open(state), { ok: true, claims: CLAIMS });
    assert.deepEqual(states.open(state), { ok: false, why: "used" });
    assert.deepEqual(states.open(state), { ok: false, why: "used" });
  });

  it("mints a different state each time for the same claims, each good once", () => {
    const { states } = clocked();
    const a = states.mint(CLAIMS, 50_000);
    const b = states.mint(CLAIMS, 50_000);
    assert.notEqual(a, b);
    assert.deepEqual(states.open(b), { ok: true, claims: CLAIMS });
    assert.deepEqual(states.open(a), { ok: true, claims: CLAIMS });
  });

  it("is good until the instant it expires, and expired from then on", () => {
    const { clock, states } = clocked(1_000);
    const early = states.mint(CLAIMS, 5_000);
    const late = states.mint(CLAIMS, 5_000);
    clock.t = 5_999;
    assert.deepEqual(states.open(early), { ok: true, claims: CLAIMS });
    clock.t = 6_000;
    assert.deepEqual(states.open(late), { ok: false, why: "expired" });
    // An expired state stays expired (its nonce is forgotten, but expiry is checked first).
    assert.deepEqual(states.open(late), { ok: false, why: "expired" });
    clock.t = 1_000;
    // Back before expiry (a clock that went back), the forgotten nonce no longer works.
    assert.deepEqual(states.open(late), { ok: false, why: "used" });
  });

  it("forgets the oldest outstanding state past 65,536, which then reads as used", () => {
    const { states } = clocked();
    const first = states.mint(CLAIMS, 50_000);
    const second = states.mint(CLAIMS, 50_000);
    for (let i = 2; i < 65_536; i++) states.mint(CLAIMS, 50_000);
    const last = states.mint(CLAIMS, 50_000);
    assert.deepEqual(states.open(first), { ok: false, why: "used" });
    assert.deepEqual(states.open(second), { ok: true, claims: CLAIMS });
    assert.deepEqual(states.open(last), { ok: true, claims: CLAIMS });
  });
});

describe("RequestStates: forged", () => {
  it("refuses what is not a string, or lacks the prefix or a part, as forged", () => {
    const { states } = clocked();
    const state = states.mint(CLAIMS, 50_000);
    const [, body, mac] = state.split(".");
    for (const value of [undefined, null, 5, true, {}, [state], Buffer.from(state), { toString: () => state }])
      assert.deepEqual(states.open(value), { ok: false, why: "forged" }, String(value));
    for (const text of ["", "mcpgate1.", "mcpgate1..", `mcpgate1.${body}`, `mcpgate1.${body}.`, `mcpgate1..${mac}`, `mcpgate2.${body}.${mac}`, `MCPGATE1.${body}.${mac}`, `${body}.${mac}`, `mcpgate1.${body}.${mac}.`, `mcpgate1.${body}.${mac}.x`, ` ${state}`, `${state} `, `${state}=`])
      assert.deepEqual(states.open(text), { ok: false, why: "forged" }, text);
    // None of that used the genuine state up.
    assert.deepEqual(states.open(state), { ok: true, claims: CLAIMS });
  });

  it("refuses a state minted under another key as forged, even with the same claims and clock", () => {
    const clock = () => 0;
    const ours = new RequestStates(clock, KEY);
    const theirs = new RequestStates(clock, Buffer.alloc(32, 8));
    const state = theirs.mint(CLAIMS, 50_000);
    assert.deepEqual(ours.open(state), { ok: false, why: "forged" });
    // And two instances with random keys (two processes) never accept each other's.
    assert.deepEqual(new RequestStates(clock).open(new RequestStates(clock).mint(CLAIMS, 50_000)), { ok: false, why: "forged" });
    assert.deepEqual(theirs.open(state), { ok: true, claims: CLAIMS });
  });

  it("refuses a state with a valid MAC whose body is not JSON as forged", () => {
    const states = new RequestStates(() => 0, KEY);
    const body = Buffer.from("not json").toString("base64url");
    const mac = createHmac("sha256", KEY).update(body).digest("base64url");
    assert.deepEqual(states.open(`mcpgate1.${body}.${mac}`), { ok: false, why: "forged" });
  });

  it("refuses a state with any one character of its body or MAC changed, and the genuine state still opens (property)", () => {
    const { states } = clocked();
    const state = states.mint({ ...CLAIMS, kind: "continue", server: '"srv"' }, 50_000);
    const from = "mcpgate1.".length;
    fc.assert(
      fc.property(fc.integer({ min: from, max: state.length - 1 }), fc.constantFrom(...BASE64URL, "."), (at, replacement) => {
        fc.pre(state[at] !== replacement);
        const altered = `${state.slice(0, at)}${replacement}${state.slice(at + 1)}`;
        assert.deepEqual(states.open(altered), { ok: false, why: "forged" });
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: state.length }), fc.constantFrom(...BASE64URL, "."), (at, inserted) => {
        assert.deepEqual(states.open(`${state.slice(0, at)}${inserted}${state.slice(at)}`), { ok: false, why: "forged" });
        if (at < state.length) assert.deepEqual(states.open(`${state.slice(0, at)}${state.slice(at + 1)}`), { ok: false, why: "forged" });
      }),
      { numRuns: 300 },
    );
    assert.deepEqual(states.open(state), { ok: true, claims: { ...CLAIMS, kind: "continue", server: '"srv"' } });
  });

  it("refuses a body re-sealed with other claims under the old MAC as forged", () => {
    const { states } = clocked();
    const state = states.mint(CLAIMS, 50_000);
    const [, body, mac] = state.split(".");
    const sealed = JSON.parse(Buffer.from(body!, "base64url").toString("utf8")) as Record<string, unknown>;
    for (const change of [{ tool: "other" }, { expires: Number.MAX_SAFE_INTEGER }, { kind: "continue" }, { digest: "00".repeat(32) }]) {
      const forged = Buffer.from(JSON.stringify({ ...sealed, ...change })).toString("base64url");
      assert.deepEqual(states.open(`mcpgate1.${forged}.${mac}`), { ok: false, why: "forged" }, JSON.stringify(change));
    }
    assert.deepEqual(states.open(state), { ok: true, claims: CLAIMS });
  });
});

describe("RequestStates: claims", () => {
  it("round-trips every claim, the server's state as JSON text included, and adds none", () => {
    const { states } = clocked();
    const cases: StateClaims[] = [
      CLAIMS,
      { kind: "continue", tool: "t\u00e9\u{1F600}\"\\", digest: "0".repeat(64), rule: "tools.*.limits[0]" },
      { kind: "continue", tool: "run", digest: CLAIMS.digest, rule: "default", server: '"srv"' },
      { kind: "continue", tool: "run", digest: CLAIMS.digest, rule: "default", server: '{"a":[1,2.50,"\\u00e9"],"b":null}' },
      { kind: "continue", tool: "run", digest: CLAIMS.digest, rule: "default", server: '"sr\\u0076 \\ud83d\\ude00"' },
      { kind: "continue", tool: "run", digest: CLAIMS.digest, rule: "default", server: "" },
    ];
    for (const claims of cases) assert.deepEqual(states.open(states.mint(claims, 1)), { ok: true, claims });
  });

  it("keeps any JSON text of a server state exactly (property)", () => {
    const { states } = clocked();
    fc.assert(
      fc.property(fc.json(), fc.string(), (server, tool) => {
        const claims: StateClaims = { kind: "continue", tool, digest: CLAIMS.digest, rule: "r", server };
        assert.deepEqual(states.open(states.mint(claims, 1)), { ok: true, claims });
      }),
      { numRuns: 200 },
    );
  });

  it("digests the canonical arguments as SHA-256 hex", () => {
    assert.equal(argumentsDigest("{}"), createHash("sha256").update("{}").digest("hex"));
    assert.equal(argumentsDigest("{}"), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    assert.notEqual(argumentsDigest('{"a":1}'), argumentsDigest('{"a":2}'));
  });
});
