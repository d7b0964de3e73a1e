// The incremental JSON checker against JSON.parse, on every split of the input into chunks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { scanJson } from "../../src/wire/scan.ts";
import { JsonStream } from "../../src/wire/stream.ts";

/** Feeds `text` in pieces cut at `cuts`; returns the checker after end(). */
function feed(text: string | Buffer, cuts: number[] = []): { ok: boolean; stream: JsonStream } {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const stream = new JsonStream();
  let at = 0;
  let ok = true;
  for (const cut of [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)) {
    ok &&= stream.push(buf.subarray(at, cut));
    at = cut;
  }
  ok &&= stream.push(buf.subarray(at));
  ok &&= stream.end();
  return { ok, stream };
}

const cuts = fc.array(fc.nat(), { maxLength: 8 });

describe("JsonStream", () => {
  it("accepts every JSON value, however it is cut", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), cuts, (value, pretty, at) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        assert.equal(feed(text, at).ok, true, text);
      }),
      { numRuns: 1_000 },
    );
  });

  it("agrees with the line scanner on arbitrary text, cut anywhere", () => {
    // Both check structure, numbers and literals and leave string contents to the peer.
    const alphabet = fc.constantFrom(..."{}[]:,\"\\ 0123-+.eEtruefalsnul\nab".split(""));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }).map((chars) => chars.join("")), cuts, (text, at) => {
        const expected = scanJson(Buffer.from(text)).ok;
        assert.equal(feed(text, at).ok, expected, JSON.stringify(text));
      }),
      { numRuns: 5_000 },
    );
  });

  it("agrees with JSON.parse on mutations of valid JSON without escapes", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.constantFrom(..."{}[]:,\" 0-.eE1tfn".split("")), cuts, (value, where, char, at) => {
        const valid = JSON.stringify(value);
        if (valid.includes("\\")) return;
        const position = where % (valid.length + 1);
        const text = valid.slice(0, position) + char + valid.slice(position);
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        assert.equal(feed(text, at).ok, parses, text);
      }),
      { numRuns: 3_000 },
    );
  });

  it("remembers the top-level keys, id, method, jsonrpc and result.isError", () => {
    const { ok, stream } = feed('{"result":{"content":[{"type":"text","text":"x\\"}"}],"isError":true},"jsonrpc":"2.0","id":12345678901234567890}', [3, 17, 40, 41, 80]);
    assert.equal(ok, true);
    assert.deepEqual(stream.envelope.keys, ["result", "jsonrpc", "id"]);
    assert.equal(stream.envelope.values.get("id"), "12345678901234567890");
    assert.equal(stream.envelope.values.get("jsonrpc"), '"2.0"');
    assert.equal(stream.envelope.resultIsError, true);
    const nested = feed('{"id":"a\\"b","result":{"x":{"isError":true}},"method":"m"}').stream;
    assert.equal(nested.envelope.values.get("id"), '"a\\"b"');
    assert.equal(nested.envelope.resultIsError, false, "only result's own isError counts");
    assert.equal(nested.envelope.values.get("method"), '"m"');
  });

  it("is linear: a deep or long input costs one pass", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    assert.equal(feed(deep).ok, true);
    const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
    big.write('{"result":"', 0);
    big.write('"}', big.length - 2);
    const stream = new JsonStream();
    for (let at = 0; at < big.length; at += 65_536) assert.equal(stream.push(big.subarray(at, at + 65_536)), true);
    assert.equal(stream.end(), true);
  });

  it("reports where the input went wrong", () => {
    const { ok, stream } = feed('{"a":1,}', [4]);
    assert.equal(ok, false);
    assert.equal(stream.error, "expected a string key");
    assert.equal(stream.at, 7);
  });
});
