// Globs over tool names: whole decoded text, any character included; malformed globs are errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { RE2JS } from "re2js";
import { compilePolicy } from "../../src/policy/compile.ts";
import { backtrackSafe, compileGlob, globProblem, globSource, isGlob } from "../../src/policy/glob.ts";
import { firstMatch } from "../../src/policy/glob-match.ts";

/** Whether `pattern` matches `name`, asserting that both engines (native and RE2) agree. */
function matches(pattern: string, name: string): boolean {
  const native = compileGlob(pattern).test(name);
  const re2 = RE2JS.compile(`(?:${globSource(pattern, "re2")})`, RE2JS.DOTALL).matches(name);
  assert.equal(re2, native, `the engines disagree on ${JSON.stringify(pattern)} against ${JSON.stringify(name)}`);
  return native;
}

/** Names a path-oriented glob engine gets wrong: empty, dots, slashes, line terminators. */
const ODD_NAMES = ["", ".", "..", ".hidden", "a/b", "/", "a\nb", "x\u2028y", "p\u2029q", "run\r", "\n", "\r\n", "\u0085", "__proto__", "constructor", "日本語", "😀", "\ud800", "a\u0000b", "[ab]", "*", "?", "\\"];

describe("glob matching", () => {
  it("* matches every name, the empty one and line terminators included", () => {
    for (const name of ODD_NAMES) assert.equal(matches("*", name), true, JSON.stringify(name));
  });

  it("a prefix glob catches any suffix, a line separator included", () => {
    assert.equal(matches("shell_*", "shell_\u2028exec"), true);
    assert.equal(matches("shell_*", "shell_"), true);
    assert.equal(matches("shell_*", "shell"), false);
    assert.equal(matches("shell_*", "xshell_a"), false, "anchored at the start");
    assert.equal(matches("*_exec", "shell_exec\n"), false, "anchored at the end: $ does not stop before a trailing newline");
  });

  it("? is exactly one character: a code point, /, . or a line terminator", () => {
    for (const name of ["a", "/", ".", "\n", "\u2028", "😀", "\ud800"]) assert.equal(matches("?", name), true, JSON.stringify(name));
    for (const name of ["", "ab", "😀😀"]) assert.equal(matches("?", name), false, JSON.stringify(name));
    assert.equal(matches("a?c", "a\nc"), true);
  });

  it("classes: sets, ranges, negation with ! or ^, a leading ], POSIX names, never the literal text", () => {
    assert.equal(matches("[ab]", "a"), true);
    assert.equal(matches("[ab]", "[ab]"), false);
    assert.equal(matches("[a-c]x", "bx"), true);
    assert.equal(matches("[a-c]x", "dx"), false);
    assert.equal(matches("[!a]", "b"), true);
    assert.equal(matches("[!a]", "a"), false);
    assert.equal(matches("[^a]", "\n"), true, "a negated class takes line terminators too");
    assert.equal(matches("[]a]", "]"), true);
    assert.equal(matches("[!]]", "]"), false);
    assert.equal(matches("[[]", "["), true);
    assert.equal(matches("[a-]", "-"), true);
    assert.equal(matches("[\\]]", "]"), true);
    assert.equal(matches("[[:digit:]]*", "7up"), true);
    assert.equal(matches("[[:digit:]]*", "up"), false);
    assert.equal(matches("[😀-😂]", "😁"), true, "ranges are over code points");
  });

  it("braces and extglobs are alternations, nestable; their alternatives are globs", () => {
    assert.equal(matches("{read,list}_*", "list_dir"), true);
    assert.equal(matches("{read,list}_*", "write_dir"), false);
    assert.equal(matches("{read,list}_*", "{read,list}_x"), false);
    assert.equal(matches("a{,b}", "a"), true);
    assert.equal(matches("{a,b{c,d}}", "bd"), true);
    assert.equal(matches("{a*,?b}", "a\n"), true);
    assert.equal(matches("@(git|svn)_*", "svn_up"), true);
    assert.equal(matches("@(git|svn)_*", "hg_up"), false);
    assert.equal(matches("x?(y)", "x"), true);
    assert.equal(matches("x?(y)", "xyy"), false);
    assert.equal(matches("x+(y)", "xyy"), true);
    assert.equal(matches("x+(y)", "x"), false);
    assert.equal(matches("x*(y|z)", "xyzy"), true);
    assert.equal(matches("x*(y|z)", "xya"), false);
    assert.equal(matches("a,b|c)d}*", "a,b|c)d}"), true, "outside a group , | ) } are literal");
  });

  it("\\ makes the next character literal", () => {
    assert.equal(matches("a\\*b*", "a*b"), true);
    assert.equal(matches("a\\*b*", "axb"), false);
    assert.equal(matches("\\?*", "?x"), true);
    assert.equal(matches("\\?*", "x"), false);
    assert.equal(matches("\\{a,b}*", "{a,b}"), true);
    assert.equal(matches("\\\\*", "\\x"), true);
  });

  it("regular expression syntax in a glob is literal", () => {
    assert.equal(matches("a.b*", "a.b"), true);
    assert.equal(matches("a.b*", "axb"), false);
    assert.equal(matches("^$+|()*", "^$+|()"), true);
    assert.equal(matches("(?<x>)*", "(?<x>)y"), true);
  });
});

describe("no glob can stall the gateway", () => {
  it("globs a backtracking engine would take exponential or polynomial time on run on RE2", () => {
    for (const pattern of ["*_*", "*_*_*_*_x", "*(a|aa)b", "+(a)", "{a*,b*}", "@(x*|y*)", "{a,a}".repeat(7), "?(a)".repeat(7)]) assert.equal(backtrackSafe(pattern), false, pattern);
    for (const pattern of ["*", "read_*", "*_file", "a?[bc]{d,e}*", "@(git|svn)_*", "?(x)*", "{a*,b}"]) assert.equal(backtrackSafe(pattern), true, pattern);
  });

  it("100,000-character names against *_*_*_*_x and *(a|aa)b are judged in linear time", () => {
    // A backtracking engine needs ~n^4 steps for the first (40 s at n = 500) and ~2^n for the
    // second, so this test would never end on one.
    const first = firstMatch(["*_*_*_*_x", "*(a|aa)b", "{*_,x}*_y", "*"]);
    assert.equal(first("_".repeat(100_000)), 3);
    assert.equal(first("a".repeat(100_000)), 3);
    assert.equal(first(`${"a".repeat(100_000)}b`), 1);
    assert.equal(first(`${"_".repeat(100_000)}x`), 0);
    assert.equal(first(`${"_".repeat(100_000)}y`), 2);
    // 2^40 ways through the groups, each tried on a miss by a backtracking engine.
    assert.equal(firstMatch([`${"{a,a}".repeat(40)}b`])("a".repeat(40)), undefined);
  });
});

describe("firstMatch", () => {
  it("returns the first matching glob in order, whichever engine runs each", () => {
    const first = firstMatch(["a*b*", "a*", "*(a)", "*"]);
    assert.equal(first("ab"), 0, "an RE2 glob before a native one");
    assert.equal(first("ac"), 1);
    assert.equal(first("aaa"), 1, "a native glob before an RE2 one");
    assert.equal(first("z"), 3);
    assert.equal(firstMatch(["x*y*", "x?"])("xy"), 0);
    assert.equal(firstMatch(["x?", "x*y*"])("xy"), 0);
    assert.equal(firstMatch(["q*", "x*y*"])("z"), undefined);
  });

  it("agrees with matching each glob alone, for random globs and names (property)", () => {
    const tokens = ["a", "b", "*", "?", "[ab]", "[!a]", "{a,b*}", "@(a|b)", "*(a|ab)", "+(b)", "?(a)", "\\*", "\u2028", "😀", ".", "/"];
    const glob = fc.array(fc.constantFrom(...tokens), { minLength: 1, maxLength: 6 }).map((parts) => parts.join("")).filter(isGlob);
    const name = fc.array(fc.constantFrom("a", "b", "*", "\n", "😀", "\u2028", ".", "/", "\ud800"), { maxLength: 8 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.array(glob, { minLength: 1, maxLength: 5 }), name, (globs, tool) => {
        const expected = globs.findIndex((pattern) => matches(pattern, tool));
        assert.equal(firstMatch(globs)(tool), expected === -1 ? undefined : expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("isGlob", () => {
  it("is true for an unescaped * ? [ { and the extglob openers @( +( !(", () => {
    for (const pattern of ["*", "a?", "[a]", "{a,b}", "x[", "@(a)", "+(a)", "!(a)", "?(a)", "\\\\*"]) assert.equal(isGlob(pattern), true, pattern);
  });

  it("is false for plain names, escaped glob characters and lone ( ) ] } , | @ + !", () => {
    for (const pattern of ["", "run", "a.b/c", "__proto__", "\\*", "a\\?b", "\\[x]", "\\{a,b}", "a)b]c}d,e|f", "a@b", "a+b", "a!b", "a(b)", "\\"]) {
      assert.equal(isGlob(pattern), false, pattern);
    }
  });
});

describe("malformed globs are load errors, with where and what", () => {
  const cases: Array<[string, string]> = [
    ["a[b", 'invalid glob at character 2: "[" is never closed (write [[] for a literal "[")'],
    ["[!]", 'invalid glob at character 1: "[" is never closed (write [[] for a literal "[")'],
    ["x{a,b", 'invalid glob at character 2: "{" is never closed (write [{] for a literal "{")'],
    ["{a}*", 'invalid glob at character 1: a brace group needs a comma, as in {a,b} (write [{] for a literal "{")'],
    ["{1..3}", 'invalid glob at character 1: a brace group needs a comma, as in {a,b} (write [{] for a literal "{")'],
    ["@(a|b", 'invalid glob at character 1: "@(" is never closed (write [(] for a literal "(")'],
    ["!(a)*", 'invalid glob at character 1: "!(...)" (anything but) is not supported'],
    ["[z-a]", "invalid glob at character 3: the range z-a is reversed"],
    ["a*\\", 'invalid glob at character 3: "\\" escapes nothing'],
    ["[[:nope:]]", "invalid glob at character 2: unknown class [:nope:] (known: alnum, alpha, ascii, blank, cntrl, digit, graph, lower, print, punct, space, upper, word, xdigit)"],
    ["[[:constructor:]]", "invalid glob at character 2: unknown class [:constructor:] (known: alnum, alpha, ascii, blank, cntrl, digit, graph, lower, print, punct, space, upper, word, xdigit)"],
  ];
  for (const [pattern, message] of cases) {
    it(JSON.stringify(pattern), () => {
      assert.equal(globProblem(pattern), message);
      assert.throws(() => compileGlob(pattern), { message });
    });
  }

  it("an exact name is never a problem, whatever it contains", () => {
    for (const name of ["a\\", "a(b", "a]b", "}", "\\["]) assert.equal(globProblem(name), undefined, name);
  });
});

describe("glob properties", () => {
  // Any string: lone surrogates, line terminators and the empty string included.
  const anyString = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "binary-ascii" }), fc.constantFrom(...ODD_NAMES));
  const plainName = anyString.filter((name) => !isGlob(name));

  it("* matches every string", () => {
    const star = compileGlob("*");
    fc.assert(fc.property(anyString, (s) => star.test(s)), { numRuns: 2000 });
  });

  it("prefix* matches prefix + any string, for a plain prefix written with its glob characters escaped", () => {
    fc.assert(
      fc.property(anyString, anyString, (prefix, s) => {
        const escaped = [...prefix].map((char) => ("\\*?[]{}()@+!".includes(char) ? `\\${char}` : char)).join("");
        return compileGlob(`${escaped}*`).test(prefix + s);
      }),
      { numRuns: 1000 },
    );
  });

  it("? matches exactly the strings of one code point", () => {
    const one = compileGlob("?");
    fc.assert(fc.property(anyString, (s) => one.test(s) === ([...s].length === 1)), { numRuns: 2000 });
  });

  it("a name without glob characters is an exact name: its entry matches only itself", () => {
    fc.assert(
      fc.property(plainName, anyString, (name, other) => {
        assert.equal(globProblem(name), undefined);
        const policy = compilePolicy({ version: "1", default: "deny", hide: [name], tools: [[name, {}], ["zz_*", { action: "deny" }]] });
        assert.equal(policy.entryFor(name)?.key, name);
        assert.equal(policy.hiddenBy(name), "hide[0]");
        if (other !== name) {
          assert.equal(policy.entryFor(other)?.key, other.startsWith("zz_") ? "zz_*" : undefined, JSON.stringify(other));
          assert.equal(policy.hiddenBy(other), undefined);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("through the policy: hide * hides every name, and a deny glob prefix_* catches prefix + anything", () => {
    const policy = compilePolicy({ version: "1", default: "allow", hide: ["*"], tools: [["shell_*", { action: "deny" }]] });
    const entries = compilePolicy({ version: "1", default: "allow", tools: [["run", {}], ["shell_*", { action: "deny" }], ["*", {}]] });
    fc.assert(
      fc.property(anyString, (s) => {
        assert.equal(policy.hiddenBy(s), "hide[0]");
        assert.equal(entries.entryFor(`shell_${s}`)?.key, "shell_*");
        assert.equal(entries.entryFor(s)?.key, s === "run" ? "run" : s.startsWith("shell_") ? "shell_*" : "*");
      }),
      { numRuns: 2000 },
    );
  });
});
