// Which server a pin set belongs to: its command line (argv, as the client config gives it) and
// the name it gives itself (serverInfo.name: from initialize, or in protocol 2026-07-28 from a
// result's _meta; without one, the command line alone). Its id — a hash of both — names its
// file in the state directory and is what `mcpgate pins accept` takes.
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import envPaths from "env-paths";
import { xdgHome } from "../audit/log.ts";

export interface ServerIdentity {
  command: readonly string[];
  name?: string;
}

/** Where a 2026-07-28 server names itself, in any result's _meta. */
export const SERVER_INFO_META = "io.modelcontextprotocol/serverInfo";

/** 16 hex digits of SHA-256 over the command line and name: a file name, and short enough to type. */
export function serverId(identity: ServerIdentity): string {
  const text = JSON.stringify([identity.command, identity.name ?? null]);
  return createHash("sha256").update(text, "utf8").digest("hex").slice(0, 16);
}

/** The name in a decoded result's _meta serverInfo (2026-07-28), if it gives one. */
export function metaServerName(result: unknown): string | undefined {
  const meta = (result as { _meta?: Record<string, unknown> } | null)?._meta;
  const info = meta !== null && typeof meta === "object" ? (meta[SERVER_INFO_META] as { name?: unknown } | undefined) : undefined;
  return typeof info?.name === "string" ? info.name : undefined;
}

/**
 * $XDG_STATE_HOME/mcpgate/pins on Linux (~/.local/state/mcpgate/pins without it; an empty or
 * relative one is unset, as the XDG spec says), ~/Library/Application Support/mcpgate/pins on
 * macOS, %LOCALAPPDATA%\mcpgate\Data\pins on Windows. Never the working directory.
 */
export function defaultPinsDir(env: NodeJS.ProcessEnv = process.env): string {
  try {
    if (process.platform !== "darwin" && process.platform !== "win32") return join(xdgHome("XDG_STATE_HOME", env) ?? join(homedir(), ".local", "state"), "mcpgate", "pins");
    return join(envPaths("mcpgate", { suffix: "" }).data, "pins");
  } catch {
    return join(homedir(), ".mcpgate", "pins");
  }
}
