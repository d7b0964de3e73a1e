// What happens to a judged call, given its session: the one step shared by the relay and
// `mcpgate explain`, so explain says what the relay would do. Pure: the caller says whether a
// human already allowed this exact call for the session, which approval channel exists, and
// whether this is a dry run.
import { NO_CHARGE, type Charge, type Evaluation, type SharedCharge, type Verdict } from "./decision.ts";

/** How a human can be asked: the --approver command, the client by elicitation, or not at all. */
export type Channel = "approver" | "elicitation" | "none";

export const CHANNELS: readonly Channel[] = ["elicitation", "approver", "none"];

export interface VerdictContext {
  /** A human allowed this tool with these exact arguments for the rest of the session. */
  sessionAllowed: boolean;
  channel: Channel;
  /** Judge and report, but forward everything. */
  dryRun: boolean;
}

/**
 * - forward: send the call to the server, then apply `charge`;
 * - deny: answer with denialResult(verdict), consume nothing;
 * - ask: hold the call and ask a human over the channel; on a yes, judge it again with
 *   evaluateApproved() and charge that;
 * - dry-run-forward: a call that would be denied or asked about is forwarded unjudged (dry run),
 *   consuming nothing; `verdict` says what would have happened.
 */
export type Action = "forward" | "deny" | "ask" | "dry-run-forward";

export interface Outcome {
  action: Action;
  /** The verdict as it stands after the context: a session allowance allows, no channel denies. */
  verdict: Verdict;
  /** What to consume now: the evaluation's charge when forwarding, else nothing. */
  charge: Charge;
  /** When forwarding: the global limits the store must pass first (SPEC §14), if any. */
  shared?: SharedCharge;
}

/** Turns an evaluation into what happens, given the session's context. */
export function outcomeOf({ verdict, charge, shared }: Pick<Evaluation, "verdict" | "charge" | "shared">, context: VerdictContext): Outcome {
  let judged = verdict;
  if (verdict.effect === "approve") {
    if (context.sessionAllowed) {
      return withShared({ action: "forward", verdict: { ...verdict, effect: "allow", reason: `allowed by a human for the rest of this session (${verdict.rule})` }, charge }, shared);
    }
    if (context.channel === "none") {
      judged = { ...verdict, effect: "deny", reason: `${verdict.reason}: a human's approval is required, and no approval channel exists (the client does not support elicitation and no --approver is set)` };
    } else if (!context.dryRun) {
      return { action: "ask", verdict, charge: NO_CHARGE };
    }
  }
  if (judged.effect === "allow") return withShared({ action: "forward", verdict: judged, charge }, shared);
  return { action: context.dryRun ? "dry-run-forward" : "deny", verdict: judged, charge: NO_CHARGE };
}

function withShared(outcome: Outcome, shared: SharedCharge | undefined): Outcome {
  if (shared !== undefined) outcome.shared = shared;
  return outcome;
}

/**
 * A held call a human said yes to, judged again with evaluateApproved(): forwarded under the
 * rule that asked, or denied if something (a limit, say) changed meanwhile.
 */
export function afterApproval(asked: Verdict, recheck: Pick<Evaluation, "verdict" | "charge" | "shared">): Outcome {
  if (recheck.verdict.effect !== "allow") return { action: "deny", verdict: recheck.verdict, charge: NO_CHARGE };
  return withShared({ action: "forward", verdict: { ...recheck.verdict, rule: asked.rule, reason: `approved by a human (${asked.reason})` }, charge: recheck.charge }, recheck.shared);
}

/** A held call no human approved (declined, dismissed, timed out, failed): denied, saying why. */
export function afterRefusal(asked: Verdict, why: string): Outcome {
  return { action: "deny", verdict: { ...asked, effect: "deny", reason: `${asked.reason}; ${why}` }, charge: NO_CHARGE };
}
