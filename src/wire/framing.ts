// Newline framing over raw bytes. Lines are yielded as Buffers that still end in their "\n"
// (and "\r\n" if the peer sent one), so forwarding a line forwards exactly the bytes received.
// Cost is linear in the input: a partial line is kept as a list of chunks and joined once,
// when its newline arrives — never re-concatenated per chunk.

import { constants } from "node:buffer";

/** Largest line the gateway will hold in memory (1 GiB). Longer lines are dropped whole. */
export const MAX_LINE_BYTES = 1024 * 1024 * 1024;

/**
 * Largest client line: one that must be judged is decoded into a string, and V8 makes none
 * longer than MAX_STRING_LENGTH (about 512 MiB on 64-bit); UTF-8 never has fewer bytes than
 * characters, so a line within this many bytes always decodes.
 */
export const MAX_CLIENT_LINE_BYTES = Math.min(MAX_LINE_BYTES, constants.MAX_STRING_LENGTH);

const NEWLINE = 0x0a;

export interface LineSink {
  /** A complete line, terminator included (absent only for a final unterminated line at end). */
  line(bytes: Buffer): void;
  /** A line longer than the limit was discarded; `bytes` is how many were dropped. */
  oversize(bytes: number): void;
  /**
   * A line has grown past the streaming threshold with no newline yet. Return true to take it
   * as it arrives instead — `head` now, then more(), then done() — so it is never held whole.
   */
  stream?(head: Buffer[]): boolean;
  more?(bytes: Buffer): void;
  /** The streamed line's last bytes, terminator included; undefined if the input ended first. */
  done?(tail: Buffer | undefined): void;
}

export class LineSplitter {
  readonly #sink: LineSink;
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #discarding = false;
  readonly #streamAfter: number;
  #streaming = false;
  /** The sink declined to stream the line in progress: hold it as usual. */
  #declined = false;

  constructor(sink: LineSink, maxLineBytes = MAX_LINE_BYTES, streamAfter = Infinity) {
    this.#sink = sink;
    this.#maxLineBytes = maxLineBytes;
    this.#streamAfter = sink.stream === undefined ? Infinity : streamAfter;
  }

  push(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    while (newline !== -1) {
      const end = newline + 1;
      this.#declined = false;
      if (this.#streaming) {
        this.#streaming = false;
        this.#sink.done!(chunk.subarray(start, end));
      } else if (this.#discarding) {
        this.#sink.oversize(this.#pendingBytes + end - start);
        this.#discarding = false;
        this.#pendingBytes = 0;
      } else if (this.#pending.length === 0) {
        this.#emit(chunk.subarray(start, end));
      } else {
        this.#pending.push(chunk.subarray(start, end));
        const line = Buffer.concat(this.#pending, this.#pendingBytes + end - start);
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#emit(line);
      }
      start = end;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.#hold(chunk.subarray(start));
  }

  /** The stream ended: a final line without a newline is still a line. */
  end(): void {
    if (this.#streaming) {
      this.#streaming = false;
      this.#sink.done!(undefined);
    } else if (this.#discarding) {
      this.#sink.oversize(this.#pendingBytes);
    } else if (this.#pendingBytes > 0) {
      this.#emit(Buffer.concat(this.#pending, this.#pendingBytes));
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#discarding = false;
    this.#declined = false;
  }

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.#discarding ? 0 : this.#pendingBytes;
  }

  #hold(rest: Buffer): void {
    if (this.#streaming) {
      this.#sink.more!(rest);
      return;
    }
    this.#pendingBytes += rest.length;
    if (this.#discarding) return;
    if (this.#pendingBytes > this.#maxLineBytes) {
      this.#pending = [];
      this.#discarding = true;
      return;
    }
    this.#pending.push(rest);
    if (this.#pendingBytes >= this.#streamAfter && !this.#declined) {
      if (this.#sink.stream!(this.#pending)) {
        this.#streaming = true;
        this.#pending = [];
        this.#pendingBytes = 0;
      } else {
        this.#declined = true;
      }
    }
  }

  #emit(line: Buffer): void {
    if (line.length > this.#maxLineBytes) {
      this.#sink.oversize(line.length);
      return;
    }
    this.#sink.line(line);
  }
}

/** Where the line's content ends: before its "\n" or "\r\n". */
export function contentEnd(line: Buffer): number {
  let end = line.length;
  if (end > 0 && line[end - 1] === NEWLINE) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return end;
}
