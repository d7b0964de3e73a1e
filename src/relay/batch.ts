// JSON-RPC batches in both directions. A client batch is judged element by element: what is
// allowed goes to the server as one batch, and mcpgate's own answers (denials, errors) wait to
// be merged into the server's batch response, so the client gets one response per request. A
// server batch is settled element by element, each answer kept or dropped on its own.
import { batchReply, errorReply, INVALID_REQUEST } from "../wire/reply.ts";
import { classifyElement, NULL_ID, type Message } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";

/** mcpgate's own answers to some requests of a client batch, sent with the server's answers to the rest. */
export class BatchReplies {
  replies: Buffer[] = [];
  /** Requests of the batch still waiting: for the server, or for a human. */
  awaiting = 0;

  /**
   * One request of the batch is settled. When none is left waiting, the batch's own answers go
   * out: into `collector` (a server batch response being assembled), or returned to send alone.
   */
  settle(collector: Buffer[] | undefined): Buffer | undefined {
    if (--this.awaiting > 0) return undefined;
    if (collector !== undefined) {
      collector.push(...this.replies);
      this.replies = [];
      return undefined;
    }
    return this.flush();
  }

  /** The batch's own answers as one batch response, once; undefined when there are none. */
  flush(): Buffer | undefined {
    if (this.replies.length === 0) return undefined;
    const reply = batchReply(this.replies);
    this.replies = [];
    return reply;
  }
}

/**
 * What handling one message of a client batch came to: forward it, forward these bytes in its
 * place (a retry without mcpgate's own round members), it waits for a human, our reply, or nothing.
 */
export type ElementOutcome = "forward" | { forward: Buffer } | "held" | Buffer | undefined;

/**
 * Splits a client batch: each element goes to `handle`. Returns the bytes for the server (the
 * line itself when every element passes, else a batch of those that do; none if none does).
 */
export function splitClientBatch(line: Buffer, elements: Span[], batch: BatchReplies, handle: (element: Buffer, message: Message) => ElementOutcome): Buffer | undefined {
  const kept: (Span | Buffer)[] = [];
  let edited = false;
  for (const span of elements) {
    const element = line.subarray(span.start, span.end);
    const message = classifyElement(element);
    const outcome = handle(element, message);
    if (outcome === "forward" || (typeof outcome === "object" && !Buffer.isBuffer(outcome))) {
      kept.push(outcome === "forward" ? span : outcome.forward);
      edited ||= outcome !== "forward";
      if (message.kind === "request") batch.awaiting++;
    } else if (outcome === "held") {
      // Answered later: by our denial, or by the server once a human approves.
      batch.awaiting++;
    } else if (outcome !== undefined) {
      batch.replies.push(outcome);
    }
  }
  if (kept.length === elements.length && !edited) return line;
  if (kept.length === 0) return undefined;
  return Buffer.from(`[${kept.map((part) => (Buffer.isBuffer(part) ? part.toString("utf8") : line.toString("utf8", part.start, part.end))).join(",")}]\n`);
}

/** Where the elements of a client batch go: made once, used for every batch. */
export interface ClientBatchRoute {
  /** Handles one element as a message alone is handled, its answers kept for `batch`. */
  handle(element: Buffer, message: Message, batch: BatchReplies): ElementOutcome;
  /** Handling the element threw: what answers it (it is never forwarded). */
  failed(element: Buffer, message: Message, error: unknown): ElementOutcome;
  toServer(bytes: Buffer): void;
  /** Sends one of mcpgate's own messages to the client. */
  send(bytes: Buffer): void;
}

/**
 * Routes a client batch (`elements`, the spans of `line`'s values): what passes goes to the
 * server at once; mcpgate's own answers go now if no request is left waiting, else with the
 * server's (BatchReplies.settle).
 */
export function routeClientBatch(line: Buffer, elements: Span[], route: ClientBatchRoute): void {
  if (elements.length === 0) {
    route.send(errorReply(NULL_ID, INVALID_REQUEST, "Invalid Request: empty batch"));
    return;
  }
  const batch = new BatchReplies();
  const toServer = splitClientBatch(line, elements, batch, (element, message) => {
    try {
      return route.handle(element, message, batch);
    } catch (error) {
      return route.failed(element, message, error);
    }
  });
  if (toServer !== undefined) route.toServer(toServer);
  if (batch.awaiting === 0) {
    const flushed = batch.flush();
    if (flushed !== undefined) route.send(flushed);
  }
}

/** A server batch element's fate: kept as is (undefined), rewritten (text, or bytes ending as the message did), or dropped. */
export const DROP = Symbol("drop");
export type ElementAnswer = string | Buffer | undefined | typeof DROP;

/**
 * Settles a server batch element by element; `own` collects mcpgate's answers to client
 * batches settled by it. Returns the line unchanged when nothing changed, the rebuilt batch, or
 * undefined when nothing is left to send.
 */
export function mergeServerBatch(line: Buffer, elements: Span[], handle: (element: Buffer, message: Message, own: Buffer[]) => ElementAnswer): Buffer | undefined {
  const own: Buffer[] = [];
  const parts: string[] = [];
  let changed = false;
  for (const span of elements) {
    const element = line.subarray(span.start, span.end);
    const text = handle(element, classifyElement(element), own);
    if (text === DROP) {
      changed = true;
      continue;
    }
    if (text !== undefined) changed = true;
    parts.push(text === undefined ? element.toString("utf8") : Buffer.isBuffer(text) ? text.toString("utf8").trimEnd() : text);
  }
  if (!changed && own.length === 0) return line;
  for (const reply of own) parts.push(reply.toString("utf8").trimEnd());
  return parts.length === 0 ? undefined : Buffer.from(`[${parts.join(",")}]\n`);
}
