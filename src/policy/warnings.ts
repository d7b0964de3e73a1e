// Policies that are valid but almost certainly not what their author meant: said, not refused.
import type { CompiledPolicy } from "./compile.ts";

/** Warnings about a valid policy, each one sentence that says what to do; `env`: where MCPGATE_STORE is read. */
export function policyWarnings(policy: CompiledPolicy, env: NodeJS.ProcessEnv = {}): string[] {
  const warnings: string[] = [];
  if (policy.defaultEffect === "deny" && policy.entryCount === 0) {
    warnings.push("every call will be denied: the default is deny and no tool has an entry under tools (mcpgate init writes one for each tool of a server)");
  }
  if (policy.global && policy.store.url === undefined && (env.MCPGATE_STORE ?? "") === "") {
    warnings.push("the policy has scope: global limits but names no store, and MCPGATE_STORE is not set here: a gateway started without one refuses to start (set store: redis://HOST:PORT, or MCPGATE_STORE where the gateway runs)");
  }
  return warnings;
}
