import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalDigest, canonicalText } from "../../src/wire/canonical.ts";

const canon = (text: string) => canonicalText(Buffer.from(text));
/** The decoding way (as approval.ts's canonicalJson did): right wherever JSON.parse is exact. */
function decodedCanonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(decodedCanonical).join(",")}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${decodedCanonical(record[key])}`).join(",")}}`;
}
const anyJson = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: "binary" }));

/** JSON text of `value` with every object's keys in an order chosen by `seed`, and random whitespace. */
function reserialize(value: unknown, seed: number[]): string {
  let n = 0;
  const pick = () => seed[n++ % seed.length]!;
  const space = () => ["", " ", "\n", "\t", "\r\n  "][pick() % 5]!;
  const write = (item: unknown): string => {
    if (item === null || typeof item !== "object") return JSON.stringify(item);
    if (Array.isArray(item)) return `[${space()}${item.map((element) => `${write(element)}${space()}`).join(`,${space()}`)}]`;
    const keys = Object.keys(item);
    for (let i = keys.length - 1; i > 0; i--) {
      const j = pick() % (i + 1);
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    // Keys written with a random mix of escapes, to check they compare decoded.
    const key = (k: string) => (pick() % 2 === 0 ? JSON.stringify(k) : `"${Array.from({ length: k.length }, (_, i) => `\\u${k.charCodeAt(i).toString(16).padStart(4, "0")}`).join("")}"`);
    return `{${space()}${keys.map((k) => `${key(k)}${space()}:${space()}${write((item as Record<string, unknown>)[k])}`).join(`${space()},`)}${space()}}`;
  };
  return `${space()}${write(value)}${space()}`;
}

/** A JSON number literal: any sign, integer part, fraction and exponent the grammar allows. */
const numberLiteral = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant("0"), fc.tuple(fc.integer({ min: 1, max: 9 }), fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 20 })).map(([d, rest]) => `${d}${rest}`)),
    fc.option(fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 20 })),
    fc.option(fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 4 }))),
  )
  .map(([negative, integer, fraction, exponent]) => `${negative ? "-" : ""}${integer}${fraction === null ? "" : `.${fraction}`}${exponent === null ? "" : exponent.join("")}`);

describe("canonicalText", () => {
  it("ignores key order, not values (moved from approval.ts's canonicalJson)", () => {
    const text = (value: unknown): string => canonicalText(Buffer.from(JSON.stringify(value)));
    assert.equal(text({ b: [1, { d: 1, c: 2 }], a: null }), text({ a: null, b: [1, { c: 2, d: 1 }] }));
    assert.notEqual(text({ a: 1 }), text({ a: "1" }));
  });

  it("sorts members by decoded key, at every depth, and drops whitespace", () => {
    assert.equal(canon(' { "b" : [ 1 , { "d" : 1 , "c" : 2 } ] , "a" : null } '), '{"a":null,"b":[1,{"c":2,"d":1}]}');
    assert.equal(canon('{"b":1,"\\u0061":2}'), '{"a":2,"b":1}');
    // Code-unit order, as Array.prototype.sort: "Z" < "a" < "é" < "😀" (a surrogate pair) < "ｚ" (U+FF5A).
    assert.equal(canon('{"ｚ":0,"😀":1,"é":2,"a":3,"Z":4,"":5}'), '{"":5,"Z":4,"a":3,"é":2,"😀":1,"ｚ":0}');
    // Past 16 members a different sort runs: same order, repeated keys still in document order.
    const names = Array.from({ length: 40 }, (_, n) => `k${String(n).padStart(2, "0")}`);
    const members = [...names].reverse().map((name, n) => `"${name}":${n}`);
    const sorted = names.map((name, n) => `"${name}":${39 - n}`);
    assert.equal(canon(`{${members.join(",")},"k05":"again"}`), `{${sorted.slice(0, 6).join(",")},"k05":"again",${sorted.slice(6).join(",")}}`);
  });

  it("writes keys and strings as JSON.stringify writes their decoded value", () => {
    assert.equal(canon('"\\u0061\\/\\b\\f\\n\\r\\t\\"\\\\"'), JSON.stringify('a/\b\f\n\r\t"\\'));
    assert.equal(canon('"\\u00e9"'), '"é"');
    assert.equal(canon('"é"'), '"é"');
    assert.equal(canon('"\\ud83d\\ude00"'), '"😀"');
    assert.equal(canon('"\\u001f\\u007f"'), '"\\u001f\u007f"');
    assert.equal(canon('"\\uD800"'), '"\\ud800"'); // a lone surrogate stays escaped, in one case
    assert.equal(canon('"\u2028"'), '"\u2028"');
    assert.equal(canon('{"\\u006b":"v"}'), canon('{"k":"\\u0076"}'));
  });

  it("keeps every number literal as written", () => {
    for (const literal of ["0", "-0", "1", "1.0", "1e400", "-1e400", "1E5", "1e5", "1e+5", "1e05", "10000000000000001", "10000000000000000", "0.1", "123456789012345678901234567890", "-0.0e-0"]) {
      assert.equal(canon(literal), literal);
      assert.equal(canon(`{"amount":${literal}}`), `{"amount":${literal}}`);
    }
    // The bug this fixes: decoded, these pairs are one double (or 1e400 becomes null).
    assert.notEqual(canon('{"amount":1e400}'), canon('{"amount":null}'));
    assert.notEqual(canon('{"amount":1e400}'), canon('{"amount":1e999}'));
    assert.notEqual(canon('{"amount":10000000000000001}'), canon('{"amount":10000000000000000}'));
    // 1E5 and 1e5 are one number to every parser we know, but keeping spellings apart only
    // means a human is asked again: the conservative side.
    assert.notEqual(canon("1E5"), canon("1e5"));
    assert.notEqual(canon("-0"), canon("0"));
  });

  it("keeps literals, arrays in order, empty containers and repeated keys", () => {
    assert.equal(canon(" [ true , false , null , [ ] , { } , [ [ ] ] ] "), "[true,false,null,[],{},[[]]]");
    assert.equal(canon("[3,1,2]"), "[3,1,2]");
    assert.notEqual(canon("[1,2]"), canon("[2,1]"));
    assert.equal(canon('{"b":1,"a":2,"b":0}'), '{"a":2,"b":1,"b":0}');
    assert.notEqual(canon('{"a":1,"a":2}'), canon('{"a":2}'));
  });

  it("reads only buf[start, end)", () => {
    const buf = Buffer.from('xx{"b":2,"a":[1]}yy');
    assert.equal(canonicalText(buf, 2, buf.length - 2), '{"a":[1],"b":2}');
    assert.equal(canonicalText(Buffer.from("[12345]"), 1, 3), "12");
    assert.throws(() => canonicalText(Buffer.from('"ab"'), 0, 3), /expected the string at byte 0 to end/);
    assert.equal(canonicalText(Buffer.from(" 7 "), 0, 99), "7");
  });

  it("handles nesting 10,000 deep (and 100,000) without recursion", () => {
    for (const depth of [10_000, 100_000]) {
      const arrays = `${"[".repeat(depth)}1${"]".repeat(depth)}`;
      assert.equal(canon(arrays), arrays);
      const objects = `${'{"k":'.repeat(depth)}1${"}".repeat(depth)}`;
      assert.equal(canon(objects), objects);
      const mixed = `${'[{"b":0,"a":'.repeat(depth)}null${"}]".repeat(depth)}`;
      assert.equal(canon(mixed), `${'[{"a":'.repeat(depth)}null${',"b":0}]'.repeat(depth)}`);
    }
  });

  it("throws on malformed input, saying what it expected and what came", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /expected a value, got the end of the input/],
      ["   ", /expected a value, got the end of the input/],
      ["{", /expected a string key, got the end of the input/],
      ["[1,]", /expected a value, got "]" at byte 3/],
      ["[1 2]", /expected "," or "]", got "2" at byte 3/],
      ['{"a" 1}', /expected ":", got "1" at byte 5/],
      ["{a:1}", /expected a string key, got "a" at byte 1/],
      ['{"a":1,}', /expected a string key, got "}" at byte 7/],
      ["[1}", /expected "," or "]", got "}" at byte 2/],
      ['{"a":1]', /expected "," or "}", got "]" at byte 6/],
      ["01", /expected a number at byte 0/],
      ["1.", /expected a number at byte 0/],
      ["-", /expected a number at byte 0/],
      ["1e+", /expected a number at byte 0/],
      ["tru", /expected a value, got "t" at byte 0/],
      ["nul", /expected a value, got "n" at byte 0/],
      ["NaN", /expected a value, got "N" at byte 0/],
      ["1 2", /expected the end of the input, got "2" at byte 2/],
      ['{"a":1}{}', /expected the end of the input, got "{" at byte 7/],
      ['"abc', /expected the string at byte 0 to end/],
      ['{"a', /expected the key at byte 1 to end/],
      ['"\\x"', /expected a string with valid escapes at byte 0/],
      ['"\\u12"', /expected a string with valid escapes at byte 0/],
      ['"a\nb"', /expected no raw control character in a string, got 0x0a at byte 2/],
      ["[[[[", /expected a value, got the end of the input/],
      ["]", /expected a value, got "]" at byte 0/],
    ];
    for (const [text, message] of cases) assert.throws(() => canon(text), message, JSON.stringify(text));
  });

  it("throws on strings that are not UTF-8, rather than merging them into U+FFFD", () => {
    const bad = [Buffer.from([0x22, 0xff, 0x22]), Buffer.from([0x22, 0xc3, 0x22]), Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), Buffer.from([0x7b, 0x22, 0xfe, 0x22, 0x3a, 0x31, 0x7d])];
    for (const buf of bad) assert.throws(() => canonicalText(buf), /expected a UTF-8 string, got other bytes/);
  });

  it("gives the same text for any key order and whitespace (property)", () => {
    fc.assert(
      fc.property(anyJson, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (value, seed) => {
        assert.equal(canon(reserialize(value, seed)), canon(JSON.stringify(value)));
      }),
    );
  });

  it("gives different texts for different number literals, wherever they sit (property)", () => {
    fc.assert(
      fc.property(numberLiteral, numberLiteral, fc.jsonValue(), (a, b, context) => {
        fc.pre(a !== b);
        assert.notEqual(canon(a), canon(b));
        const at = (literal: string) => canon(`{"context":${JSON.stringify(context)},"amount":[${literal}]}`);
        assert.notEqual(at(a), at(b));
      }),
    );
  });

  it("writes what the decoding way wrote, wherever decoding is exact (property)", () => {
    // JSON.stringify writes only numbers that read back as the same double, so here the old,
    // decoding implementation is right and serves as the oracle: same text, valid JSON, same value.
    fc.assert(
      fc.property(anyJson, (value) => {
        const input = JSON.stringify(value);
        const text = canon(input);
        assert.equal(text, decodedCanonical(JSON.parse(input)));
        assert.deepEqual(JSON.parse(text), JSON.parse(input));
        assert.equal(canon(text), text);
      }),
    );
  });
});

describe("canonicalDigest", () => {
  it("is the SHA-256 hex of the canonical text", () => {
    const buf = Buffer.from('{ "b" : 1, "a" : "\\u00e9" }');
    assert.equal(canonicalDigest(buf), createHash("sha256").update('{"a":"é","b":1}').digest("hex"));
    assert.equal(canonicalDigest(buf), canonicalDigest(Buffer.from('{"a":"é","b":1}')));
    assert.notEqual(canonicalDigest(Buffer.from('{"a":1e400}')), canonicalDigest(Buffer.from('{"a":null}')));
    assert.match(canonicalDigest(buf), /^[0-9a-f]{64}$/);
  });
});
