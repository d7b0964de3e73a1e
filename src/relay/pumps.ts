// The byte pumps between the processes. Both directions respect backpressure: when a
// destination's buffer is full, what feeds it is paused until 'drain', so a slow reader holds
// bytes in the kernel's pipe, not in mcpgate's memory.
import type { Readable, Writable } from "node:stream";

/** A source paused while any destination it feeds is full, resumed once none is. */
export class Throttle {
  readonly #from: Readable;
  #holds = 0;

  constructor(from: Readable) {
    this.#from = from;
  }

  hold(): void {
    if (this.#holds++ === 0) this.#from.pause();
  }

  release(): void {
    if (--this.#holds === 0) this.#from.resume();
  }

  /** Paused for good: nothing more is to be read from this source. */
  stop(): void {
    this.#holds = Infinity;
    this.#from.pause();
  }
}

/**
 * Writes `bytes` to `to`; while its buffer is full, every source that can add to it is paused
 * until it drains. The client's stdout has two: the server's output, and the client's own
 * input, which mcpgate answers itself (denials, errors) — a client that sends calls and never
 * reads must not grow mcpgate's memory, so mcpgate stops reading it until its replies drain.
 */
export function writer(to: Writable, sources: Throttle[]): (bytes: Buffer) => void {
  let waiting = false;
  const resume = (): void => {
    waiting = false;
    for (const source of sources) source.release();
  };
  return (bytes) => {
    if (to.destroyed || to.writableEnded) return;
    if (!to.write(bytes) && !waiting) {
      waiting = true;
      for (const source of sources) source.hold();
      to.once("drain", resume);
    }
  };
}

/**
 * Collects what one input chunk produces for a destination and writes it in one go. Lines
 * forwarded unchanged are views into the chunk they came in, so consecutive ones are adjacent
 * in memory and merge back into one view: a chunk of pass-through traffic costs one write, as
 * in a byte relay, not one per line. Outside a chunk (approvals answered later), writes go at once.
 */
export class Coalescer {
  readonly #write: (bytes: Buffer) => void;
  readonly #to: Writable;
  #holding = false;
  #parts: Buffer[] = [];
  #last: Buffer | undefined;

  constructor(to: Writable, write: (bytes: Buffer) => void) {
    this.#to = to;
    this.#write = write;
  }

  readonly push = (bytes: Buffer): void => {
    if (!this.#holding) {
      this.#write(bytes);
      return;
    }
    const last = this.#last;
    if (last !== undefined && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      this.#last = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
      return;
    }
    if (last !== undefined) this.#parts.push(last);
    this.#last = bytes;
  };

  hold(): void {
    this.#holding = true;
  }

  release(): void {
    this.#holding = false;
    const last = this.#last;
    if (last === undefined) return;
    this.#last = undefined;
    if (this.#parts.length === 0) {
      this.#write(last);
      return;
    }
    const parts = this.#parts;
    this.#parts = [];
    this.#to.cork();
    for (const part of parts) this.#write(part);
    this.#write(last);
    this.#to.uncork();
  }
}
