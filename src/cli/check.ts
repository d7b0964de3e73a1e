// `mcpgate check [FILE...] [--json]`: validate policies without starting anything.
import type { CompiledPolicy } from "../policy/compile.ts";
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { printError } from "./log.ts";
import { NO_POLICY_HELP, printReport, readPolicy, resolvePolicyPath } from "./policy.ts";

export interface CheckOptions {
  json?: boolean;
}

function summary(file: string, policy: CompiledPolicy): string {
  const hidden = policy.hides ? ", hides tools" : "";
  const pins = policy.pins === undefined ? "" : `, pins tools (on_change: ${policy.pins.onChange}, new_tools: ${policy.pins.newTools})`;
  return `${file}: valid (default ${policy.defaultEffect}, ${policy.entryCount} tool entr${policy.entryCount === 1 ? "y" : "ies"}${hidden}${pins})`;
}

export function check(files: string[], options: CheckOptions = {}): number {
  const given = files.length > 0 ? files : [resolvePolicyPath(undefined)].filter((file): file is string => file !== undefined);
  if (given.length === 0) {
    printError(NO_POLICY_HELP);
    return EXIT_USAGE;
  }
  const reports = given.map(readPolicy);
  if (options.json) {
    const shown = reports.map(({ file, policy, problems, warnings }) => ({
      file,
      ok: policy !== undefined,
      problems: problems.map(({ line, col, path, message }) => ({ line, col, path, message })),
      warnings,
    }));
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  } else {
    for (const report of reports) {
      printReport(report);
      if (report.policy !== undefined) process.stdout.write(`${summary(report.file, report.policy)}\n`);
    }
  }
  return reports.every((report) => report.policy !== undefined) ? EXIT_OK : EXIT_INVALID;
}
