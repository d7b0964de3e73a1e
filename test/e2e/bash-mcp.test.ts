// mcpgate around the real bash-mcp server, driven by the SDK Client.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { bashMcp, connect, ROOT, tempDir, text, writePolicy } from "./helpers.ts";

const POLICYLAYER = join(ROOT, "examples", "policylayer.json");

describe("bash-mcp with PolicyLayer's published policy", () => {
  it("allows run_background 10 times a minute, denies the 11th with a retry hint, and never runs `run`", async () => {
    const gate = await connect(POLICYLAYER, bashMcp());
    try {
      for (let i = 0; i < 10; i++) {
        const result = await gate.client.callTool({ name: "run_background", arguments: { command: "true", name: `job${i}` } });
        assert.notEqual(result.isError, true, `call ${i + 1}: ${text(result)}`);
        assert.match(text(result), /"success": true/);
      }
      const eleventh = await gate.client.callTool({ name: "run_background", arguments: { command: "true", name: "job10" } });
      assert.equal(eleventh.isError, true);
      assert.match(text(eleventh), /^\[POLICY DENIED\] run_background: rate limit reached \(10 per minute; retry in \d+s\)$/);
      const decision = (eleventh._meta as Record<string, { rule: string; retryAfterMs: number; decision: string }>)["mcpgate/decision"]!;
      assert.equal(decision.decision, "deny");
      assert.equal(decision.rule, "tools.run_background.limits[0]");
      assert.ok(decision.retryAfterMs > 0 && decision.retryAfterMs <= 60_000, `retryAfterMs ${decision.retryAfterMs}`);

      const marker = join(tempDir(), "ran");
      const run = await gate.client.callTool({ name: "run", arguments: { command: `touch ${marker}` } });
      assert.equal(run.isError, true);
      assert.equal(text(run), "[POLICY DENIED] run: not allowed by policy (no entry for this tool; default: deny)");
      // Give a wrongly forwarded call every chance to have run: list_background round-trips the server.
      await gate.client.callTool({ name: "list_background", arguments: {} });
      assert.equal(existsSync(marker), false, "the denied command ran");
    } finally {
      await gate.close();
    }
  });

  it("control: the same `run` call creates the file when the policy allows it", async () => {
    const gate = await connect(writePolicy('version: "1"\ndefault: deny\ntools:\n  run: {}\n'), bashMcp());
    try {
      const marker = join(tempDir(), "ran");
      const run = await gate.client.callTool({ name: "run", arguments: { command: `touch ${marker}` } });
      assert.notEqual(run.isError, true, text(run));
      assert.equal(existsSync(marker), true);
    } finally {
      await gate.close();
    }
  });
});

describe("hiding", () => {
  it("removes hidden tools from tools/list and denies them when called anyway", async () => {
    const policy = writePolicy('version: "1"\ndefault: allow\nhide: [kill_background, "list_*"]\n');
    const gate = await connect(policy, bashMcp());
    try {
      const { tools } = await gate.client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), ["run", "run_background"]);
      const killed = await gate.client.callTool({ name: "kill_background", arguments: { name: "x" } });
      assert.equal(killed.isError, true);
      assert.equal(text(killed), "[POLICY DENIED] kill_background: this tool is hidden by policy");
      const listed = await gate.client.callTool({ name: "list_background", arguments: {} });
      assert.equal((listed._meta as Record<string, { rule: string }>)["mcpgate/decision"]!.rule, "hide[1]");
    } finally {
      await gate.close();
    }
  });
});

describe("a short sliding window, for real", () => {
  it("denies the third call in 400ms and allows it again once the window has slid", async () => {
    const gate = await connect(writePolicy('version: "1"\ndefault: deny\ntools:\n  run:\n    limits: ["2/400ms"]\n'), bashMcp());
    try {
      const echo = () => gate.client.callTool({ name: "run", arguments: { command: "echo hi" } });
      assert.notEqual((await echo()).isError, true);
      assert.notEqual((await echo()).isError, true);
      const third = await echo();
      assert.equal(third.isError, true, text(third));
      const { retryAfterMs } = (third._meta as Record<string, { retryAfterMs: number }>)["mcpgate/decision"]!;
      assert.ok(retryAfterMs > 0 && retryAfterMs <= 400);
      await delay(retryAfterMs + 20);
      const later = await echo();
      assert.notEqual(later.isError, true, text(later));
      assert.match(text(later), /hi/);
    } finally {
      await gate.close();
    }
  });
});
