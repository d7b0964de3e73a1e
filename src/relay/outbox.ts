// What goes to the client, in order. Server lines pass as they come; a large one is streamed
// (see server-stream.ts), and while it is in the middle of stdout mcpgate's own messages —
// denials, errors, approval prompts — wait for its end, so they never land inside it.
export class Outbox {
  readonly #write: (bytes: Buffer) => void;
  #streaming = false;
  #deferred: Buffer[] = [];

  constructor(write: (bytes: Buffer) => void) {
    this.#write = write;
  }

  /** One whole message (ours, or a server line held whole): now, or after the streamed line. */
  send(bytes: Buffer): void {
    if (this.#streaming) this.#deferred.push(bytes);
    else this.#write(bytes);
  }

  /** Bytes of the line being streamed, or what ends it: always at once. */
  stream(bytes: Buffer): void {
    this.#write(bytes);
  }

  /** A streamed line starts (true) or has ended (false); at its end what waited goes out. */
  set streaming(on: boolean) {
    this.#streaming = on;
    if (on) return;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const bytes of deferred) this.#write(bytes);
  }
}
