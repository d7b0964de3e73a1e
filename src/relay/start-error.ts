// One sentence for a server that cannot be started, shared by the gateway and `mcpgate init`.

/** "cannot start the MCP server "x": command not found (PATH=...)": names the command and where it was looked for. */
export function cannotStartMessage(command: string, error: Error, path: string | undefined = process.env.PATH): string {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "command not found" : code === "EACCES" ? "permission denied (not executable?)" : error.message;
  return `cannot start the MCP server ${JSON.stringify(command)}: ${why} (PATH=${path ?? ""})`;
}
