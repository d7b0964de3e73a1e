import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { scanJson } from "../../src/wire/scan.ts";

const valid = [
  "{}", "[]", "0", "-0.5e+10", '"a"', "true", "false", "null",
  ' { "a" : [ 1 , { "b" : null } ] , "c" : "\\"}" } ',
  '{"id":12345678901234567890123456789}',
  '{"s":"\\\\"}', '{"s":"\\\\\\""}', '{"é":"👋"}',
];
const invalid = [
  "", " ", "{", "}", "[1,]", "{,}", '{"a":1,}', '{"a" 1}', "{a:1}", "'a'", "01", "1.", ".5", "-", "1e", "tru", "nul",
  "NaN", "[1 2]", '{"a":1}{"b":2}', '{"a":1} x', '"abc', '{"s":"\\"}', "[", "[[]", '{"a":[}', "/* c */ {}",
];

describe("scanJson", () => {
  it("accepts what JSON.parse accepts and rejects what it rejects (corpus)", () => {
    for (const text of valid) assert.equal(scanJson(Buffer.from(text)).ok, true, text);
    for (const text of invalid) assert.equal(scanJson(Buffer.from(text)).ok, false, text);
  });

  it("agrees with JSON.parse on any JSON value, and its member spans decode to the members (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const text = JSON.stringify(object);
        const buf = Buffer.from(text);
        const scan = scanJson(buf);
        assert.ok(scan.ok);
        const rebuilt = Object.fromEntries(scan.members.map((span) => [span.key, JSON.parse(buf.toString("utf8", span.start, span.end))]));
        assert.deepEqual(rebuilt, JSON.parse(text));
      }),
    );
  });

  it("rejects any truncation of a valid document (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), (object, at) => {
        const text = JSON.stringify(object);
        const cut = at % text.length;
        assert.equal(scanJson(Buffer.from(text.slice(0, cut))).ok, false);
      }),
    );
  });

  it("gives array elements as spans", () => {
    const buf = Buffer.from('[{"a":1}, 2 ,"x"]');
    const scan = scanJson(buf);
    assert.ok(scan.ok && scan.type === "array");
    assert.deepEqual(scan.members.map((span) => buf.toString("utf8", span.start, span.end)), ['{"a":1}', "2", '"x"']);
  });

  it("decodes escaped keys, so \\u006dethod is the key method", () => {
    const scan = scanJson(Buffer.from('{"\\u006dethod":"x"}'));
    assert.ok(scan.ok);
    assert.equal(scan.members[0]!.key, "method");
  });

  it("finds duplicate keys at any depth when asked, including escaped spellings", () => {
    const deep = scanJson(Buffer.from('{"params":{"name":"a","n\\u0061me":"b"}}'), { duplicates: true });
    assert.ok(deep.ok);
    assert.equal(deep.duplicateKey, "name");
    const none = scanJson(Buffer.from('{"a":{"x":1},"b":{"x":1}}'), { duplicates: true });
    assert.ok(none.ok);
    assert.equal(none.duplicateKey, undefined);
  });

  it("survives hostile nesting without recursion", () => {
    const depth = 1_000_000;
    const buf = Buffer.from("[".repeat(depth) + "]".repeat(depth));
    assert.equal(scanJson(buf).ok, true);
    assert.equal(scanJson(Buffer.from("[".repeat(depth))).ok, false);
  });

  it("scans a sub-range of a buffer", () => {
    const buf = Buffer.from('xx{"a":1}yy');
    const scan = scanJson(buf, {}, 2, 9);
    assert.ok(scan.ok);
    assert.equal(scan.members[0]!.key, "a");
  });
});
