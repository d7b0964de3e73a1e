// Hot reload of the policy (SPEC §11): on each settled change to the file, it is read and
// compiled in a tick of its own (off any message's path); a valid one is put in force between
// two messages, an invalid one changes nothing. Either way stderr says so and the audit log
// gets a `reload` event.
import { readFileSync } from "node:fs";
import type { AuditLog } from "../audit/log.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { formatProblem } from "../policy/load.ts";
import { watchPolicyFile, type PolicyWatch } from "../policy/watch.ts";
import type { Reloaded } from "../relay/live-policy.ts";
import type { Logger } from "../relay/log.ts";
import { readPolicy } from "./policy.ts";

export interface ReloadOptions {
  file: string;
  audit: AuditLog;
  log: Logger;
  /** Puts a valid policy in force (Gateway.reload), once what it needs (its store) is ready; throws if it cannot be. */
  apply(policy: CompiledPolicy): Reloaded | Promise<Reloaded>;
  /** Where problems go, one `FILE:LINE:COL: message` per line. */
  stderr?(line: string): void;
  debounceMs?: number;
}

/** The file's bytes, or undefined if it cannot be read (readPolicy then says why). */
function contents(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Starts watching `file`; each change that alters its bytes is a reload, successful or not. */
export function reloadOnChange(options: ReloadOptions): PolicyWatch {
  const { file, audit, log } = options;
  const stderr = options.stderr ?? ((line: string): boolean => process.stderr.write(`${line}\n`));
  // What was last loaded: an event that leaves the bytes as they were (a touch) reloads nothing.
  let loaded = contents(file);
  const reload = async (): Promise<void> => {
    const text = contents(file);
    if (text !== undefined && text === loaded) return;
    const report = readPolicy(file);
    if (report.policy === undefined) {
      for (const problem of report.problems) stderr(formatProblem(file, problem));
      log.warn(`${file}: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}; policy NOT reloaded, the previous one stays in force`);
      audit.write({ event: "reload", policy: file, ok: false, problems: report.problems });
      return;
    }
    for (const warning of report.warnings) log.warn(`${file}: ${warning}`);
    const { hideChanged } = await options.apply(report.policy);
    loaded = text;
    log.warn(`policy reloaded from ${file}${hideChanged ? "; hidden tools changed, the client was told to list tools again" : ""}`);
    audit.write({ event: "reload", policy: file, ok: true, tools_list_changed: hideChanged });
  };
  // A reload runs in a timer of its own: a fault in it must cost the reload, not the session.
  const guarded = (): void => {
    reload().catch((error: unknown) => {
      const message = (error as Error)?.message ?? String(error);
      log.warn(`${file}: the reload failed (${message}); the previous policy stays in force`);
      audit.write({ event: "reload", policy: file, ok: false, error: message });
    });
  };
  log.info(`watching ${file} for changes (--no-watch turns this off)`);
  return watchPolicyFile(file, guarded, { failed: log.warn, ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }) });
}
