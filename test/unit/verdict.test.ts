// The verdict step: what happens to a judged call, given the session (a human's standing yes),
// the approval channel and dry run — the whole table, and today's exact texts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Charge, Verdict } from "../../src/policy/decision.ts";
import { afterApproval, afterRefusal, outcomeOf, type Action, type Channel } from "../../src/policy/verdict.ts";

const CHARGE: Charge = [{ counter: "counter:shell", amount: 1 }];
const ALLOW: Verdict = { effect: "allow", tool: "run", rule: "tools.run", reason: "allowed by tools.run" };
const DENY: Verdict = { effect: "deny", tool: "run", rule: "tools.run.limits[0]", reason: "rate limit reached (10 per minute; retry in 23s)", retryAfterMs: 23_000 };
const APPROVE: Verdict = { effect: "approve", tool: "push", rule: "tools.push", reason: "pushes need a human" };
const CHANNELS: Channel[] = ["elicitation", "approver", "none"];

const SESSION: Verdict = { effect: "allow", tool: "push", rule: "tools.push", reason: "allowed by a human for the rest of this session (tools.push)" };
const NO_CHANNEL: Verdict = {
  effect: "deny",
  tool: "push",
  rule: "tools.push",
  reason: "pushes need a human: a human's approval is required, and no approval channel exists (the client does not support elicitation and no --approver is set)",
};

describe("outcomeOf", () => {
  it("allow forwards with its charge, whatever the context", () => {
    for (const channel of CHANNELS) {
      for (const sessionAllowed of [false, true]) {
        for (const dryRun of [false, true]) {
          assert.deepEqual(outcomeOf({ verdict: ALLOW, charge: CHARGE }, { channel, sessionAllowed, dryRun }), { action: "forward", verdict: ALLOW, charge: CHARGE });
        }
      }
    }
  });

  it("deny denies, or in a dry run forwards; either way nothing is charged", () => {
    for (const channel of CHANNELS) {
      for (const sessionAllowed of [false, true]) {
        assert.deepEqual(outcomeOf({ verdict: DENY, charge: [] }, { channel, sessionAllowed, dryRun: false }), { action: "deny", verdict: DENY, charge: [] });
        assert.deepEqual(outcomeOf({ verdict: DENY, charge: [] }, { channel, sessionAllowed, dryRun: true }), { action: "dry-run-forward", verdict: DENY, charge: [] });
      }
    }
  });

  it("approve: a session allowance forwards, no channel denies, else a human is asked (or not, in a dry run)", () => {
    const table: Array<[sessionAllowed: boolean, channel: Channel, dryRun: boolean, action: Action, verdict: Verdict, charged: boolean]> = [
      [true, "elicitation", false, "forward", SESSION, true],
      [true, "elicitation", true, "forward", SESSION, true],
      [true, "approver", false, "forward", SESSION, true],
      [true, "approver", true, "forward", SESSION, true],
      [true, "none", false, "forward", SESSION, true],
      [true, "none", true, "forward", SESSION, true],
      [false, "elicitation", false, "ask", APPROVE, false],
      [false, "elicitation", true, "dry-run-forward", APPROVE, false],
      [false, "approver", false, "ask", APPROVE, false],
      [false, "approver", true, "dry-run-forward", APPROVE, false],
      [false, "none", false, "deny", NO_CHANNEL, false],
      [false, "none", true, "dry-run-forward", NO_CHANNEL, false],
    ];
    for (const [sessionAllowed, channel, dryRun, action, verdict, charged] of table) {
      assert.deepEqual(
        outcomeOf({ verdict: APPROVE, charge: CHARGE }, { sessionAllowed, channel, dryRun }),
        { action, verdict, charge: charged ? CHARGE : [] },
        JSON.stringify({ sessionAllowed, channel, dryRun }),
      );
    }
  });

  it("leaves the evaluation's verdict as it was", () => {
    const verdict = { ...APPROVE };
    outcomeOf({ verdict, charge: CHARGE }, { sessionAllowed: true, channel: "none", dryRun: false });
    outcomeOf({ verdict, charge: CHARGE }, { sessionAllowed: false, channel: "none", dryRun: false });
    assert.deepEqual(verdict, APPROVE);
  });
});

describe("after a human answered", () => {
  it("a yes forwards under the rule that asked, charging the re-check; a re-check that denies wins", () => {
    const recheck = { verdict: { ...ALLOW, tool: "push", rule: "tools.push", reason: "allowed by tools.push" }, charge: CHARGE };
    assert.deepEqual(afterApproval(APPROVE, recheck), {
      action: "forward",
      verdict: { effect: "allow", tool: "push", rule: "tools.push", reason: "approved by a human (pushes need a human)" },
      charge: CHARGE,
    });
    const limited = { verdict: { ...DENY, tool: "push" }, charge: [] };
    assert.deepEqual(afterApproval(APPROVE, limited), { action: "deny", verdict: limited.verdict, charge: [] });
  });

  it("no yes denies with the prompt's reason and why", () => {
    assert.deepEqual(afterRefusal(APPROVE, "a human declined it"), {
      action: "deny",
      verdict: { effect: "deny", tool: "push", rule: "tools.push", reason: "pushes need a human; a human declined it" },
      charge: [],
    });
  });
});
