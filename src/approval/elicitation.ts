// Asking a human through the client: MCP elicitation, where the gateway sends its own
// elicitation/create to a client that declared it can show forms, under ids of its own.
import { randomBytes } from "node:crypto";
import { idKey } from "../wire/message.ts";
import type { ApprovalAnswer, ApprovalRequest } from "./answer.ts";

const ARGS_SHOWN = 2_000;

/** JSON text of `value`, cut to `limit` characters with a note of how much is left out. */
export function shorten(value: unknown, limit = ARGS_SHOWN): string {
  const text = JSON.stringify(value, null, 2) ?? "null";
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

/** Whether an initialize request's capabilities let us send a form-mode elicitation. */
export function canElicitForm(capabilities: unknown): boolean {
  if (capabilities === null || typeof capabilities !== "object") return false;
  const elicitation = (capabilities as { elicitation?: unknown }).elicitation;
  if (elicitation === null || typeof elicitation !== "object" || Array.isArray(elicitation)) return false;
  // 2025-11-25 names the modes; an empty object (2025-06-18) means form.
  const modes = elicitation as { form?: unknown; url?: unknown };
  return modes.form !== undefined || modes.url === undefined;
}

/** Ids for our own requests to the client: a per-process random prefix the server cannot guess. */
export class PrivateIds {
  readonly prefix = `mcpgate-approval-${randomBytes(6).toString("hex")}-`;
  #next = 1;

  next(): string {
    return `${this.prefix}${this.#next++}`;
  }

  /** Whether an id key (see message.ts) is one of ours, however late its answer comes. */
  owns(key: string): boolean {
    return key.startsWith(idKey(this.prefix));
  }
}

const SESSION_FIELD = "allow_for_session";

/** The params of a form elicitation that asks a human about one call: its message and form. */
export function approvalForm(request: ApprovalRequest, timeoutMs: number, offerSession: boolean): { message: string; requestedSchema: object } {
  const message = [
    `mcpgate: the agent wants to call the tool "${request.tool}". Allow it?`,
    `Why you are asked: ${request.reason}`,
    `Arguments: ${shorten(request.args)}`,
    `Accept to run it once; decline to deny it. No answer in ${Math.round(timeoutMs / 1000)} s denies it.`,
  ].join("\n");
  const properties: Record<string, unknown> = {};
  if (offerSession) {
    properties[SESSION_FIELD] = {
      type: "boolean",
      title: "Also allow identical calls for the rest of this session",
      description: `Calls to ${request.tool} with exactly these arguments will not ask again until the client disconnects.`,
      default: false,
    };
  }
  return { message, requestedSchema: { type: "object", properties } };
}

/** The elicitation/create request that asks a human about one call. */
export function elicitationRequest(id: string, request: ApprovalRequest, timeoutMs: number, offerSession: boolean): Buffer {
  const params = approvalForm(request, timeoutMs, offerSession);
  return Buffer.from(`${JSON.stringify({ jsonrpc: "2.0", id, method: "elicitation/create", params })}\n`);
}

/** What the client answered to our elicitation/create: its response message, decoded. */
export function elicitationAnswer(response: unknown): ApprovalAnswer {
  const { result, error } = (response ?? {}) as { result?: unknown; error?: unknown };
  if (error !== undefined) {
    const message = (error as { message?: unknown } | null)?.message;
    return { approved: false, outcome: "error", reason: `the client could not show the approval prompt (${typeof message === "string" ? message : JSON.stringify(error)})` };
  }
  const { action, content } = (result ?? {}) as { action?: unknown; content?: unknown };
  if (action === "accept") {
    const session = (content as Record<string, unknown> | null | undefined)?.[SESSION_FIELD] === true;
    return session ? { approved: true, session } : { approved: true };
  }
  if (action === "decline") return { approved: false, outcome: "declined", reason: "a human declined it" };
  if (action === "cancel") return { approved: false, outcome: "cancelled", reason: "the approval prompt was dismissed without an answer" };
  return { approved: false, outcome: "error", reason: `the client's answer to the approval prompt was not understood (action ${JSON.stringify(action)})` };
}
