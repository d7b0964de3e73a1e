// Messages the gateway writes itself. Ids are spliced in as the peer wrote them, so a numeric id
// beyond 2^53 comes back exactly as it was sent.
import type { Id } from "./message.ts";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** Implementation-defined server error: the wrapped server is gone or cannot take more. */
export const SERVER_ERROR = -32000;

export function errorReply(id: Id, code: number, message: string, data?: unknown): Buffer {
  const error = data === undefined ? { code, message } : { code, message, data };
  return Buffer.from(`{"jsonrpc":"2.0","id":${id.raw},"error":${JSON.stringify(error)}}\n`);
}

export function resultReply(id: Id, result: unknown): Buffer {
  return Buffer.from(`{"jsonrpc":"2.0","id":${id.raw},"result":${JSON.stringify(result)}}\n`);
}

/** A JSON-RPC batch response made of already-serialized responses (each ending in "\n"). */
export function batchReply(parts: Buffer[]): Buffer {
  const bodies = parts.map((part) => part.subarray(0, part.length - 1).toString("utf8"));
  return Buffer.from(`[${bodies.join(",")}]\n`);
}
