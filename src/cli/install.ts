// `mcpgate install` and `mcpgate uninstall`: run the MCP client configs' stdio servers through
// mcpgate, or give them back their own commands. One line per server on stdout; a config that is
// not JSONC is reported FILE:LINE:COL and left untouched.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import { configLocations, locationLabel, type ClientName, type Machine } from "../install/clients.ts";
import { backupAndWrite, planFile, type Action, type ServerOutcome } from "../install/config-file.ts";
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { printError } from "./log.ts";
import { loadOrReport, NO_POLICY_HELP, resolvePolicyPath } from "./policy.ts";

export interface InstallOptions {
  policy?: string;
  client?: ClientName[];
  server?: string[];
  dryRun?: boolean;
}

export type UninstallOptions = Omit<InstallOptions, "policy">;

/** This machine, as clients.ts sees it. */
export function currentMachine(): Machine {
  return { home: homedir(), platform: process.platform, cwd: process.cwd(), env: process.env };
}

const DRY: Record<ServerOutcome["status"], string> = {
  wrapped: "would wrap",
  restored: "would restore",
  "already wrapped": "already wrapped",
  "not wrapped": "not wrapped",
};

function outcomeLine(outcome: ServerOutcome, file: string, label: string, dryRun: boolean): string {
  const status = dryRun ? DRY[outcome.status] : outcome.status;
  const project = outcome.project === undefined ? "" : ` (project ${outcome.project})`;
  const detail = outcome.detail === undefined ? "" : `: ${outcome.detail}`;
  return `${status}: ${outcome.name}${project} in ${file} [${label}]${detail}\n`;
}

function run(action: Action, options: UninstallOptions, machine: Machine): number {
  const clients = options.client ?? [];
  const servers = options.server ?? [];
  const locations = configLocations(machine).filter((location) => clients.length === 0 || clients.includes(location.client));
  const chosen = (name: string): boolean => servers.length === 0 || servers.includes(name);
  const seen = new Set<string>();
  let found = 0;
  let failed = false;
  for (const location of locations) {
    const { file } = location;
    if (!existsSync(file)) continue;
    found++;
    const label = locationLabel(location);
    const text = readFileSync(file, "utf8");
    const plan = planFile(text, location, action, chosen);
    if (!plan.ok) {
      const { line, col, message } = plan.problem;
      printError(`${file}:${line}:${col}: ${message}; this file was left untouched`);
      failed = true;
      continue;
    }
    if (plan.servers.length === 0) process.stdout.write(`no servers${servers.length === 0 ? "" : " of those named"} in ${file} [${label}]\n`);
    for (const outcome of plan.servers) {
      seen.add(outcome.name);
      process.stdout.write(outcomeLine(outcome, file, label, options.dryRun === true));
    }
    if (plan.updated === text) continue;
    if (options.dryRun) {
      process.stdout.write(createTwoFilesPatch(file, file, text, plan.updated, "now", `after ${action.kind}`, { headerOptions: FILE_HEADERS_ONLY }));
    } else {
      const backup = backupAndWrite(file, plan.updated);
      process.stdout.write(`updated ${file}; the previous version is in ${backup}\n`);
    }
  }
  if (found === 0) {
    process.stdout.write("no MCP client config found. Looked in:\n");
    for (const location of locations) process.stdout.write(`  ${location.file} [${locationLabel(location)}]\n`);
    return EXIT_OK;
  }
  const missing = servers.filter((name) => !seen.has(name));
  if (missing.length > 0) {
    printError(`no server named ${missing.map((name) => JSON.stringify(name)).join(", ")} in the configs above`);
    failed = true;
  }
  return failed ? EXIT_INVALID : EXIT_OK;
}

/** `mcpgate install --policy FILE [--client NAME] [--server NAME] [--dry-run]`. */
export function install(options: InstallOptions, machine: Machine = currentMachine()): number {
  const given = resolvePolicyPath(options.policy);
  if (given === undefined) {
    printError(NO_POLICY_HELP);
    return EXIT_USAGE;
  }
  const policy = resolve(machine.cwd, given);
  // A server wrapped with a policy that does not load would refuse to start in the client.
  if (loadOrReport(policy) === undefined) return EXIT_INVALID;
  return run({ kind: "install", policy }, options, machine);
}

/** `mcpgate uninstall [--client NAME] [--server NAME] [--dry-run]`. */
export function uninstall(options: UninstallOptions, machine: Machine = currentMachine()): number {
  return run({ kind: "uninstall" }, options, machine);
}
