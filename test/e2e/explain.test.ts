// `mcpgate explain` says what the relay would do, through the relay's own verdict step: a call
// that needs a human reads DENY when no approval channel exists (--channel none).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runGateway, writePolicy } from "./helpers.ts";

const NO_CHANNEL = "pushes need a human: a human's approval is required, and no approval channel exists (the client does not support elicitation and no --approver is set)";

describe("explain --channel", () => {
  const policy = (): string => writePolicy('version: "1"\ndefault: deny\ntools:\n  read: {}\n  push: { action: approve, reason: "pushes need a human" }\n');

  it("none: a call that needs a human is denied with the reason the agent would read", async () => {
    const file = policy();
    const run = await runGateway(["explain", "--policy", file, "--channel", "none", "push"]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.lines.at(-1), `DENY tools.push: ${NO_CHANNEL}`);
    const json = await runGateway(["explain", "--json", "--channel", "none", "--policy", file, "push"]);
    assert.equal(json.code, 1, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      effect: "deny",
      tool: "push",
      rule: "tools.push",
      reason: NO_CHANNEL,
      checks: [
        { rule: "hide", passed: true, detail: "not hidden" },
        { rule: "tools.push", passed: true, detail: 'entry "push", action: approve' },
      ],
    });
    const allowed = await runGateway(["explain", "--policy", file, "--channel", "none", "read"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.lines.at(-1), "ALLOW tools.read: allowed by tools.read");
  });

  it("elicitation (the default) and approver: the call waits for a human", async () => {
    const file = policy();
    for (const channel of [[], ["--channel", "elicitation"], ["--channel", "approver"]]) {
      const run = await runGateway(["explain", "--policy", file, ...channel, "push"]);
      assert.equal(run.code, 3, `${channel.join(" ")}: ${run.stderr}`);
      assert.equal(run.lines.at(-1), "APPROVE tools.push: pushes need a human");
    }
  });

  it("any other channel is a usage error that lists the choices", async () => {
    const run = await runGateway(["explain", "--policy", policy(), "--channel", "slack", "push"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /option '--channel <channel>' argument 'slack' is invalid\. expected elicitation, approver or none, got "slack"/);
  });
});
