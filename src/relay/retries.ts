// A tools/call that carries a requestState: the client's retry after an `input_required` round
// (protocol 2026-07-28, SPEC §10). Every such state must be one mcpgate minted for this very
// call, unused and unexpired — else the retry is denied, saying which. A retry of mcpgate's own
// approval round is the human's answer: yes → limits re-checked and consumed, and the call goes
// to the server without mcpgate's inputResponses and requestState; no → denied. A retry of a
// round the server opened continues a call already judged and counted: forwarded with the
// server's own state restored, not judged or counted again.
import type { SessionAllowances } from "../approval/allowances.ts";
import { roundAnswer } from "../approval/mrtr.ts";
import type { Rounds } from "../approval/rounds.ts";
import type { ArgsField, CallAudit } from "../audit/call-event.ts";
import type { SharedCharge, Verdict } from "../policy/decision.ts";
import { chargeForward, evaluate, evaluateApproved, type Taken } from "../policy/evaluate.ts";
import { afterApproval, afterRefusal } from "../policy/verdict.ts";
import { editMember } from "../wire/rebuild.ts";
import type { RequestFrame } from "../wire/request-frame.ts";
import type { LivePolicy } from "./live-policy.ts";
import type { Logger } from "./log.ts";
import type { PinTracker } from "../pins/tracker.ts";

export interface RetriesOptions {
  live: LivePolicy;
  now(): number;
  log: Logger;
  audit: CallAudit;
  allowances: SessionAllowances;
  rounds: Rounds;
  /** The server's tool pins, an input of the judgement as for any call. */
  pins?: PinTracker;
}

/** A retry's fate: forward these bytes (the call as judged), or deny it with this verdict. */
export type RetryOutcome =
  | { action: "forward"; bytes: Buffer; verdict: Verdict; approval?: "accepted" | "session"; rule: string; digest: string; shared?: SharedCharge; taken?: Taken[] }
  | { action: "deny"; verdict: Verdict };

export class Retries {
  readonly #options: RetriesOptions;

  constructor(options: RetriesOptions) {
    this.#options = options;
  }

  /** Judges the retry `line` of a call to `name` with `args`; records a denial in the audit log. */
  judge(line: Buffer, name: string, args: Record<string, unknown>, frame: RequestFrame, field: ArgsField | undefined): RetryOutcome {
    const { rounds, audit } = this.#options;
    const check = rounds.retry(frame.requestState, name, line);
    if (!check.ok) {
      const verdict: Verdict = { effect: "deny", tool: name, rule: "requestState", reason: check.reason };
      audit.denied(verdict, field, { approval: check.outcome });
      return { action: "deny", verdict };
    }
    const { claims } = check;
    if (claims.kind === "continue") {
      const edits = claims.server === undefined ? { remove: ["requestState"] } : { set: { requestState: claims.server } };
      const verdict: Verdict = { effect: "allow", tool: name, rule: claims.rule, reason: "continues a call already judged and counted (the server asked for input)" };
      return { action: "forward", bytes: editMember(line, "params", edits), verdict, rule: claims.rule, digest: claims.digest };
    }
    return this.#approved(line, name, args, frame, field, claims.digest);
  }

  /** The retry of mcpgate's own approval round: what the human said, under the policy in force now. */
  #approved(line: Buffer, name: string, args: Record<string, unknown>, frame: RequestFrame, field: ArgsField | undefined, digest: string): RetryOutcome {
    const { live, now, log, audit, allowances } = this.#options;
    const { current: policy, counters } = live;
    const at = now();
    const call = { name, args };
    const pins = policy.pins === undefined ? undefined : this.#options.pins?.facts(name);
    // The policy in force now asks again (a reload may have changed it since the round).
    const asked = evaluate(policy, call, at, counters, pins).verdict;
    const answer = roundAnswer(frame.inputResponses);
    if (asked.effect === "deny" || !answer.approved) {
      const verdict = asked.effect === "deny" ? asked : afterRefusal(asked, answer.approved ? "" : answer.reason).verdict;
      audit.denied(verdict, field, { approval: answer.approved ? "accepted" : answer.outcome });
      return { action: "deny", verdict };
    }
    const judged = afterApproval(asked, evaluateApproved(policy, call, at, counters, pins));
    if (judged.action !== "forward") {
      audit.denied(judged.verdict, field, { approval: "accepted" });
      return { action: "deny", verdict: judged.verdict };
    }
    // Kept to be given back if the store denies the call, or its result fails (refund: on_error).
    const taken = chargeForward(counters, judged.charge, at, judged.shared, policy.refunds);
    // Only when the form offered it (approval.offer_session): an answer cannot add what was not asked.
    const session = answer.session === true && policy.approval.offerSession;
    if (session) allowances.add(name, line);
    log.warn(`a human approved ${name} [${asked.rule}]${session ? ", and identical calls for the rest of this session" : ""}`);
    const bytes = editMember(line, "params", { remove: ["inputResponses", "requestState"] });
    const outcome: RetryOutcome = { action: "forward", bytes, verdict: judged.verdict, approval: "accepted", rule: judged.verdict.rule, digest };
    if (judged.shared !== undefined) outcome.shared = judged.shared;
    if (taken !== undefined) outcome.taken = taken;
    return outcome;
  }
}
