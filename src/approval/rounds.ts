// mcpgate's side of multi-round-trip (MRTR) rounds in protocol 2026-07-28 (SPEC §10): the
// approval round it opens for a call that needs a human, and the rounds a server opens for a
// call mcpgate forwarded, whose state it wraps. Each round's state binds the call (tool and a
// digest of its canonical arguments), expires, and works once (request-state.ts); a retry is
// checked against it here and the caller is told what the retry may do.
import type { ArgsField } from "../audit/call-event.ts";
import type { Verdict } from "../policy/decision.ts";
import { canonicalArguments } from "../wire/tools-call.ts";
import { approvalRound } from "./mrtr.ts";
import { argumentsDigest, RequestStates, type StateClaims } from "./request-state.ts";

/** How long the client has to continue a round the server opened (its human may be slow too). */
export const CONTINUATION_MS = 10 * 60_000;

export interface RoundsOptions {
  now(): number;
  /** The policy's approval settings in force. */
  settings(): { timeoutMs: number; offerSession: boolean };
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** An approval round ended without a retry: the call was never allowed. */
  expired(verdict: Verdict, field: ArgsField | undefined, timeoutMs: number): void;
}

/** What a retry's state allows, or why it is refused (and how the audit log names that). */
export type RetryCheck = { ok: true; claims: StateClaims } | { ok: false; reason: string; outcome: "forged" | "expired" | "reused" | "mismatch" };

export class Rounds {
  readonly #options: RoundsOptions;
  readonly #states: RequestStates;
  /** Approval rounds not yet retried: the timer that records them as unanswered, by state. */
  readonly #waiting = new Map<string, () => void>();

  constructor(options: RoundsOptions, states = new RequestStates(options.now)) {
    this.#options = options;
    this.#states = states;
  }

  /** The `input_required` result that asks a human about a call whose exact line is `line`. */
  approval(verdict: Verdict, args: Record<string, unknown>, line: Buffer, field: ArgsField | undefined): object {
    const { timeoutMs, offerSession } = this.#options.settings();
    const digest = argumentsDigest(canonicalArguments(line));
    const state = this.#states.mint({ kind: "approve", tool: verdict.tool, digest, rule: verdict.rule }, timeoutMs);
    const cancel = this.#options.setTimer(timeoutMs, () => {
      this.#waiting.delete(state);
      this.#options.expired(verdict, field, timeoutMs);
    });
    this.#waiting.set(state, cancel);
    return approvalRound({ tool: verdict.tool, args, reason: verdict.reason, rule: verdict.rule }, timeoutMs, offerSession, state);
  }

  /** A state of ours to stand for the server's own (or for none) in a round the server opened. */
  continuation(tool: string, digest: string, rule: string, server: string | undefined): string {
    return this.#states.mint({ kind: "continue", tool, digest, rule, ...(server === undefined ? {} : { server }) }, CONTINUATION_MS);
  }

  /** Checks a retry's requestState against the call it came with, using the state up. */
  retry(state: unknown, tool: string, line: Buffer): RetryCheck {
    const cancel = typeof state === "string" ? this.#waiting.get(state) : undefined;
    const opened = this.#states.open(state);
    if (!opened.ok) {
      if (opened.why === "forged") return { ok: false, outcome: "forged", reason: "the retry's requestState was not issued by this mcpgate (forged, altered, or from an earlier run); call the tool again" };
      if (opened.why === "expired") return { ok: false, outcome: "expired", reason: "the retry's requestState has expired; call the tool again" };
      return { ok: false, outcome: "reused", reason: "the retry's requestState was used already (each works once); call the tool again" };
    }
    // Its timer fired (audited as a timeout) a moment before the state's own expiry: it is over.
    if (opened.claims.kind === "approve" && cancel === undefined) return { ok: false, outcome: "expired", reason: "the retry's requestState has expired; call the tool again" };
    if (cancel !== undefined) {
      cancel();
      this.#waiting.delete(state as string);
    }
    const { claims } = opened;
    if (claims.tool !== tool || claims.digest !== argumentsDigest(canonicalArguments(line))) {
      return { ok: false, outcome: "mismatch", reason: `the retry's requestState was issued for another call (${claims.tool === tool ? "other arguments" : `tool ${JSON.stringify(claims.tool)}`}); call the tool again` };
    }
    return opened;
  }
}
