// install/uninstall on one server entry (pure values) and on a config file's JSONC text: what is
// wrapped, what is recognised as a wrapper, and that uninstall after install gives back the
// entry — and the file's exact bytes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parse, stripComments } from "jsonc-parser/lib/esm/main.js";
import { configLocations, type ConfigLocation } from "../../src/install/clients.ts";
import { planFile, type Action } from "../../src/install/config-file.ts";
import { REMOTE_REASON, shapeOf, unwrapEntry, wrapEntry } from "../../src/install/rewrite.ts";

const POLICY = "/abs/policy.yaml";

/** Field values an entry may carry besides command and args. */
const extra = fc.dictionary(
  fc.string().filter((key) => !["command", "args", "type", "url", "__proto__"].includes(key)),
  fc.jsonValue(),
  { maxKeys: 3 },
);
const stdioEntry = fc
  .record({ command: fc.string({ minLength: 1 }), args: fc.option(fc.array(fc.string(), { maxLength: 5 }), { nil: undefined }), stdio: fc.boolean(), extra })
  .map(({ command, args, stdio, extra }) => ({ ...extra, ...(stdio ? { type: "stdio" } : {}), command, ...(args === undefined ? {} : { args }) }))
  .filter((entry) => shapeOf(entry).kind === "stdio");

describe("one entry", () => {
  it("wraps a stdio server as npx -y mcpgate --policy ABS -- COMMAND ARGS, keeping every other field", () => {
    const entry = { command: "uvx", args: ["mcp-server-git", "--repo", "."], env: { TOKEN: "x" }, cwd: "/w" };
    assert.deepEqual(wrapEntry(entry, POLICY), {
      command: "npx",
      args: ["-y", "mcpgate", "--policy", POLICY, "--", "uvx", "mcp-server-git", "--repo", "."],
      env: { TOKEN: "x" },
      cwd: "/w",
    });
  });

  it("says why remote and malformed entries are not wrapped", () => {
    assert.deepEqual(shapeOf({ url: "https://example.com/mcp" }), { kind: "skip", reason: REMOTE_REASON });
    assert.deepEqual(shapeOf({ type: "http", url: "https://example.com/mcp" }), { kind: "skip", reason: REMOTE_REASON });
    assert.deepEqual(shapeOf({ type: "sse", command: "x" }), { kind: "skip", reason: REMOTE_REASON });
    assert.deepEqual(shapeOf({ type: "ws", command: "x" }), { kind: "skip", reason: 'type "ws": mcpgate wraps stdio servers only' });
    assert.deepEqual(shapeOf({ args: [] }), { kind: "skip", reason: 'expected "command" to be a non-empty string, got nothing' });
    assert.deepEqual(shapeOf({ command: "x", args: [1] }), { kind: "skip", reason: 'expected "args" to be a list of strings, got [1]' });
    assert.deepEqual(shapeOf(["x"]), { kind: "skip", reason: "not an object: left alone" });
  });

  it("recognises mcpgate wrappers: npx with mcpgate (any version) and mcpgate's own binary, each with a server after --", () => {
    assert.deepEqual(shapeOf({ command: "npx", args: ["-y", "mcpgate", "--policy", "/p.yaml", "--", "node", "s.js"] }), {
      kind: "wrapped",
      commandAt: 5,
      policy: "/p.yaml",
      args: ["-y", "mcpgate", "--policy", "/p.yaml", "--", "node", "s.js"],
    });
    assert.equal(shapeOf({ command: "npx.cmd", args: ["mcpgate@0.1.0", "-p", "/p.yaml", "--", "node"] }).kind, "wrapped");
    assert.deepEqual(unwrapEntry({ command: "/usr/local/bin/mcpgate", args: ["--policy=/p.yaml", "--", "node", "s.js", "--", "x"], env: {} }), {
      command: "node",
      args: ["s.js", "--", "x"],
      env: {},
    });
    assert.deepEqual(shapeOf({ command: "npx", args: ["-y", "mcpgate", "check", "p.yaml"] }), { kind: "skip", reason: "runs mcpgate without a server after --: left alone" });
    assert.equal(shapeOf({ command: "npx", args: ["-y", "mcpgate-other", "--", "x"] }).kind, "stdio");
    assert.equal(shapeOf({ command: "npx", args: ["-y", "search-mcp", "--query", "mcpgate"] }).kind, "stdio", "mcpgate as an argument of another server");
    assert.equal(shapeOf({ command: "npx", args: ["--yes", "-p", "mcpgate@0.1.0", "mcpgate", "--policy", "/p.yaml", "--", "x"] }).kind, "wrapped");
    assert.deepEqual(unwrapEntry({ command: "node", args: ["/src/mcpgate/bin/mcpgate.js", "--policy", "/p.yaml", "--", "python", "-m", "s"] }), { command: "python", args: ["-m", "s"] });
    assert.equal(shapeOf({ command: "node", args: ["server.js", "--", "x"] }).kind, "stdio");
  });

  it("uninstall(install(x)) is x for any stdio entry (an absent args comes back as [])", () => {
    fc.assert(
      fc.property(stdioEntry, fc.string({ minLength: 1 }), (entry, policy) => {
        const wrapped = wrapEntry(entry, policy)!;
        assert.equal(shapeOf(wrapped).kind, "wrapped");
        assert.equal(wrapEntry(wrapped, policy), undefined, "never wrapped twice");
        assert.deepEqual(unwrapEntry(wrapped), { args: [], ...entry });
      }),
    );
  });
});

const MACHINE = { home: "/h", platform: "linux" as const, cwd: "/p", env: {} };
const at = (client: string, scope: string): ConfigLocation => configLocations(MACHINE).find((location) => location.client === client && location.scope === scope)!;
const all = (): boolean => true;
const install: Action = { kind: "install", policy: POLICY };

describe("where clients keep their configs", () => {
  it("on Linux, macOS and Windows", () => {
    assert.deepEqual(
      configLocations(MACHINE).map(({ client, scope, file, key }) => `${client} ${scope} ${key} ${file}`),
      [
        "claude-desktop user mcpServers /h/.config/Claude/claude_desktop_config.json",
        "claude-code user mcpServers /h/.claude.json",
        "claude-code project mcpServers /p/.mcp.json",
        "cursor user mcpServers /h/.cursor/mcp.json",
        "cursor project mcpServers /p/.cursor/mcp.json",
        "vscode user servers /h/.config/Code/User/mcp.json",
        "vscode project servers /p/.vscode/mcp.json",
      ],
    );
    const mac = configLocations({ ...MACHINE, platform: "darwin" });
    assert.equal(mac[0]!.file, "/h/Library/Application Support/Claude/claude_desktop_config.json");
    assert.equal(mac[5]!.file, "/h/Library/Application Support/Code/User/mcp.json");
    const windows = configLocations({ home: "C:\\Users\\u", platform: "win32", cwd: "C:\\w", env: { APPDATA: "C:\\Users\\u\\AppData\\Roaming" } });
    assert.equal(windows[0]!.file, "C:\\Users\\u\\AppData\\Roaming\\Claude\\claude_desktop_config.json");
    assert.equal(windows[5]!.file, "C:\\Users\\u\\AppData\\Roaming\\Code\\User\\mcp.json");
    assert.equal(windows[1]!.file, "C:\\Users\\u\\.claude.json");
  });

  it("lists a file once when the working directory is HOME", () => {
    const files = configLocations({ ...MACHINE, cwd: "/h" }).map((location) => location.file);
    assert.equal(files.filter((file) => file === "/h/.cursor/mcp.json").length, 1);
  });
});

describe("a config file's text", () => {
  it("reports where a file stops being JSONC, and changes nothing", () => {
    const plan = planFile('{\n  "mcpServers": {\n    "a": { "command": "x" }\n  ]\n}\n', at("cursor", "user"), install, all);
    assert.deepEqual(plan, { ok: false, problem: { line: 4, col: 3, message: 'invalid JSONC: expected "," or the end of the list or mapping, got "]"' } });
  });

  it("wraps Claude Code's per-project servers as well as its top-level ones", () => {
    const text = JSON.stringify({ mcpServers: { a: { command: "x", args: [] } }, projects: { "/w": { mcpServers: { b: { type: "stdio", command: "y", args: ["1"], env: {} } } } } }, null, 2);
    const plan = planFile(text, at("claude-code", "user"), install, (name) => name === "b");
    assert.ok(plan.ok);
    assert.deepEqual(plan.servers, [{ name: "b", project: "/w", status: "wrapped" }]);
    const after = parse(plan.updated) as { projects: Record<string, { mcpServers: Record<string, unknown> }>; mcpServers: unknown };
    assert.deepEqual(after.projects["/w"]!.mcpServers.b, { type: "stdio", command: "npx", args: ["-y", "mcpgate", "--policy", POLICY, "--", "y", "1"], env: {} });
    assert.deepEqual(after.mcpServers, { a: { command: "x", args: [] } }, "a server not chosen is left alone");
  });

  it("install edits the text as wrapEntry edits the value, and uninstall gives back the exact bytes", () => {
    const withArgs = stdioEntry.filter((entry) => entry.args !== undefined);
    const servers = fc.dictionary(fc.string().filter((name) => name !== "__proto__"), fc.oneof(withArgs, fc.constant({ url: "https://x" })), { minKeys: 1, maxKeys: 4 });
    fc.assert(
      fc.property(servers, fc.constantFrom(0, 1, 2, "\t"), fc.boolean(), fc.constantFrom("mcpServers" as const, "servers" as const), (generated, indent, comment, key) => {
        // The servers as a config file can hold them: JSON has no -0 (a generated -0 is written "0").
        const map = JSON.parse(JSON.stringify(generated)) as typeof generated;
        let text = JSON.stringify({ [key]: map, other: [1, 2] }, null, indent);
        if (comment) text = `// servers\n${text.replace(/\n/g, " /* kept */\n")}\n`;
        const location = at(key === "servers" ? "vscode" : "cursor", "project");
        const installed = planFile(text, location, install, all);
        assert.ok(installed.ok);
        const expected = Object.fromEntries(Object.entries(map).map(([name, entry]) => [name, wrapEntry(entry, POLICY) ?? entry]));
        // (JSON.parse, not jsonc-parser's parse, reads a "__proto__" key as the own key it is.)
        assert.deepEqual((JSON.parse(stripComments(installed.updated)) as Record<string, unknown>)[key], expected);
        const again = planFile(installed.updated, location, install, all);
        assert.ok(again.ok);
        assert.equal(again.updated, installed.updated, "a second install changes nothing");
        const restored = planFile(installed.updated, location, { kind: "uninstall" }, all);
        assert.ok(restored.ok);
        assert.equal(restored.updated, text);
      }),
    );
  });

  it("reads a \"__proto__\" key as a key: an entry cannot borrow a command through it", () => {
    const text = '{ "mcpServers": { "a": { "__proto__": { "command": "evil", "args": [] } } } }';
    const plan = planFile(text, at("cursor", "user"), install, all);
    assert.ok(plan.ok);
    assert.equal(plan.updated, text, "nothing to wrap: the entry has no command of its own");
    assert.notEqual(plan.servers[0]?.status, "wrapped");
  });

  it("adds args after command where an entry had none, and uninstall leaves args: []", () => {
    const text = '{\n  "mcpServers": {\n    "a": {\n      "command": "my-server",\n      "env": {}\n    }\n  }\n}\n';
    const installed = planFile(text, at("cursor", "user"), install, all);
    assert.ok(installed.ok);
    assert.equal(installed.updated, `{\n  "mcpServers": {\n    "a": {\n      "command": "npx",\n      "args": ["-y", "mcpgate", "--policy", "${POLICY}", "--", "my-server"],\n      "env": {}\n    }\n  }\n}\n`);
    const restored = planFile(installed.updated, at("cursor", "user"), { kind: "uninstall" }, all);
    assert.ok(restored.ok);
    assert.equal(restored.updated, text.replace('"my-server",', '"my-server",\n      "args": [],'));
  });

  it("keeps CRLF line ends in what it inserts", () => {
    const text = '{\r\n  "mcpServers": {\r\n    "a": {\r\n      "command": "x",\r\n      "args": [\r\n        "1"\r\n      ]\r\n    },\r\n    "b": {\r\n      "command": "y"\r\n    }\r\n  }\r\n}\r\n';
    const installed = planFile(text, at("cursor", "user"), install, all);
    assert.ok(installed.ok);
    assert.equal(installed.updated.replace(/\r\n/g, "").includes("\n"), false, "no bare LF");
    assert.deepEqual(parse(installed.updated), {
      mcpServers: { a: { command: "npx", args: ["-y", "mcpgate", "--policy", POLICY, "--", "x", "1"] }, b: { command: "npx", args: ["-y", "mcpgate", "--policy", POLICY, "--", "y"] } },
    });
    const restored = planFile(installed.updated, at("cursor", "user"), { kind: "uninstall" }, all);
    assert.ok(restored.ok);
    assert.equal(restored.updated, text.replace('"y"\r\n', '"y",\r\n      "args": []\r\n'));
  });

  it("says which policy a wrapped server already has, and how to switch", () => {
    const text = JSON.stringify({ mcpServers: { a: { command: "npx", args: ["-y", "mcpgate", "--policy", "/old.yaml", "--", "x"] } } });
    const plan = planFile(text, at("cursor", "user"), install, all);
    assert.ok(plan.ok);
    assert.equal(plan.updated, text);
    assert.deepEqual(plan.servers, [{ name: "a", status: "already wrapped", detail: `policy /old.yaml (not ${POLICY}: uninstall, then install, to switch)` }]);
  });
});
