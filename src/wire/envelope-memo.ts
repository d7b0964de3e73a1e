// What the incremental checker (stream.ts) remembers of a JSON-RPC message as it passes: its
// top-level keys, the raw text of its `id`, `method` and `jsonrpc`, and whether `result.isError`
// is true. The checker tells it where keys and values start and end; it keeps the few bytes
// that matter, each capped, so memory stays constant whatever the message's size.

/** Raw values of interest are small: an id, a method name. Longer ones are not recorded. */
const CAPTURE_LIMIT = 1_024;
const KEY_LIMIT = 64;
const OBJECT = 1;

export class EnvelopeMemo {
  readonly keys: string[] = [];
  readonly values = new Map<string, string>();
  resultIsError = false;
  /** Bytes of the key in progress, when it is one we may need (depth 1, or isError under result). */
  #key: number[] | undefined;
  #lastKey = "";
  /** The depth-1 key whose value is in progress. */
  #member = "";
  #capture: number[] | undefined;
  #captureFor = "";

  /** A key starts at `depth` (1: a top-level member). */
  keyStart(depth: number): void {
    this.#key = depth === 1 || (depth === 2 && this.#member === "result") ? [] : undefined;
  }

  /** The key's bytes, its closing quote included; keys with escapes are kept undecoded, so they match nothing looked for. */
  keyBytes(buf: Buffer, from: number, to: number): void {
    for (let k = from; k < to && this.#key !== undefined; k++) {
      if (this.#key.length >= KEY_LIMIT) this.#key = undefined;
      else this.#key.push(buf[k]!);
    }
  }

  keyEnd(depth: number): void {
    this.#lastKey = this.#key === undefined ? "" : Buffer.from(this.#key.slice(0, -1)).toString("utf8");
    if (this.#key !== undefined && depth === 1) this.keys.push(this.#lastKey);
    this.#key = undefined;
  }

  /** A value starts inside the containers `stack` (innermost last); `container` if it opens one. */
  valueStart(stack: readonly number[], container: boolean): void {
    const depth = stack.length;
    if (depth === 1 && stack[0] === OBJECT) {
      this.#member = this.#lastKey;
      if (this.#member === "id" || this.#member === "method" || this.#member === "jsonrpc") this.#startCapture(this.#member);
    } else if (depth === 2 && this.#member === "result" && stack[1] === OBJECT && this.#lastKey === "isError") {
      this.#startCapture("isError");
    }
    if (container) this.#capture = undefined;
  }

  valueByte(c: number): void {
    if (this.#capture === undefined) return;
    if (this.#capture.length < CAPTURE_LIMIT) this.#capture.push(c);
    else this.#capture = undefined;
  }

  valueBytes(buf: Buffer, from: number, to: number): void {
    for (let k = from; k < to && this.#capture !== undefined; k++) this.valueByte(buf[k]!);
  }

  valueEnd(): void {
    if (this.#capture === undefined) return;
    const text = Buffer.from(this.#capture).toString("utf8");
    if (this.#captureFor === "isError") this.resultIsError = text === "true";
    else this.values.set(this.#captureFor, text);
    this.#capture = undefined;
  }

  #startCapture(name: string): void {
    this.#capture = [];
    this.#captureFor = name;
  }
}
