// Policies that are valid but almost certainly not what their author meant: said, not refused.
import type { CompiledPolicy } from "./compile.ts";

/** Warnings about a valid policy, each one sentence that says what to do. */
export function policyWarnings(policy: CompiledPolicy): string[] {
  const warnings: string[] = [];
  if (policy.defaultEffect === "deny" && policy.entryCount === 0) {
    warnings.push("every call will be denied: the default is deny and no tool has an entry under tools (mcpgate init writes one for each tool of a server)");
  }
  return warnings;
}
