// Which era a request is judged in (SPEC §10): its own _meta when it names a 2026-07-28-era
// revision, else what the client said at initialize. Pure: decoded params in, the era out.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientSession } from "../../src/relay/session.ts";
import { frameOf, isModernRevision } from "../../src/wire/request-frame.ts";
import { scanJson } from "../../src/wire/scan.ts";

const VERSION = "io.modelcontextprotocol/protocolVersion";
const CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";

/** A session whose client sent initialize with these capabilities. */
function initialized(capabilities: unknown): ClientSession {
  const session = new ClientSession();
  const line = Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities, clientInfo: { name: "c", version: "1" } } }));
  const scan = scanJson(line);
  assert.ok(scan.ok);
  session.initialize(line, scan.members);
  return session;
}

const params = (meta?: unknown) => (meta === undefined ? { name: "run", arguments: {} } : { name: "run", arguments: {}, _meta: meta });

describe("ClientSession.eraOf: legacy", () => {
  it("takes elicitation from initialize when the request names no modern revision", () => {
    const withForm = initialized({ elicitation: {} });
    const without = initialized({});
    for (const meta of [undefined, {}, { progressToken: 1 }, null, [], "x", { [VERSION]: "2025-11-25" }, { [VERSION]: "garbage", [CAPABILITIES]: {} }]) {
      assert.deepEqual(withForm.eraOf(frameOf(params(meta))), { modern: false, elicitForm: true }, JSON.stringify(meta));
      assert.deepEqual(without.eraOf(frameOf(params(meta))), { modern: false, elicitForm: false }, JSON.stringify(meta));
    }
    assert.deepEqual(new ClientSession().eraOf(frameOf(params())), { modern: false, elicitForm: false });
  });

  it("ignores the request's capabilities in the legacy era, even when they are malformed or missing", () => {
    const session = initialized({ elicitation: { form: {} } });
    for (const version of ["2025-11-25", "2024-11-05", "garbage", "2026-7-28", "2026-07-28T00:00:00Z", " 2026-07-28", "", 5, 20260728, null, true, ["2026-07-28"], { v: "2026-07-28" }]) {
      for (const capabilities of [undefined, null, [], "x", {}]) {
        const meta = capabilities === undefined ? { [VERSION]: version } : { [VERSION]: version, [CAPABILITIES]: capabilities };
        assert.deepEqual(session.eraOf(frameOf(params(meta))), { modern: false, elicitForm: true }, JSON.stringify(meta));
      }
    }
  });

  it("does not take the protocol version from outside _meta", () => {
    const session = initialized({});
    const frame = frameOf({ name: "run", protocolVersion: "2026-07-28", [VERSION]: "2026-07-28", _meta: { [CAPABILITIES]: { elicitation: {} } } });
    assert.deepEqual(session.eraOf(frame), { modern: false, elicitForm: false });
  });
});

describe("ClientSession.eraOf: modern", () => {
  it("takes the capabilities from the request's _meta, never from initialize", () => {
    const initializedWithForm = initialized({ elicitation: {} });
    const fresh = new ClientSession();
    const cases: Array<[unknown, boolean]> = [
      [{ elicitation: {} }, true],
      [{ elicitation: { form: {} } }, true],
      [{ elicitation: { form: {}, url: {} } }, true],
      [{ elicitation: { url: {} } }, false],
      [{ elicitation: null }, false],
      [{ elicitation: [] }, false],
      [{ elicitation: true }, false],
      [{ sampling: {} }, false],
      [{}, false],
    ];
    for (const version of ["2026-07-28", "2026-07-29", "2099-01-01"]) {
      for (const [capabilities, elicitForm] of cases) {
        const frame = frameOf(params({ [VERSION]: version, [CAPABILITIES]: capabilities }));
        assert.deepEqual(initializedWithForm.eraOf(frame), { modern: true, elicitForm }, `${version} ${JSON.stringify(capabilities)}`);
        assert.deepEqual(fresh.eraOf(frame), { modern: true, elicitForm }, `${version} ${JSON.stringify(capabilities)}`);
      }
    }
  });

  it("names a missing or non-object clientCapabilities as the envelope's problem", () => {
    const session = initialized({ elicitation: {} });
    assert.deepEqual(session.eraOf(frameOf(params({ [VERSION]: "2026-07-28" }))), { key: CAPABILITIES, problem: "missing" });
    assert.deepEqual(session.eraOf(frameOf(params({ [VERSION]: "2099-01-01", "io.modelcontextprotocol/clientcapabilities": {} }))), { key: CAPABILITIES, problem: "missing" });
    for (const capabilities of [null, [], [{ elicitation: {} }], "{}", 5, true])
      assert.deepEqual(session.eraOf(frameOf(params({ [VERSION]: "2026-07-28", [CAPABILITIES]: capabilities }))), { key: CAPABILITIES, problem: "not an object" }, JSON.stringify(capabilities));
    // A member present with the value undefined cannot come off the wire, but is still not an object.
    assert.deepEqual(session.eraOf({ protocolVersion: "2026-07-28", hasCapabilities: true, capabilities: undefined }), { key: CAPABILITIES, problem: "not an object" });
  });
});

describe("isModernRevision", () => {
  it("reads only a date-shaped string from 2026-07-28 on as modern", () => {
    const modern = ["2026-07-28", "2026-07-29", "2026-08-01", "2027-01-01", "2099-01-01", "9999-99-99"];
    const legacy = ["2026-07-27", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "garbage", "", "2026-07-28 ", "2026-07-28\n", "２026-07-28", "2026/07/28", "DRAFT-2026-v1", 5, 20260728, null, undefined, {}, ["2026-07-28"]];
    for (const version of modern) assert.equal(isModernRevision(version), true, JSON.stringify(version));
    for (const version of legacy) assert.equal(isModernRevision(version), false, JSON.stringify(version));
  });
});

describe("frameOf", () => {
  it("reads the retry's members and the envelope from own members only", () => {
    assert.deepEqual(frameOf({ name: "run" }), { hasCapabilities: false });
    assert.deepEqual(frameOf({ name: "run", requestState: "s", inputResponses: { a: 1 }, task: { ttl: 1 }, _meta: { [VERSION]: "2026-07-28", [CAPABILITIES]: {} } }), {
      hasCapabilities: true,
      protocolVersion: "2026-07-28",
      capabilities: {},
      requestState: "s",
      inputResponses: { a: 1 },
      task: { ttl: 1 },
    });
    // A state of null is still a state: present, and not one of mcpgate's.
    assert.deepEqual(frameOf({ name: "run", requestState: null }), { hasCapabilities: false, requestState: null });
    const inherited = Object.create({ requestState: "s", _meta: { [VERSION]: "2026-07-28" } }) as object;
    assert.deepEqual(frameOf(inherited), { hasCapabilities: false });
    const parsed = JSON.parse('{"name":"run","__proto__":{"requestState":"s"},"_meta":{"__proto__":{"x":1}}}') as object;
    assert.deepEqual(frameOf(parsed), { hasCapabilities: false });
  });
});
