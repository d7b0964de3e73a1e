// Loading a policy for the CLI: from --policy or MCPGATE_POLICY, with every problem printed.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { compilePolicy, type CompiledPolicy } from "../policy/compile.ts";
import { formatProblem, loadPolicyFile, type Problem } from "../policy/load.ts";
import { policyWarnings } from "../policy/warnings.ts";
import { EXIT_INVALID, EXIT_USAGE } from "./exit-codes.ts";
import { printError, stderrLogger } from "./log.ts";

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

/** One policy file, read: compiled if valid, with its problems or its warnings. */
export interface PolicyReport {
  file: string;
  policy: CompiledPolicy | undefined;
  problems: Problem[];
  warnings: string[];
}

export function readPolicy(file: string): PolicyReport {
  const result = loadPolicyFile(file);
  if (!result.ok) return { file, policy: undefined, problems: result.problems, warnings: [] };
  const policy = compilePolicy(result.policy);
  return { file, policy, problems: [], warnings: policyWarnings(policy, process.env) };
}

/** "no policy file at /abs/p.yaml (working directory /cwd)": where a relative path was looked for. */
export function missingFileMessage(file: string, cwd = process.cwd()): string {
  return `no policy file at ${resolve(cwd, file)} (working directory ${cwd})`;
}

/** Prints a report to stderr: every problem as FILE:LINE:COL: message, then a summary; or the warnings. */
export function printReport(report: PolicyReport): void {
  const { file, problems } = report;
  const warn = stderrLogger(false).warn;
  for (const warning of report.warnings) warn(`${file}: ${warning}`);
  if (report.policy !== undefined) return;
  for (const problem of problems) process.stderr.write(`${formatProblem(file, problem)}\n`);
  if (!existsSync(file)) printError(missingFileMessage(file));
  else printError(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}; the policy is not valid`);
}

/** The compiled policy, or undefined after printing every problem as FILE:LINE:COL: message. */
export function loadOrReport(file: string): CompiledPolicy | undefined {
  const report = readPolicy(file);
  printReport(report);
  return report.policy;
}

/**
 * The policy a command runs under (--policy, else $MCPGATE_POLICY), compiled; or, after saying
 * why on stderr, the exit code: usage when none is given, invalid when it does not load.
 */
export function requirePolicy(option: string | undefined): { path: string; policy: CompiledPolicy } | number {
  const path = resolvePolicyPath(option);
  if (path === undefined) {
    printError(NO_POLICY_HELP);
    return EXIT_USAGE;
  }
  const policy = loadOrReport(path);
  return policy === undefined ? EXIT_INVALID : { path, policy };
}
