// `mcpgate explain --policy FILE TOOL [JSON_ARGS]`: the decision for one call and every check
// behind it, without starting a server. Limits are judged as for the first call of a session,
// and the verdict goes through the relay's own step (verdict.ts), so a call that needs a human
// reads DENY under `--channel none`, as the relay would answer it. The exit code is the
// decision (0 allow, 1 deny, 3 approve), so scripts can gate on it. Given the server's command
// after "--", the server's stored pins are read too (when the policy pins), so a tool a changed
// definition would hide or deny reads DENY, with the command that accepts the change.
import { Chalk, supportsColor } from "chalk";
import { Counters } from "../limits/counters.ts";
import { checkDetail, explainJson } from "../policy/decision.ts";
import { evaluate } from "../policy/evaluate.ts";
import { CHANNELS, outcomeOf, type Channel } from "../policy/verdict.ts";
import { EXIT_APPROVE, EXIT_DENY, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { printError } from "./log.ts";
import { loadOrReport, NO_POLICY_HELP, resolvePolicyPath } from "./policy.ts";
import { storedPinFacts } from "./pins.ts";

/** The exit code of a decision: 0 allow, 1 deny, 3 approve. */
export function decisionExitCode(effect: "allow" | "deny" | "approve"): number {
  return effect === "allow" ? EXIT_OK : effect === "deny" ? EXIT_DENY : EXIT_APPROVE;
}

export interface ExplainOptions {
  policy?: string;
  json?: boolean;
  /** How the relay could ask a human: a call needing one reads DENY under "none". */
  channel?: Channel;
}

/** Why a --channel value is unusable, or undefined. */
export function channelProblem(text: string): string | undefined {
  return (CHANNELS as readonly string[]).includes(text) ? undefined : `expected ${CHANNELS.slice(0, -1).join(", ")} or ${CHANNELS.at(-1)}, got ${JSON.stringify(text)}`;
}

export function explain(tool: string, json: string | undefined, options: ExplainOptions, server: readonly string[] = []): number {
  const path = resolvePolicyPath(options.policy);
  if (path === undefined) {
    printError(NO_POLICY_HELP);
    return EXIT_USAGE;
  }
  let args: unknown = {};
  if (json !== undefined) {
    try {
      args = JSON.parse(json);
    } catch (error) {
      printError(`JSON_ARGS must be a JSON object, got ${JSON.stringify(json)} (${(error as Error).message})`);
      return EXIT_USAGE;
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      printError(`JSON_ARGS must be a JSON object, got ${JSON.stringify(json)}`);
      return EXIT_USAGE;
    }
  }
  const policy = loadOrReport(path);
  if (policy === undefined) return EXIT_INVALID;

  const pins = policy.pins === undefined || server.length === 0 ? undefined : storedPinFacts(server, tool);
  const { verdict: judged, charge, checks } = evaluate(policy, { name: tool, args }, 0, new Counters(policy.counters), pins?.facts);
  const { verdict: decision } = outcomeOf({ verdict: judged, charge }, { sessionAllowed: false, channel: options.channel ?? "elicitation", dryRun: false });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(explainJson(decision, checks), null, 2)}\n`);
    return decisionExitCode(decision.effect);
  }
  // Colours only when stdout is a terminal, as for any report meant for a person.
  const chalk = new Chalk({ level: process.stdout.isTTY ? (supportsColor ? supportsColor.level : 1) : 0 });
  const width = Math.max(...checks.map((check) => check.rule.length));
  const lines = [chalk.bold(`${tool} ${JSON.stringify(args)}`)];
  if (policy.pins !== undefined && server.length > 0) lines.push(chalk.dim(pins === undefined ? "  (no pins of this server yet: its first session will pin what it lists)" : `  pins: ${pins.file}`));
  for (const check of checks) lines.push(`  ${check.passed ? chalk.green("✔") : chalk.red("✘")} ${check.rule.padEnd(width)}  ${chalk.dim(checkDetail(check))}`);
  const verdict = decision.effect === "allow" ? chalk.green.bold("ALLOW") : decision.effect === "deny" ? chalk.red.bold("DENY") : chalk.yellow.bold("APPROVE");
  lines.push(`${verdict} ${decision.rule}: ${decision.reason}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return decisionExitCode(decision.effect);
}
