// What is asked of a human about one call, and what comes back, whatever the channel.

export interface ApprovalRequest {
  tool: string;
  args: Record<string, unknown>;
  /** Why a human is asked: the policy's reason or the approve_if condition that matched. */
  reason: string;
  rule: string;
}

export type ApprovalAnswer = { approved: true; session?: boolean } | { approved: false; outcome: "declined" | "cancelled" | "timeout" | "error"; reason: string };

/** An approval channel outside the protocol. Aborting `signal` withdraws the question. */
export type Approver = (request: ApprovalRequest, signal: AbortSignal) => Promise<ApprovalAnswer>;
