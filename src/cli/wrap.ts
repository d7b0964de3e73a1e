// `mcpgate --policy FILE -- COMMAND [ARGS...]`: the main job.
import { randomUUID } from "node:crypto";
import { defaultAuditPath, noAudit, openAuditLog, type AuditLog } from "../audit/log.ts";
import { commandApprover } from "../approval/approver.ts";
import { PinStore } from "../pins/store.ts";
import { startGateway } from "../relay/gateway.ts";
import { onInternalError } from "./internal-error.ts";
import { EXIT_INVALID, EXIT_USAGE } from "./exit-codes.ts";
import { printError, stderrLogger } from "./log.ts";
import { requirePolicy } from "./policy.ts";
import { reloadOnChange } from "./reload.ts";
import { StoreLink } from "./store-link.ts";

export interface WrapOptions {
  policy?: string;
  /** A path, "-" for stderr, false for none, undefined for the default location. */
  audit?: string | false;
  dryRun?: boolean;
  verbose?: boolean;
  shutdownGrace?: number;
  /** A shell command asked about calls that need approval: the call as JSON on stdin, exit 0 approves. */
  approver?: string;
  /** False (--no-watch): the policy file is not watched, and changes to it need a restart. */
  watch?: boolean;
}

/**
 * What a gateway started by hand on a terminal says, since it then seems to hang: it waits for
 * an MCP client's JSON-RPC lines on stdin. Nothing when stdin is not a terminal (a client's pipe).
 */
export function terminalNotice(stdinIsTTY: boolean | undefined): string | undefined {
  if (stdinIsTTY !== true) return undefined;
  return "waiting for an MCP client on stdin: mcpgate is started by an MCP client (see mcpgate --help); press Ctrl-D or Ctrl-C to stop";
}

export async function wrap(server: string[], options: WrapOptions, version: string): Promise<number> {
  const loaded = requirePolicy(options.policy);
  if (typeof loaded === "number") return loaded;
  const { path: policyPath, policy } = loaded;
  const [command, ...args] = server;
  if (command === undefined || command === "") {
    printError("no server command: usage is mcpgate --policy FILE -- COMMAND [ARGS...]");
    return EXIT_USAGE;
  }

  const log = stderrLogger(options.verbose === true);
  // Global limits are counted in a store (SPEC §14): a policy that has them and names none is not started.
  const stores = new StoreLink(process.env, log);
  const linked = await stores.for(policy);
  if ("problem" in linked) {
    printError(`${policyPath}: ${linked.problem}`);
    return EXIT_INVALID;
  }
  const notice = terminalNotice(process.stdin.isTTY);
  if (notice !== undefined) process.stderr.write(`mcpgate: ${notice}\n`);
  const session = randomUUID();
  let audit: AuditLog = noAudit;
  if (options.audit !== false) audit = openAuditLog(options.audit ?? defaultAuditPath(), session, log.warn);
  audit.write({ event: "start", version, policy: policyPath, server: server, dry_run: options.dryRun === true });
  log.info(`session ${session}: policy ${policyPath}${audit.path ? `, audit ${audit.path}` : ""}`);
  // Opened whatever the policy says now: a reload may turn pinning on.
  const pins = new PinStore();
  const gateway = startGateway({
    command,
    args,
    policy,
    audit,
    log,
    dryRun: options.dryRun === true,
    graceMs: options.shutdownGrace ?? 2000,
    pins,
    ...(linked.store === undefined ? {} : { store: linked.store }),
    ...(options.approver === undefined ? {} : { approver: commandApprover(options.approver) }),
  });
  const watching = options.watch === false ? undefined : reloadOnChange({ file: policyPath, audit, log, apply: async (next) => {
        const link = await stores.for(next);
        if ("problem" in link) throw new Error(link.problem);
        return gateway.reload(next, link.store);
      } });
  const onSignal = (signal: NodeJS.Signals): void => gateway.shutdown(`received ${signal}`);
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const signal of signals) process.on(signal, onSignal);

  const unregister = onInternalError((why) => gateway.shutdown(why));
  const code = await gateway.exited;
  watching?.close();
  unregister();
  for (const signal of signals) process.off(signal, onSignal);
  // Pins seen last are written before the process ends.
  await pins.settled();
  await stores.close();
  audit.write({ event: "stop", exit_code: code });
  await audit.close();
  return code;
}
