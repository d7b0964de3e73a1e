// foldKey against Go's own case-folding tables: test/fixtures/go-fold-orbits.json holds every
// unicode.SimpleFold orbit with more than one member, printed by the Go program beside it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { foldKey, isEnvelopeImpostor } from "../../src/wire/fold.ts";

const orbits = JSON.parse(readFileSync(new URL("../fixtures/go-fold-orbits.json", import.meta.url), "utf8")) as number[][];
/** Each code point of a multi-member orbit, with its orbit. */
const orbitOf = new Map<number, number[]>();
for (const orbit of orbits) for (const c of orbit) orbitOf.set(c, orbit);

const ENVELOPE = ["jsonrpc", "id", "method", "params", "result", "error"];
const cp = (c: number) => String.fromCodePoint(c);

/** `key` with each code point replaced by a member of its Go orbit, chosen by `picks`. */
function goEquivalent(key: string, picks: number[]): string {
  let out = "";
  let n = 0;
  for (const char of key) {
    const orbit = orbitOf.get(char.codePointAt(0)!);
    out += orbit === undefined ? char : cp(orbit[(picks[n++ % picks.length] ?? 0) % orbit.length]!);
  }
  return out;
}

describe("foldKey", () => {
  it("the fixture is Go's table, not an empty file", () => {
    assert.ok(orbits.length > 1000, `expected over 1000 orbits, got ${orbits.length}`);
    for (const expected of [[75, 107, 0x212a], [83, 115, 0x17f], [0xb5, 0x39c, 0x3bc], [0x3a3, 0x3c2, 0x3c3], [0xdf, 0x1e9e], [0x1c4, 0x1c5, 0x1c6]]) {
      assert.deepEqual(orbitOf.get(expected[0]!), expected);
    }
  });

  it("folds every member of every Go orbit to one text, alone and inside a key", () => {
    for (const orbit of orbits) {
      const folded = foldKey(cp(orbit[0]!));
      const inKey = foldKey(`Ab${cp(orbit[0]!)}Z`);
      for (const c of orbit) {
        assert.equal(foldKey(cp(c)), folded, `U+${c.toString(16)} in orbit ${orbit.map((x) => x.toString(16))}`);
        assert.equal(foldKey(`Ab${cp(c)}Z`), inKey);
      }
    }
  });

  it("folds the known hard cases together", () => {
    const sets = [
      ["key", "KEY", "\u212Aey", "Ke\u0059"],
      ["session", "\u017Fession", "SESSION", "se\u017F\u017Fion"],
      ["\u00B5", "\u03BC", "\u039C"],
      ["\u03C3", "\u03C2", "\u03A3"],
      ["\u00DF", "\u1E9E"],
      ["\u03B8", "\u03D1", "\u03F4", "\u0398"],
      ["\u01C4", "\u01C5", "\u01C6"],
      ["\u13A0", "\uAB70"], // Cherokee
      ["\u{10400}", "\u{10428}"], // Deseret, outside the BMP
      ["\u00C5", "\u00E5", "\u212B"], // Angstrom sign
      ["\uD800", "\uFFFD", "\uDFFF"], // lone surrogates decode to U+FFFD in Go
    ];
    for (const set of sets) for (const key of set) assert.equal(foldKey(key), foldKey(set[0]!), `${JSON.stringify(key)} vs ${JSON.stringify(set[0])}`);
    assert.notEqual(foldKey("ab"), foldKey("a"));
    assert.notEqual(foldKey("a-b"), foldKey("a_b"));
    assert.equal(foldKey("already_lower-1"), "already_lower-1");
    assert.equal(foldKey("Mixed_Case"), "mixed_case");
  });

  it("maps every code point to one code point, and merges ASCII letters only with their Go orbit (and dotless ı)", () => {
    const foldedToAscii = new Map<string, Set<number>>();
    for (let c = 0; c <= 0x10ffff; c++) {
      const folded = foldKey(cp(c));
      const chars = [...folded];
      assert.equal(chars.length, 1, `U+${c.toString(16)} folded to ${chars.length} code points`);
      if (folded.charCodeAt(0) < 0x80) {
        if (!foldedToAscii.has(folded)) foldedToAscii.set(folded, new Set());
        foldedToAscii.get(folded)!.add(c);
      }
    }
    for (const [folded, members] of foldedToAscii) {
      const expected = new Set(orbitOf.get(members.values().next().value!) ?? [...members]);
      // Go keeps U+0131 apart from i; folding it with i only makes the gateway refuse more.
      if (folded === "i") expected.add(0x131);
      assert.deepEqual([...members].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), `members folding to ${JSON.stringify(folded)}`);
    }
  });

  it("is unchanged by any Go-equivalent substitution, and idempotent (property)", () => {
    const key = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.string({ unit: fc.constantFrom(..."sSkKiIeEmMpP\u017F\u212A\u00B5\u03C3\u03C2\u03A3\u00DF\u1E9E\u01C5") }),
      fc.string({ unit: fc.constantFrom(...orbits.map((orbit) => cp(orbit[0]!))) }),
    );
    fc.assert(
      fc.property(key, fc.array(fc.nat(), { minLength: 1 }), (text, picks) => {
        const folded = foldKey(text);
        assert.equal(foldKey(goEquivalent(text, picks)), folded);
        assert.equal(foldKey(folded), folded);
      }),
    );
  });

  it("is unchanged by per-letter case changes and s→U+017F, k→U+212A (property)", () => {
    const ascii = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") });
    fc.assert(
      fc.property(ascii, fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1 }), (text, picks) => {
        let variant = "";
        [...text].forEach((char, n) => {
          const pick = picks[n % picks.length]!;
          const lower = char.toLowerCase();
          if (pick === 2 && lower === "s") variant += "\u017F";
          else if (pick === 2 && lower === "k") variant += "\u212A";
          else variant += pick === 1 ? char.toUpperCase() : lower;
        });
        assert.equal(foldKey(variant), foldKey(text));
      }),
    );
  });
});

describe("isEnvelopeImpostor", () => {
  it("is false for the envelope keys themselves and for unrelated keys", () => {
    for (const key of [...ENVELOPE, "", "i", "foo", "methods", "\u212Aey", "param", "json-rpc", "paramsX", "a".repeat(100)]) {
      assert.equal(isEnvelopeImpostor(key), false, JSON.stringify(key));
    }
  });

  it("is true for keys Go would read as an envelope member", () => {
    for (const key of ["METHOD", "Params", "ID", "Id", "iD", "JsonRpc", "j\u017Fonrpc", "Error", "RESULT", "re\u017Fult", "param\u017F", "PARAM\u017F"]) {
      assert.equal(isEnvelopeImpostor(key), true, JSON.stringify(key));
    }
  });

  it("agrees with foldKey on any key, including mutated envelope keys (property)", () => {
    const key = fc.oneof(fc.string({ maxLength: 16 }), fc.tuple(fc.constantFrom(...ENVELOPE), fc.array(fc.nat(), { minLength: 1 })).map(([name, picks]) => goEquivalent(name, picks)));
    fc.assert(
      fc.property(key, (text) => {
        assert.equal(isEnvelopeImpostor(text), !ENVELOPE.includes(text) && ENVELOPE.includes(foldKey(text)));
      }),
    );
  });
});
