// A large server line, forwarded as it arrives instead of held whole. Once a line passes the
// streaming threshold it streams if what came so far is well-formed JSON whose first key is a
// JSON-RPC one, and it cannot be a list that needs hidden tools removed. An incremental checker
// (wire/stream.ts) follows it in constant memory. A response is checked against the requests in
// flight as soon as its id has arrived (the TypeScript SDK writes the id last); checked before
// each chunk is sent, a line found to answer nothing the server was sent never arrives whole.
// A line that may have to be redacted (SPEC §13: it answers, or may answer, a call of a tool
// with `redact`, or is a log message under all_tools' `redact`) is held instead of streamed,
// up to its max_bytes, and routed whole when it ends; past max_bytes it is dropped as it comes
// and its request gets the withheld result. Held lines found not to need it stream from there.
import type { Pending } from "./in-flight.ts";
import type { Logger } from "./log.ts";
import type { Outbox } from "./outbox.ts";
import { JsonStream } from "../wire/stream.ts";

export interface StreamHost {
  log: Logger;
  outbox: Outbox;
  /** Whether a line starting now may need hidden tools removed, and so must be held whole. */
  mayNeedFiltering(): boolean;
  /** The request in flight a response with this id (raw JSON text) answers; undefined (and a warning) if none. */
  answering(rawId: string): Pending | undefined;
  /** The streamed answer to `pending` arrived whole. */
  answered(pending: Pending, isError: boolean): void;
  /** The streamed answer to `pending` was cut off as malformed: answer it now. */
  failed(pending: Pending, message: string): void;
  /** How many bytes of a line answering `pending` may be held to be redacted; undefined when it is not redacted. */
  holdLimit(pending: Pending): number | undefined;
  /** The same for a line whose request is not known yet (`response`: it is a response). */
  holdLimitUnknown(response: boolean): number | undefined;
  /** The same for a server notification or request (`method`: its raw JSON, undefined until read). */
  holdLimitMessage(method: string | undefined): number | undefined;
  /** The held answer to `pending` grew past what may be held (`bytes` in all): it is withheld. */
  withheld(pending: Pending, bytes: number): void;
}

/** A line held whole to be redacted: its bytes so far, or none once past the limit (`over`). */
interface Held {
  chunks: Buffer[];
  bytes: number;
  over: boolean;
}

const NEWLINE = Buffer.from("\n");
const ENVELOPE_KEYS = new Set(["jsonrpc", "id", "method", "params", "result", "error"]);

export class ServerStream {
  readonly #host: StreamHost;
  #stream: JsonStream | undefined;
  /** The request the streamed line answers, once its id has named one. */
  #for: Pending | undefined;
  /** The line was ended early (cut or malformed): the rest of it is not forwarded. */
  #ended = false;
  /** Set while the line is held rather than streamed. */
  #held: Held | undefined;

  constructor(host: StreamHost) {
    this.#host = host;
  }

  /** The line has passed the threshold with `head` so far: returns whether it streams. */
  start(head: Buffer[]): boolean {
    const stream = new JsonStream();
    for (const bytes of head) if (!stream.push(bytes)) return false;
    if (!stream.topIsObject || !ENVELOPE_KEYS.has(stream.envelope.keys[0] ?? "")) return false;
    if (this.#host.mayNeedFiltering()) return false;
    this.#for = undefined;
    this.#ended = false;
    // An answer to an id the server was never sent is not streamed at all.
    if (this.#answers(stream) === false) return false;
    this.#stream = stream;
    if (this.#holdLimit(stream) !== undefined) {
      this.#held = { chunks: [], bytes: 0, over: false };
      for (const bytes of head) this.#hold(stream, bytes);
      return true;
    }
    this.#host.outbox.streaming = true;
    for (const bytes of head) this.#host.outbox.stream(bytes);
    return true;
  }

  more(bytes: Buffer): void {
    const stream = this.#stream!;
    if (this.#ended) return;
    if (!stream.push(bytes)) this.#broken(stream);
    else if (this.#answers(stream) === false) this.#end();
    else if (this.#held !== undefined) this.#hold(stream, bytes);
    else this.#host.outbox.stream(bytes);
  }

  /** A held line is given up: none of it was sent, so, unlike a streamed one, nothing ends it. */
  #dropHeld(): void {
    this.#ended = true;
    this.#held = undefined;
  }

  /**
   * The line ended (`tail` holds its last bytes and newline) or the input did. Returns a line
   * that was held whole, to be routed as if it had never been long.
   */
  done(tail: Buffer | undefined): Buffer | undefined {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) return this.#doneHeld(held, tail);
    const stream = this.#stream!;
    if (!this.#ended) {
      if (tail === undefined || !stream.push(tail) || !stream.end()) {
        if (tail === undefined) stream.end();
        this.#broken(stream);
      } else if (this.#answers(stream) === false) {
        this.#end();
      } else {
        this.#host.outbox.stream(tail);
        if (this.#for !== undefined) this.#host.answered(this.#for, !stream.envelope.keys.includes("result") || stream.envelope.resultIsError);
      }
    }
    this.#stream = undefined;
    this.#for = undefined;
    this.#host.outbox.streaming = false;
    return undefined;
  }

  /** How many bytes of the line, as far as it has come, may be held; undefined when it need not be. */
  #holdLimit(stream: JsonStream): number | undefined {
    if (stream.envelope.keys.includes("method")) return this.#host.holdLimitMessage(stream.envelope.values.get("method"));
    if (this.#for !== undefined) return this.#host.holdLimit(this.#for);
    return this.#host.holdLimitUnknown(stream.envelope.keys.includes("result") || stream.envelope.keys.includes("error"));
  }

  /** More of a held line: kept while within the limit, dropped past it; streamed from here if it proves not to need redacting. */
  #hold(stream: JsonStream, bytes: Buffer): void {
    const held = this.#held!;
    held.bytes += bytes.length;
    const limit = this.#holdLimit(stream);
    if (limit === undefined && !held.over) {
      this.#held = undefined;
      this.#host.outbox.streaming = true;
      for (const chunk of held.chunks) this.#host.outbox.stream(chunk);
      this.#host.outbox.stream(bytes);
      return;
    }
    if (held.over) return;
    if (limit !== undefined && held.bytes > limit) {
      held.over = true;
      held.chunks = [];
      return;
    }
    held.chunks.push(bytes);
  }

  /** A held line ended: whole, to be routed; or past its limit, withheld. */
  #doneHeld(held: Held, tail: Buffer | undefined): Buffer | undefined {
    const stream = this.#stream!;
    const pending = this.#for;
    this.#stream = undefined;
    this.#for = undefined;
    if (this.#ended) return undefined;
    if (tail === undefined || !stream.push(tail) || !stream.end()) {
      if (tail === undefined) stream.end();
      this.#host.log.warn(`server sent a large line that turned out not to be JSON (${stream.error} at byte ${stream.at}); it was held to be redacted, and was dropped`);
      if (pending !== undefined) this.#host.failed(pending, `mcpgate: the server's answer was malformed (${stream.error} at byte ${stream.at})`);
      return undefined;
    }
    if (this.#answersAt(stream, pending) === false) return undefined;
    const bytes = held.bytes + tail.length;
    if (!held.over) return Buffer.concat([...held.chunks, tail], bytes);
    const answered = this.#for ?? pending;
    this.#for = undefined;
    if (answered !== undefined) this.#host.withheld(answered, bytes);
    else this.#host.log.warn(`dropped a server message of ${bytes} bytes: it was held to be redacted, and is larger than max_bytes`);
    return undefined;
  }

  /** #answers for a line whose state was already taken apart (`pending`: the request it named so far). */
  #answersAt(stream: JsonStream, pending: Pending | undefined): boolean | undefined {
    this.#for = pending;
    return this.#answers(stream);
  }

  /**
   * Whether the line, as far as it has come, is a response to a request the server was sent:
   * true once its id names one (remembered), false when it names none (or it ended without a
   * usable id, or as no JSON-RPC message), undefined while that cannot be told yet (or it is a
   * request of the server's own).
   */
  #answers(stream: JsonStream): boolean | undefined {
    if (this.#for !== undefined) return true;
    const { keys } = stream.envelope;
    if (keys.includes("method")) return undefined;
    const raw = stream.envelope.values.get("id");
    if (raw === undefined || !(keys.includes("result") || keys.includes("error"))) {
      if (!stream.done) return undefined;
      this.#host.log.warn("server sent a large JSON line that is not a JSON-RPC message (or whose id is too long); it was cut off");
      return false;
    }
    this.#for = this.#host.answering(raw);
    return this.#for !== undefined;
  }

  /** Ends a line partly sent so that the client discards it: a newline inside an open object. */
  #end(): void {
    if (this.#held !== undefined) {
      this.#dropHeld();
      return;
    }
    this.#ended = true;
    this.#host.outbox.stream(NEWLINE);
    // The client's line is over: what waited for it may go now.
    this.#host.outbox.streaming = false;
  }

  /**
   * The line proved not to be JSON after part of it was sent. It is cut off where it stands, so
   * the client discards one malformed line and the stream stays framed; the request it
   * answered (when its id came before the fault) gets an error at once.
   */
  #broken(stream: JsonStream): void {
    const held = this.#held !== undefined;
    this.#host.log.warn(`server sent a large line that turned out not to be JSON (${stream.error} at byte ${stream.at}) ${held ? "while it was held to be redacted; it was dropped" : "after its start was forwarded; the line was cut off there"}`);
    this.#end();
    const pending = this.#for;
    if (pending !== undefined) this.#host.failed(pending, `mcpgate: the server's answer was malformed (${stream.error} at byte ${stream.at})${held ? "" : " and was cut off"}`);
  }
}
