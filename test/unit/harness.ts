// A router with recording sinks, driven directly: bytes in, strings out, no processes. What a
// test needs beyond that (an audit log, warnings, timers, an approver) it passes in `options`.
import assert from "node:assert/strict";
import { noAudit } from "../../src/audit/log.ts";
import { Counters } from "../../src/limits/counters.ts";
import { compilePolicy, type CompiledPolicy } from "../../src/policy/compile.ts";
import { parsePolicy } from "../../src/policy/load.ts";
import { Router, type RouterOptions } from "../../src/relay/router.ts";

export const SILENT = { verbose: false, warn: (): void => {}, info: (): void => {} };

type HarnessOptions = Partial<Omit<RouterOptions, "policy" | "counters" | "toServer" | "toClient">> & {
  /** Changes the compiled policy before the router gets it (to make judging fail, say). */
  wrapPolicy?: (policy: CompiledPolicy) => CompiledPolicy;
};

export function recordingRouter(yaml: string, { wrapPolicy, ...options }: HarnessOptions = {}) {
  const parsed = parsePolicy(yaml);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.problems));
  const compiled = compilePolicy(parsed.policy);
  const policy = wrapPolicy === undefined ? compiled : wrapPolicy(compiled);
  const toServer: string[] = [];
  const toClient: string[] = [];
  const router = new Router({
    audit: noAudit,
    log: SILENT,
    now: () => 0,
    ...options,
    policy,
    counters: new Counters(policy.counters),
    toServer: (bytes) => toServer.push(bytes.toString("utf8")),
    toClient: (bytes) => toClient.push(bytes.toString("utf8")),
  });
  return {
    router,
    toServer,
    toClient,
    client: (line: string): void => router.fromClient(Buffer.from(line)),
    server: (line: string): void => router.fromServer(Buffer.from(line)),
  };
}
