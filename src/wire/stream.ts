// An incremental JSON checker, for lines too large to hold: fed chunk by chunk, it keeps only
// its position in the grammar (a stack of open containers and the token in progress), so a
// 1 GiB message costs the same few bytes of state as a small one. It checks what scan.ts checks
// (structure, numbers, literals; string contents are left to the peer's parser) and, through
// envelope-memo.ts, remembers the little a relay needs from a JSON-RPC message.
import { EnvelopeMemo } from "./envelope-memo.ts";
import { nextNumberPart, NumberPart, numberMayEnd } from "./json-number.ts";
import { OPEN_ESCAPED, stringEnd } from "./string-chunk.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Where the checker is in the grammar: what the next byte may be. */
const enum Expect {
  Value,
  /** After "[": a value or "]". */
  ValueOrEnd,
  AfterValue,
  /** After "{": a key or "}". */
  KeyOrEnd,
  /** After ",": a key. */
  Key,
  Colon,
  String,
  Number,
  Literal,
  Done,
  Failed,
}

const OBJECT = 1;
const ARRAY = 2;
const LITERAL_TEXT = [Buffer.from("true"), Buffer.from("false"), Buffer.from("null")];

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export class JsonStream {
  #state = Expect.Value;
  readonly #stack: number[] = [];
  #number = NumberPart.Sign;
  #literal: Buffer = LITERAL_TEXT[0]!;
  #literalAt = 0;
  /** Inside a string: the next byte is escaped. */
  #escaped = false;
  /** Whether the string in progress is a key (else a value). */
  #inKey = false;
  readonly #memo = new EnvelopeMemo();
  /** What the envelope holds so far: the top-level keys in order, the raw text of id, method and jsonrpc, whether result.isError is true. */
  readonly envelope: Readonly<Pick<EnvelopeMemo, "keys" | "values" | "resultIsError">> = this.#memo;
  #offset = 0;
  error: string | undefined;
  at = 0;
  topIsObject = false;

  get failed(): boolean {
    return this.#state === Expect.Failed;
  }

  /** Whether the top-level value is complete (only whitespace may follow). */
  get done(): boolean {
    return this.#state === Expect.Done;
  }

  /** Feeds the next bytes; false once the input can no longer be valid JSON. */
  push(buf: Buffer): boolean {
    let i = 0;
    const end = buf.length;
    while (i < end) {
      switch (this.#state) {
        case Expect.Failed:
          return false;
        case Expect.Done: {
          const c = buf[i]!;
          if (!isSpace(c)) return this.#fail(i, "unexpected data after the JSON value");
          i++;
          break;
        }
        case Expect.String:
          i = this.#string(buf, i, end);
          break;
        case Expect.Number:
          i = this.#numberByte(buf, i);
          break;
        case Expect.Literal: {
          const c = buf[i]!;
          if (c !== this.#literal[this.#literalAt]) return this.#fail(i, "malformed literal");
          this.#memo.valueByte(c);
          i++;
          if (++this.#literalAt === this.#literal.length) this.#valueEnded();
          break;
        }
        default: {
          const c = buf[i]!;
          if (isSpace(c)) {
            i++;
            break;
          }
          if (!this.#structural(c, i)) return false;
          i++;
        }
      }
      if (this.failed) return false;
    }
    this.#offset += end;
    return true;
  }

  /** The input ended: true if it was exactly one JSON value. */
  end(): boolean {
    if (this.#state === Expect.Number && numberMayEnd(this.#number)) this.#valueEnded();
    if (this.#state === Expect.Done) return true;
    if (this.#state !== Expect.Failed) this.#fail(0, "unexpected end of input");
    return false;
  }

  #fail(i: number, error: string): false {
    this.#state = Expect.Failed;
    this.error = error;
    this.at = this.#offset + i;
    return false;
  }

  #structural(c: number, i: number): boolean {
    const state = this.#state;
    if (state === Expect.Value) return this.#valueStart(c, i);
    if (state === Expect.ValueOrEnd) {
      if (c !== 0x5d) return this.#valueStart(c, i);
      this.#close();
      return true;
    }
    if (state === Expect.KeyOrEnd || state === Expect.Key) {
      if (c === 0x7d && state === Expect.KeyOrEnd) {
        this.#close();
        return true;
      }
      if (c !== QUOTE) return this.#fail(i, "expected a string key");
      this.#inKey = true;
      this.#memo.keyStart(this.#stack.length);
      this.#state = Expect.String;
      return true;
    }
    if (state === Expect.Colon) {
      if (c !== 0x3a) return this.#fail(i, 'expected ":"');
      this.#state = Expect.Value;
      return true;
    }
    // AfterValue
    const top = this.#stack[this.#stack.length - 1];
    if (c === 0x2c) {
      this.#state = top === OBJECT ? Expect.Key : Expect.Value;
      return true;
    }
    if ((c === 0x7d && top === OBJECT) || (c === 0x5d && top === ARRAY)) {
      this.#close();
      return true;
    }
    return this.#fail(i, `expected "," or "${top === OBJECT ? "}" : "]"}"`);
  }

  #valueStart(c: number, i: number): boolean {
    const container = c === 0x7b || c === 0x5b;
    this.#memo.valueStart(this.#stack, container);
    if (container) {
      if (this.#stack.length === 0) this.topIsObject = c === 0x7b;
      this.#stack.push(c === 0x7b ? OBJECT : ARRAY);
      this.#state = c === 0x7b ? Expect.KeyOrEnd : Expect.ValueOrEnd;
      return true;
    }
    this.#memo.valueByte(c);
    if (c === QUOTE) {
      this.#inKey = false;
      this.#state = Expect.String;
      return true;
    }
    if (c === 0x2d || isDigit(c)) {
      this.#number = c === 0x2d ? NumberPart.Sign : c === 0x30 ? NumberPart.Zero : NumberPart.Int;
      this.#state = Expect.Number;
      return true;
    }
    const literal = c === 0x74 ? 0 : c === 0x66 ? 1 : c === 0x6e ? 2 : -1;
    if (literal === -1) return this.#fail(i, `unexpected character ${JSON.stringify(String.fromCharCode(c))}`);
    this.#literal = LITERAL_TEXT[literal]!;
    this.#literalAt = 1;
    this.#state = Expect.Literal;
    return true;
  }

  #close(): void {
    this.#stack.pop();
    this.#valueEnded();
  }

  #valueEnded(): void {
    this.#memo.valueEnd();
    this.#state = this.#stack.length === 0 ? Expect.Done : Expect.AfterValue;
  }

  /** Consumes string bytes from `i`; returns where it stopped (the end, or past the closing quote). */
  #string(buf: Buffer, i: number, end: number): number {
    const stop = stringEnd(buf, i, end, this.#escaped);
    if (stop < 0) {
      this.#escaped = stop === OPEN_ESCAPED;
      this.#record(buf, i, end);
      return end;
    }
    this.#escaped = false;
    this.#record(buf, i, stop);
    this.#stringEnded();
    return stop;
  }

  #record(buf: Buffer, from: number, to: number): void {
    if (this.#inKey) this.#memo.keyBytes(buf, from, to);
    else this.#memo.valueBytes(buf, from, to);
  }

  #stringEnded(): void {
    if (!this.#inKey) {
      this.#valueEnded();
      return;
    }
    this.#memo.keyEnd(this.#stack.length);
    this.#inKey = false;
    this.#state = Expect.Colon;
  }

  /** One byte of a number, or its end (the byte is then left for the next state). */
  #numberByte(buf: Buffer, i: number): number {
    const c = buf[i]!;
    const next = nextNumberPart(this.#number, c);
    if (next === -1) {
      this.#fail(i, "malformed number");
      return i;
    }
    if (next === -2) {
      // The number ended before this byte, which belongs to what follows.
      this.#valueEnded();
      return i;
    }
    this.#memo.valueByte(c);
    this.#number = next;
    return i + 1;
  }
}
