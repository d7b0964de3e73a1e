// Loading a policy for the CLI: from --policy or MCPGATE_POLICY, with every problem printed.
import { compilePolicy, type CompiledPolicy } from "../policy/compile.ts";
import { formatProblem, loadPolicyFile } from "../policy/load.ts";
import { printError } from "./log.ts";

export const NO_POLICY_HELP =
  "no policy given: pass --policy FILE or set MCPGATE_POLICY.\n" +
  "  To write one that lists your server's tools: mcpgate init -o policy.yaml -- COMMAND [ARGS...]\n" +
  "  A policy is a YAML file such as:\n" +
  '    version: "1"\n' +
  "    default: deny\n" +
  "    tools:\n" +
  "      run: { limits: [\"10/minute\"] }\n" +
  "  Examples for common servers are in the package's examples/ folder.";

export function resolvePolicyPath(given: string | undefined): string | undefined {
  const path = given ?? process.env.MCPGATE_POLICY;
  return path === undefined || path === "" ? undefined : path;
}

/** The compiled policy, or undefined after printing every problem as FILE:LINE:COL: message. */
export function loadOrReport(file: string): CompiledPolicy | undefined {
  const result = loadPolicyFile(file);
  if (result.ok) return compilePolicy(result.policy);
  for (const problem of result.problems) process.stderr.write(`${formatProblem(file, problem)}\n`);
  printError(`${file}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}; the policy is not valid`);
  return undefined;
}
