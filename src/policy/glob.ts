// Globs over tool names. A tool name is opaque text, not a path: `*` is any run of characters
// (the empty one, "/", ".", line terminators included), `?` is exactly one character (a code
// point), `[abc]` `[a-z]` `[!a]` `[^a]` `[[:alpha:]]` are classes, `{a,b}` and the extglobs
// `@(a|b)` `?(a|b)` `*(a|b)` `+(a|b)` are alternations (nestable), and `\` makes the next
// character literal. Every glob is anchored at both ends and compiled with the flags `su`, so
// no character is special to the regular expression.
//
// A pattern with none of these is not a glob: it is an exact name and matches only itself,
// backslashes and all. A malformed glob (an unclosed `[`, `{` or `(`, a reversed range, a
// trailing `\`, a brace group without a comma, `!(…)`) is a load error, never a guess.
//
// A glob compiles to regular expression source in one of two dialects: JavaScript's, for the
// native engine, and RE2's (re2js), for globs a backtracking engine could take exponential or
// high-polynomial time on (see backtrackSafe); a tool name is the caller's text.
import { RE2JS } from "re2js";

export const GLOB_FLAGS = "su";
export type Dialect = "js" | "re2";

/** Thrown by globSource for a malformed glob; the message says what and where. */
export class GlobSyntaxError extends Error {}

const EXTGLOB_OPENERS = new Set(["@", "+", "!", "?", "*"]);
const EXTGLOB_SUFFIX: Record<string, string> = { "@": "", "?": "?", "*": "*", "+": "+" };
/** POSIX classes, ASCII as in bash's C locale: code point ranges. */
const POSIX: Record<string, Array<[number, number]>> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** One code point as regular expression source, valid in and out of classes (JS under `u`). */
function literal(char: string, dialect: Dialect): string {
  if (/^[A-Za-z0-9_]$/.test(char)) return char;
  const hex = char.codePointAt(0)!.toString(16);
  return dialect === "js" ? `\\u{${hex}}` : `\\x{${hex}}`;
}

/** Whether `pattern` uses glob syntax: an unescaped `*`, `?`, `[` or `{`, or `@(` `+(` `!(`. */
export function isGlob(pattern: string): boolean {
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (char === "\\") i++;
    else if (char === "*" || char === "?" || char === "[" || char === "{") return true;
    else if ((char === "@" || char === "+" || char === "!") && chars[i + 1] === "(") return true;
  }
  return false;
}

class Parser {
  readonly chars: string[];
  readonly dialect: Dialect;
  index = 0;
  /** How many `*` runs and unbounded extglobs (`*(…)`, `+(…)`) the glob has. */
  stars = 0;
  loops = 0;
  /** How many ways its alternations can be taken: the product of their sizes. */
  branches = 1;
  constructor(pattern: string, dialect: Dialect) {
    this.chars = [...pattern];
    this.dialect = dialect;
  }

  literal(char: string): string {
    return literal(char, this.dialect);
  }

  fail(what: string, at: number): never {
    throw new GlobSyntaxError(`invalid glob at character ${at + 1}: ${what}`);
  }

  /** Elements up to (not including) one of `stops`, or the end when `stops` is empty. */
  sequence(stops: string): string {
    let out = "";
    const { chars } = this;
    while (this.index < chars.length) {
      const char = chars[this.index]!;
      if (stops.includes(char)) return out;
      const next = chars[this.index + 1];
      if (EXTGLOB_OPENERS.has(char) && next === "(") {
        out += this.extglob(char);
      } else if (char === "*") {
        while (chars[this.index] === "*" && chars[this.index + 1] !== "(") this.index++;
        this.stars++;
        out += ".*";
      } else if (char === "?") {
        this.index++;
        out += ".";
      } else if (char === "[") {
        out += this.bracket();
      } else if (char === "{") {
        out += this.brace();
      } else if (char === "\\") {
        if (next === undefined) this.fail('"\\" escapes nothing', this.index);
        out += this.literal(next);
        this.index += 2;
      } else {
        out += this.literal(char);
        this.index++;
      }
    }
    return out;
  }

  /** `{a,b,…}`: alternatives separated by top-level commas, each a glob. */
  brace(): string {
    const start = this.index++;
    const alternatives = [this.sequence(",}")];
    while (this.chars[this.index] === ",") {
      this.index++;
      alternatives.push(this.sequence(",}"));
    }
    if (this.chars[this.index] !== "}") this.fail('"{" is never closed (write [{] for a literal "{")', start);
    if (alternatives.length < 2) this.fail('a brace group needs a comma, as in {a,b} (write [{] for a literal "{")', start);
    this.index++;
    this.branches *= alternatives.length;
    return `(?:${alternatives.join("|")})`;
  }

  /** `@(a|b)`, `?(…)`, `*(…)`, `+(…)`: one, at most one, any number, at least one of them. */
  extglob(kind: string): string {
    const start = this.index;
    if (kind === "!") this.fail('"!(...)" (anything but) is not supported', start);
    if (kind === "*" || kind === "+") this.loops++;
    this.index += 2;
    const alternatives = [this.sequence("|)")];
    while (this.chars[this.index] === "|") {
      this.index++;
      alternatives.push(this.sequence("|)"));
    }
    if (this.chars[this.index] !== ")") this.fail(`"${kind}(" is never closed (write [(] for a literal "(")`, start);
    this.index++;
    this.branches *= alternatives.length + (kind === "?" ? 1 : 0);
    return `(?:${alternatives.join("|")})${EXTGLOB_SUFFIX[kind]!}`;
  }

  /** `[…]`: a leading `!` or `^` negates; a `]` first is literal; ranges and `[:name:]`. */
  bracket(): string {
    const { chars } = this;
    const start = this.index++;
    let negate = false;
    if (chars[this.index] === "!" || chars[this.index] === "^") {
      negate = true;
      this.index++;
    }
    let items = "";
    let first = true;
    for (;;) {
      if (this.index >= chars.length) this.fail('"[" is never closed (write [[] for a literal "[")', start);
      const char = chars[this.index]!;
      if (char === "]" && !first) break;
      first = false;
      if (char === "[" && chars[this.index + 1] === ":") {
        const close = chars.indexOf(":", this.index + 2);
        if (close !== -1 && chars[close + 1] === "]") {
          const name = chars.slice(this.index + 2, close).join("");
          const ranges = POSIX[name];
          if (ranges === undefined || !Object.hasOwn(POSIX, name)) this.fail(`unknown class [:${name}:] (known: ${Object.keys(POSIX).join(", ")})`, this.index);
          for (const [low, high] of ranges) items += `${this.literal(String.fromCodePoint(low))}-${this.literal(String.fromCodePoint(high))}`;
          this.index = close + 2;
          continue;
        }
      }
      const low = this.classChar();
      if (chars[this.index] === "-" && this.index + 1 < chars.length && chars[this.index + 1] !== "]") {
        const dash = this.index++;
        const high = this.classChar();
        if (low.codePointAt(0)! > high.codePointAt(0)!) this.fail(`the range ${low}-${high} is reversed`, dash);
        items += `${this.literal(low)}-${this.literal(high)}`;
      } else {
        items += this.literal(low);
      }
    }
    this.index++;
    return `[${negate ? "^" : ""}${items}]`;
  }

  /** One character of a class, `\` escaping the next. */
  classChar(): string {
    const char = this.chars[this.index]!;
    if (char !== "\\") {
      this.index++;
      return char;
    }
    const next = this.chars[this.index + 1];
    if (next === undefined) this.fail('"\\" escapes nothing', this.index);
    this.index += 2;
    return next;
  }
}

/** Regular expression source (unanchored, no capturing groups) for a glob; throws GlobSyntaxError. */
export function globSource(pattern: string, dialect: Dialect = "js"): string {
  return new Parser(pattern, dialect).sequence("");
}

/** Alternations a backtracking engine may try every combination of, on a miss. */
const MAX_BRANCHES = 64;

/**
 * Whether a backtracking engine matches this glob in time linear in the name: at most one `*`,
 * no `*(…)` or `+(…)`, and at most 64 ways through its alternations. Two stars already cost the
 * square of the name's length on a miss (`*_*_*_*_x` against 500 underscores took 40 s),
 * `*(a|aa)` costs exponential time, and so do many overlapping groups such as `{a,a}{a,a}…`.
 */
export function backtrackSafe(pattern: string): boolean {
  const parser = new Parser(pattern, "js");
  parser.sequence("");
  return parser.stars <= 1 && parser.loops === 0 && parser.branches <= MAX_BRANCHES;
}

/** Why `pattern` is not a usable glob, or undefined. Exact names (not globs) are always usable. */
export function globProblem(pattern: string): string | undefined {
  if (!isGlob(pattern)) return undefined;
  try {
    new RegExp(globSource(pattern), GLOB_FLAGS);
    RE2JS.compile(globSource(pattern, "re2"), RE2JS.DOTALL);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** One anchored RegExp for one glob (the native engine: for tests and trusted names); throws GlobSyntaxError. */
export function compileGlob(pattern: string): RegExp {
  return new RegExp(`^(?:${globSource(pattern)})$`, GLOB_FLAGS);
}
