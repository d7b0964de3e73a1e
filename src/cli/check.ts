// `mcpgate check [FILE]`: validate a policy without starting anything.
import { printError } from "./log.ts";
import { loadOrReport, NO_POLICY_HELP, resolvePolicyPath } from "./policy.ts";

export function check(file: string | undefined): number {
  const path = resolvePolicyPath(file);
  if (path === undefined) {
    printError(NO_POLICY_HELP);
    return 2;
  }
  const policy = loadOrReport(path);
  if (policy === undefined) return 1;
  const hidden = policy.hides ? ", hides tools" : "";
  process.stdout.write(`${path}: valid (default ${policy.defaultEffect}, ${policy.entryCount} tool entr${policy.entryCount === 1 ? "y" : "ies"}${hidden})\n`);
  return 0;
}
