// Approval in protocol 2026-07-28, where a stdio server (and so mcpgate) must not send the
// client requests: the held call is answered with an `input_required` result carrying one form
// elicitation and a requestState of mcpgate's (request-state.ts); the client asks the human and
// retries the call with the answer in `inputResponses` (SPEC §10).
import type { ApprovalAnswer, ApprovalRequest } from "./answer.ts";
import { approvalForm, elicitationAnswer } from "./elicitation.ts";

/** The key of mcpgate's request among `inputRequests`, and of its answer among `inputResponses`. */
export const APPROVAL_INPUT = "mcpgate_approval";

/** The `input_required` result that asks a human about one call. */
export function approvalRound(request: ApprovalRequest, timeoutMs: number, offerSession: boolean, requestState: string): object {
  const params = { mode: "form", ...approvalForm(request, timeoutMs, offerSession) };
  return { resultType: "input_required", inputRequests: { [APPROVAL_INPUT]: { method: "elicitation/create", params } }, requestState };
}

/** What a retry's `inputResponses` say to mcpgate's request. */
export function roundAnswer(inputResponses: unknown): ApprovalAnswer {
  const answer = inputResponses !== null && typeof inputResponses === "object" && Object.hasOwn(inputResponses, APPROVAL_INPUT) ? (inputResponses as Record<string, unknown>)[APPROVAL_INPUT] : undefined;
  if (answer === undefined) return { approved: false, outcome: "error", reason: `the retry carried no answer to the approval request (inputResponses.${APPROVAL_INPUT})` };
  return elicitationAnswer({ result: answer });
}
