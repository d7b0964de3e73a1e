// What `install` and `uninstall` do to one server entry of a client config, as pure data: which
// entries can be wrapped, how a wrapper is recognised, and the rewrite that wraps or unwraps it.
// The same rewrite is applied to values here and to JSONC text in config-file.ts.

/** The command mcpgate puts in a client config: `npx -y mcpgate`, as the README and SPEC §1 show. */
export const WRAPPER_COMMAND = "npx";

/** Why HTTP and SSE entries are left alone. */
export const REMOTE_REASON = "remote server: mcpgate wraps stdio servers only";

const REMOTE_TYPES = new Set(["http", "sse", "streamable-http", "streamableHttp"]);

/**
 * A rewrite of one entry. `wrap`: the command becomes `npx`, and its args `prefix`, then the old
 * command, then the old args. `unwrap`: the command becomes `args[commandAt]` and the args what
 * follows it.
 */
export type Rewrite = { kind: "wrap"; prefix: string[] } | { kind: "unwrap"; commandAt: number };

/** What an entry is, as far as install and uninstall care. */
export type Shape =
  | { kind: "stdio"; command: string; args: string[] }
  | { kind: "wrapped"; commandAt: number; policy: string | undefined; args: string[] }
  | { kind: "skip"; reason: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True for "mcpgate" and "mcpgate@1.2.3": the package named as npx names it. */
function isMcpgatePackage(token: string): boolean {
  return token === "mcpgate" || token.startsWith("mcpgate@");
}

/** True for a command that is mcpgate's own binary: "mcpgate", "/usr/bin/mcpgate", "mcpgate.cmd". */
function isMcpgateBinary(command: string): boolean {
  return /(^|[\\/])mcpgate(\.cmd|\.exe)?$/i.test(command);
}

/** Where the command npx runs is in its args: the first that is no npx option ("-y", "-p PKG"). */
function npxCommandAt(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-p" || args[i] === "--package") i++;
    else if (!args[i]!.startsWith("-")) return i;
  }
  return -1;
}

/** Where the server's own argv starts in a wrapper's args (after "--"), if `command`+`args` is one:
 * `mcpgate ...`, `node .../bin/mcpgate.js ...` or `npx [...] mcpgate[@version] ...`. */
function wrappedServerAt(command: string, args: readonly string[]): number | "not-a-wrapper" | "no-server" {
  let from: number;
  if (isMcpgateBinary(command)) from = 0;
  else if (/(^|[\\/])node(\.exe)?$/i.test(command) && /(^|[\\/])mcpgate(\.c?js)?$/i.test(args[0] ?? "")) from = 1;
  else if (/(^|[\\/])npx(\.cmd|\.exe)?$/i.test(command)) {
    const at = npxCommandAt(args);
    if (at === -1 || !isMcpgatePackage(args[at]!)) return "not-a-wrapper";
    from = at + 1;
  } else return "not-a-wrapper";
  const separator = args.indexOf("--", from);
  return separator === -1 || separator + 1 >= args.length ? "no-server" : separator + 1;
}

/** The value of `--policy`/`-p` among a wrapper's own options, if it has one. */
function policyOf(args: readonly string[], end: number): string | undefined {
  for (let i = 0; i < end; i++) {
    const token = args[i]!;
    if ((token === "--policy" || token === "-p") && i + 1 < end) return args[i + 1];
    if (token.startsWith("--policy=")) return token.slice("--policy=".length);
  }
  return undefined;
}

/** Classifies a server entry: a stdio server to wrap, an mcpgate wrapper to unwrap, or neither (why). */
export function shapeOf(entry: unknown): Shape {
  if (!isPlainObject(entry)) return { kind: "skip", reason: "not an object: left alone" };
  const type = entry.type;
  if (typeof entry.url === "string" || (typeof type === "string" && REMOTE_TYPES.has(type))) return { kind: "skip", reason: REMOTE_REASON };
  if (type !== undefined && type !== "stdio") return { kind: "skip", reason: `type ${JSON.stringify(type)}: mcpgate wraps stdio servers only` };
  const { command, args = [] } = entry;
  if (typeof command !== "string" || command === "") return { kind: "skip", reason: `expected "command" to be a non-empty string, got ${JSON.stringify(command) ?? "nothing"}` };
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string")) return { kind: "skip", reason: `expected "args" to be a list of strings, got ${JSON.stringify(args)}` };
  const at = wrappedServerAt(command, args);
  if (at === "no-server") return { kind: "skip", reason: "runs mcpgate without a server after --: left alone" };
  if (at === "not-a-wrapper") return { kind: "stdio", command, args };
  return { kind: "wrapped", commandAt: at, policy: policyOf(args, at - 1), args };
}

/** The rewrite that runs a stdio server through mcpgate with the policy at `policy` (absolute). */
export function wrapRewrite(policy: string): Rewrite {
  return { kind: "wrap", prefix: ["-y", "mcpgate", "--policy", policy, "--"] };
}

/** The entry after `rewrite`: only `command` and `args` change; every other field stays, in order. */
export function applyRewrite(entry: Record<string, unknown>, rewrite: Rewrite): Record<string, unknown> {
  const command = entry.command as string;
  const args = (entry.args ?? []) as string[];
  const result: Record<string, unknown> = { ...entry };
  if (rewrite.kind === "wrap") {
    result.command = WRAPPER_COMMAND;
    result.args = [...rewrite.prefix, command, ...args];
  } else {
    result.command = args[rewrite.commandAt];
    result.args = args.slice(rewrite.commandAt + 1);
  }
  return result;
}

/** `entry` run through mcpgate; undefined when it is not a stdio server (or already wrapped). */
export function wrapEntry(entry: unknown, policy: string): Record<string, unknown> | undefined {
  return shapeOf(entry).kind === "stdio" ? applyRewrite(entry as Record<string, unknown>, wrapRewrite(policy)) : undefined;
}

/** `entry` with its original command back; undefined when it is no mcpgate wrapper. */
export function unwrapEntry(entry: unknown): Record<string, unknown> | undefined {
  const shape = shapeOf(entry);
  return shape.kind === "wrapped" ? applyRewrite(entry as Record<string, unknown>, { kind: "unwrap", commandAt: shape.commandAt }) : undefined;
}
