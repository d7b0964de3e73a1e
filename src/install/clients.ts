// Where each MCP client keeps its server list on this machine, and under which key. Computed
// from HOME, APPDATA, XDG_CONFIG_HOME, the platform and the working directory, all given, so
// tests can point it at a scratch directory.
import { posix, win32 } from "node:path";

export const CLIENT_NAMES = ["claude-desktop", "claude-code", "cursor", "vscode"] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

export const CLIENT_LABELS: Record<ClientName, string> = {
  "claude-desktop": "Claude Desktop",
  "claude-code": "Claude Code",
  cursor: "Cursor",
  vscode: "VS Code",
};

/** What the locations depend on. */
export interface Machine {
  home: string;
  platform: NodeJS.Platform;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** One config file a client may have, and where its servers are in it. */
export interface ConfigLocation {
  client: ClientName;
  /** "user" (one per machine) or "project" (in the working directory). */
  scope: "user" | "project";
  file: string;
  /** The key of the server map: "mcpServers", or "servers" for VS Code. */
  key: "mcpServers" | "servers";
  /** Claude Code's ~/.claude.json also keeps servers per project, under projects[<path>]. */
  perProject: boolean;
}

/** The directory desktop apps keep their settings in: what Electron calls appData. */
function appData(machine: Machine): string {
  const { home, platform, env } = machine;
  if (platform === "win32") return env.APPDATA || win32.join(home, "AppData", "Roaming");
  if (platform === "darwin") return posix.join(home, "Library", "Application Support");
  const xdg = env.XDG_CONFIG_HOME;
  return xdg !== undefined && posix.isAbsolute(xdg) ? xdg : posix.join(home, ".config");
}

/** Every config file mcpgate knows of on `machine`, user files first; a path listed once. */
export function configLocations(machine: Machine): ConfigLocation[] {
  const join = machine.platform === "win32" ? win32.join : posix.join;
  const { home, cwd } = machine;
  const data = appData(machine);
  const all: ConfigLocation[] = [
    { client: "claude-desktop", scope: "user", file: join(data, "Claude", "claude_desktop_config.json"), key: "mcpServers", perProject: false },
    { client: "claude-code", scope: "user", file: join(home, ".claude.json"), key: "mcpServers", perProject: true },
    { client: "claude-code", scope: "project", file: join(cwd, ".mcp.json"), key: "mcpServers", perProject: false },
    { client: "cursor", scope: "user", file: join(home, ".cursor", "mcp.json"), key: "mcpServers", perProject: false },
    { client: "cursor", scope: "project", file: join(cwd, ".cursor", "mcp.json"), key: "mcpServers", perProject: false },
    { client: "vscode", scope: "user", file: join(data, "Code", "User", "mcp.json"), key: "servers", perProject: false },
    { client: "vscode", scope: "project", file: join(cwd, ".vscode", "mcp.json"), key: "servers", perProject: false },
  ];
  // With the working directory at HOME, ~/.cursor/mcp.json is both Cursor's user and project file.
  const seen = new Set<string>();
  return all.filter((location) => !seen.has(location.file) && seen.add(location.file));
}

/** "Claude Code, project" style label of a location. */
export function locationLabel(location: ConfigLocation): string {
  return `${CLIENT_LABELS[location.client]}, ${location.scope}`;
}

/** Why `text` is no client name, or undefined when it is one. */
export function clientNameProblem(text: string): string | undefined {
  if ((CLIENT_NAMES as readonly string[]).includes(text)) return undefined;
  return `expected a client name: ${CLIENT_NAMES.join(", ")}; got ${JSON.stringify(text)}`;
}
