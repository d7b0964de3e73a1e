// `mcpgate install` and `uninstall`: the built binary, with HOME pointed at a scratch directory
// holding each client's config layout, rewrites the stdio servers and gives them back — comments,
// formatting and other edits kept, exact bytes restored.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "jsonc-parser/lib/esm/main.js";
import { runGateway, tempDir, writePolicy } from "./helpers.ts";

const DESKTOP = `{
  // Claude Desktop: my servers
  "mcpServers": {
    "bash": {
      "command": "npx",
      "args": ["-y", "bash-mcp"],
      "env": { "SHELL_TIMEOUT": "30" }
    },
    "docs": { "url": "https://example.com/mcp" }
  },
  "globalShortcut": "Ctrl+Space"
}
`;

const CLAUDE_CODE = `${JSON.stringify(
  {
    numStartups: 3,
    mcpServers: { git: { type: "stdio", command: "uvx", args: ["mcp-server-git"], env: {} } },
    projects: {
      "/work/app": { allowedTools: [], mcpServers: { db: { type: "stdio", command: "node", args: ["db.js", "--ro"], env: { URL: "x" } }, api: { type: "http", url: "https://api.example.com/mcp" } } },
    },
  },
  null,
  2,
)}\n`;

const PROJECT_MCP = `{"mcpServers":{"fs":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","."]}}}`;

const CURSOR = `{
    "mcpServers": {
        "ssh": { "command": "ssh-mcp", "args": ["--host", "box"] },
        "linear": { "type": "sse", "url": "https://mcp.linear.app/sse" }
    }
}
`;

const VSCODE_USER = `{
\t// VS Code
\t"servers": {
\t\t"py": {
\t\t\t"type": "stdio",
\t\t\t"command": "python",
\t\t\t"args": [
\t\t\t\t"-m",
\t\t\t\t"server"
\t\t\t],
\t\t},
\t},
}
`;

const WORKSPACE = `{ "servers": { "web": { "type": "http", "url": "http://localhost:3000/mcp" } }, "inputs": [] }\n`;

interface Layout {
  home: string;
  cwd: string;
  policy: string;
  files: Record<string, string>;
  env: Record<string, string>;
}

/** A HOME and a project directory with every client's config, as each client lays it out. */
function layout(): Layout {
  const home = tempDir();
  const cwd = tempDir();
  const files: Record<string, string> = {
    [join(home, ".config/Claude/claude_desktop_config.json")]: DESKTOP,
    [join(home, ".claude.json")]: CLAUDE_CODE,
    [join(cwd, ".mcp.json")]: PROJECT_MCP,
    [join(home, ".cursor/mcp.json")]: CURSOR,
    [join(home, ".config/Code/User/mcp.json")]: VSCODE_USER,
    [join(cwd, ".vscode/mcp.json")]: WORKSPACE,
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return { home, cwd, files, policy: writePolicy('version: "1"\ndefault: allow\n'), env: { HOME: home, XDG_CONFIG_HOME: "", APPDATA: "" } };
}

const mcpgate = (at: Layout, ...args: string[]) => runGateway(args, "", { env: at.env, cwd: at.cwd });
const read = (file: string): string => readFileSync(file, "utf8");
const backups = (at: Layout): string[] => Object.keys(at.files).flatMap((file) => readdirSync(dirname(file)).filter((name) => name.startsWith(`${file.slice(dirname(file).length + 1)}.mcpgate-backup-`)));
const wrapper = (policy: string, ...server: string[]): string[] => ["-y", "mcpgate", "--policy", policy, "--", ...server];

describe("mcpgate install / uninstall", () => {
  it("wraps every stdio server of every client, then says already wrapped, then uninstall restores the exact bytes", async () => {
    const at = layout();
    const desktop = join(at.home, ".config/Claude/claude_desktop_config.json");
    const claudeJson = join(at.home, ".claude.json");
    const cursor = join(at.home, ".cursor/mcp.json");
    const vscode = join(at.home, ".config/Code/User/mcp.json");

    const first = await mcpgate(at, "install", "--policy", at.policy);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, "");
    for (const line of [
      `wrapped: bash in ${desktop} [Claude Desktop, user]`,
      `not wrapped: docs in ${desktop} [Claude Desktop, user]: remote server: mcpgate wraps stdio servers only`,
      `wrapped: git in ${claudeJson} [Claude Code, user]`,
      `wrapped: db (project /work/app) in ${claudeJson} [Claude Code, user]`,
      `not wrapped: api (project /work/app) in ${claudeJson} [Claude Code, user]: remote server: mcpgate wraps stdio servers only`,
      `wrapped: fs in ${join(at.cwd, ".mcp.json")} [Claude Code, project]`,
      `wrapped: ssh in ${cursor} [Cursor, user]`,
      `not wrapped: linear in ${cursor} [Cursor, user]: remote server: mcpgate wraps stdio servers only`,
      `wrapped: py in ${vscode} [VS Code, user]`,
      `not wrapped: web in ${join(at.cwd, ".vscode/mcp.json")} [VS Code, project]: remote server: mcpgate wraps stdio servers only`,
    ]) {
      assert.ok(first.lines.includes(line), `expected the line\n  ${line}\nin\n${first.stdout}`);
    }
    assert.equal(backups(at).length, 5, "a backup of each file written (not the workspace one, which had nothing to wrap)");
    assert.equal(read(`${desktop}.mcpgate-backup-${first.stdout.split(`${desktop}.mcpgate-backup-`)[1]!.split("\n")[0]}`), DESKTOP);

    const desktopNow = read(desktop);
    assert.match(desktopNow, /^ {2}\/\/ Claude Desktop: my servers$/m, "the comment is kept");
    assert.deepEqual(parse(desktopNow), {
      mcpServers: { bash: { command: "npx", args: wrapper(at.policy, "npx", "-y", "bash-mcp"), env: { SHELL_TIMEOUT: "30" } }, docs: { url: "https://example.com/mcp" } },
      globalShortcut: "Ctrl+Space",
    });
    const code = JSON.parse(read(claudeJson)) as { numStartups: number; mcpServers: { git: unknown }; projects: Record<string, { mcpServers: Record<string, unknown> }> };
    assert.deepEqual(code.mcpServers.git, { type: "stdio", command: "npx", args: wrapper(at.policy, "uvx", "mcp-server-git"), env: {} });
    assert.deepEqual(code.projects["/work/app"]!.mcpServers.db, { type: "stdio", command: "npx", args: wrapper(at.policy, "node", "db.js", "--ro"), env: { URL: "x" } });
    assert.deepEqual((parse(read(vscode)) as { servers: unknown }).servers, { py: { type: "stdio", command: "npx", args: wrapper(at.policy, "python", "-m", "server") } });
    assert.equal(read(join(at.cwd, ".vscode/mcp.json")), WORKSPACE);

    const installed = Object.fromEntries(Object.keys(at.files).map((file) => [file, read(file)]));
    const second = await mcpgate(at, "install", "--policy", at.policy);
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.lines.includes(`already wrapped: bash in ${desktop} [Claude Desktop, user]: policy ${at.policy}`), second.stdout);
    assert.ok(!second.lines.some((line) => line.startsWith("wrapped:")), second.stdout);
    for (const [file, text] of Object.entries(installed)) assert.equal(read(file), text, `${file} unchanged by a second install`);
    assert.equal(backups(at).length, 5, "nothing written, so no new backup");

    // An edit made after install, to another field, survives uninstall.
    writeFileSync(cursor, read(cursor).replace('"ssh": {', '"ssh": { "env": { "KEY": "k" },'));
    const removed = await mcpgate(at, "uninstall");
    assert.equal(removed.code, 0, removed.stderr);
    assert.ok(removed.lines.includes(`restored: db (project /work/app) in ${claudeJson} [Claude Code, user]`), removed.stdout);
    for (const [file, text] of Object.entries(at.files)) {
      assert.equal(read(file), file === cursor ? text.replace('"ssh": {', '"ssh": { "env": { "KEY": "k" },') : text, `${file} restored`);
    }
  });

  it("--dry-run prints a unified diff and writes nothing", async () => {
    const at = layout();
    const desktop = join(at.home, ".config/Claude/claude_desktop_config.json");
    const run = await mcpgate(at, "install", "--policy", at.policy, "--dry-run");
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.lines.includes(`would wrap: bash in ${desktop} [Claude Desktop, user]`), run.stdout);
    assert.ok(run.lines.includes(`--- ${desktop}\tnow`), run.stdout);
    assert.ok(run.lines.includes(`+++ ${desktop}\tafter install`), run.stdout);
    assert.ok(run.lines.includes('-      "args": ["-y", "bash-mcp"],'), run.stdout);
    assert.ok(run.lines.includes(`+      "args": ${JSON.stringify(wrapper(at.policy, "npx", "-y", "bash-mcp")).replaceAll(",", ", ")},`), run.stdout);
    for (const [file, text] of Object.entries(at.files)) assert.equal(read(file), text, `${file} untouched`);
    assert.deepEqual(backups(at), []);
  });

  it("--client and --server choose what is wrapped and restored", async () => {
    const at = layout();
    const cursor = join(at.home, ".cursor/mcp.json");
    const claudeJson = join(at.home, ".claude.json");
    const run = await mcpgate(at, "install", "--policy", at.policy, "--client", "cursor");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.lines.filter((line) => !line.startsWith("updated ")), [`wrapped: ssh in ${cursor} [Cursor, user]`, `not wrapped: linear in ${cursor} [Cursor, user]: remote server: mcpgate wraps stdio servers only`]);
    for (const [file, text] of Object.entries(at.files)) if (file !== cursor) assert.equal(read(file), text);

    const db = await mcpgate(at, "install", "--policy", at.policy, "--server", "db");
    assert.equal(db.code, 0, db.stderr);
    assert.ok(db.lines.includes(`wrapped: db (project /work/app) in ${claudeJson} [Claude Code, user]`), db.stdout);
    const code = JSON.parse(read(claudeJson)) as { mcpServers: { git: { command: string } } };
    assert.equal(code.mcpServers.git.command, "uvx", "git was not chosen");

    const back = await mcpgate(at, "uninstall", "--client", "claude-code", "--server", "db");
    assert.equal(back.code, 0, back.stderr);
    assert.equal(read(claudeJson), at.files[claudeJson]);
    assert.notEqual(read(cursor), at.files[cursor], "cursor was not chosen for uninstall");

    const unknown = await mcpgate(at, "install", "--policy", at.policy, "--server", "nope");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no server named "nope" in the configs above/);
    const badClient = await mcpgate(at, "install", "--policy", at.policy, "--client", "emacs");
    assert.equal(badClient.code, 2);
    assert.match(badClient.stderr, /expected a client name: claude-desktop, claude-code, cursor, vscode; got "emacs"/);
  });

  it("reports a config that is not JSONC as FILE:LINE:COL, leaves it untouched, wraps the others, exits 1", async () => {
    const at = layout();
    const cursor = join(at.home, ".cursor/mcp.json");
    const broken = CURSOR.replace('"box"] },', '"box"] }');
    writeFileSync(cursor, broken);
    const run = await mcpgate(at, "install", "--policy", at.policy);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`mcpgate: ${cursor.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:9: invalid JSONC: expected "," or the end of the list or mapping, got "\\\\"linear\\\\""; this file was left untouched`));
    assert.equal(read(cursor), broken);
    assert.ok(run.lines.includes(`wrapped: bash in ${join(at.home, ".config/Claude/claude_desktop_config.json")} [Claude Desktop, user]`), run.stdout);
  });

  it("says where it looked when no config is found, and exits 0", async () => {
    const home = tempDir();
    const cwd = tempDir();
    const run = await runGateway(["install", "--policy", writePolicy('version: "1"\ndefault: allow\n')], "", { env: { HOME: home, XDG_CONFIG_HOME: "" }, cwd });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.lines[0], "no MCP client config found. Looked in:");
    assert.ok(run.lines.includes(`  ${join(home, ".config/Claude/claude_desktop_config.json")} [Claude Desktop, user]`), run.stdout);
    assert.ok(run.lines.includes(`  ${join(cwd, ".vscode/mcp.json")} [VS Code, project]`), run.stdout);
  });

  it("refuses a policy that does not load: servers wrapped with it would not start", async () => {
    const at = layout();
    const run = await mcpgate(at, "install", "--policy", join(at.cwd, "missing.yaml"));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no policy file at /);
    for (const [file, text] of Object.entries(at.files)) assert.equal(read(file), text);
  });
});
