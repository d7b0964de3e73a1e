// The small decisions behind the CLI's messages, each on its own: which variables the server
// gets, which argv is a usage mistake, when to say the gateway waits on a terminal, where the
// audit log goes by default, and the exit code of a decision.
import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Command } from "commander";
import { defaultAuditPath, xdgHome } from "../../src/audit/log.ts";
import { EXIT_APPROVE, EXIT_DENY, EXIT_INTERNAL, EXIT_INVALID, EXIT_NOT_STARTED, EXIT_OK, EXIT_USAGE } from "../../src/cli/exit-codes.ts";
import { decisionExitCode } from "../../src/cli/explain.ts";
import { missingFileMessage } from "../../src/cli/policy.ts";
import { findMistake, shellQuote } from "../../src/cli/usage.ts";
import { terminalNotice } from "../../src/cli/wrap.ts";
import { compilePolicy } from "../../src/policy/compile.ts";
import { parsePolicy } from "../../src/policy/load.ts";
import { policyWarnings } from "../../src/policy/warnings.ts";
import { childEnv, isOuterNpmVariable } from "../../src/relay/child-env.ts";
import { cannotStartMessage } from "../../src/relay/start-error.ts";

describe("the server's environment", () => {
  const npx = {
    PATH: "/usr/bin",
    HOME: "/home/me",
    MY_TOKEN: "from the client config",
    npm_config_registry: "https://registry.example.test/",
    npm_config_cache: "/home/me/.npm",
    npm_config_package: "./mcpgate.tgz",
    npm_config_yes: "true",
    npm_config_call: "",
    npm_config_user_agent: "npm/11 node/v20",
    npm_command: "exec",
    npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js",
    npm_node_execpath: "/usr/bin/node",
    npm_lifecycle_event: "npx",
    npm_lifecycle_script: "mcpgate",
    npm_package_json: "/project/package.json",
    npm_package_name: "project",
  };

  it("drops what npx set for mcpgate's own run and keeps everything else", () => {
    assert.deepEqual(childEnv(npx), {
      PATH: "/usr/bin",
      HOME: "/home/me",
      MY_TOKEN: "from the client config",
      npm_config_registry: "https://registry.example.test/",
      npm_config_cache: "/home/me/.npm",
    });
  });

  it("leaves the environment alone when npm did not start mcpgate", () => {
    const direct = { PATH: "/usr/bin", npm_config_package: "set on purpose", npm_config_yes: "true" };
    assert.equal(childEnv(direct), direct);
  });

  it("names: exact, not prefixes of other variables", () => {
    assert.equal(isOuterNpmVariable("npm_config_package"), true);
    assert.equal(isOuterNpmVariable("npm_config_package_lock"), false);
    assert.equal(isOuterNpmVariable("npm_config_yes_really"), false);
    assert.equal(isOuterNpmVariable("npm_package_version"), true);
    assert.equal(isOuterNpmVariable("NPM_COMMAND_HISTORY"), false);
  });
});

describe("usage mistakes", () => {
  const program = new Command("mcpgate").option("-p, --policy <file>").option("-v, --verbose").option("--no-audit").option("--audit <file>");
  program.command("check").argument("[files...]");
  program.command("init").option("-o, --output <file>").option("--force");

  it("a word after the gateway's options is the server's command, put after --", () => {
    assert.deepEqual(findMistake(program, ["--policy", "p.yaml", "npx", "-y", "bash-mcp"]), { kind: "no-separator", corrected: ["--policy", "p.yaml", "--", "npx", "-y", "bash-mcp"] });
    assert.deepEqual(findMistake(program, ["-v", "--audit=a.log", "node", "s.js"]), { kind: "no-separator", corrected: ["-v", "--audit=a.log", "--", "node", "s.js"] });
    assert.deepEqual(findMistake(program, ["init", "--force", "-o", "p.yaml", "npx", "x"]), { kind: "no-separator", corrected: ["init", "--force", "-o", "p.yaml", "--", "npx", "x"] });
  });

  it("a word first of all is a command, and unknown unless it is one", () => {
    assert.deepEqual(findMistake(program, ["status"]), { kind: "unknown-command", name: "status" });
    assert.equal(findMistake(program, ["check", "a.yaml", "b.yaml"]), undefined);
    assert.equal(findMistake(program, ["help", "check"]), undefined);
  });

  it("well-formed lines, and unknown options (commander's message is right for those), pass", () => {
    assert.equal(findMistake(program, ["--policy", "p.yaml", "--", "npx", "-y", "bash-mcp"]), undefined);
    assert.equal(findMistake(program, ["init", "-o", "p.yaml", "--", "npx"]), undefined);
    assert.equal(findMistake(program, ["--polcy", "p.yaml", "npx"]), undefined);
    assert.equal(findMistake(program, []), undefined);
  });

  it("the corrected line reads back the same in a shell", () => {
    assert.equal(shellQuote("bash-mcp"), "bash-mcp");
    assert.equal(shellQuote("/a/b.yaml"), "/a/b.yaml");
    assert.equal(shellQuote("my server.js"), "'my server.js'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote(""), "''");
  });
});

describe("small messages", () => {
  it("a gateway on a terminal says it waits for a client; on a pipe it says nothing", () => {
    assert.equal(terminalNotice(true), "waiting for an MCP client on stdin: mcpgate is started by an MCP client (see mcpgate --help); press Ctrl-D or Ctrl-C to stop");
    assert.equal(terminalNotice(false), undefined);
    assert.equal(terminalNotice(undefined), undefined);
  });

  it("a missing policy file: absolute path and working directory", () => {
    assert.equal(missingFileMessage("conf/p.yaml", "/home/me"), "no policy file at /home/me/conf/p.yaml (working directory /home/me)");
    assert.equal(missingFileMessage("/etc/p.yaml", "/home/me"), "no policy file at /etc/p.yaml (working directory /home/me)");
  });

  it("a server that cannot start: the command, why, and PATH", () => {
    const notFound = Object.assign(new Error("spawn x ENOENT"), { code: "ENOENT" });
    const denied = Object.assign(new Error("spawn x EACCES"), { code: "EACCES" });
    assert.equal(cannotStartMessage("x", notFound, "/bin:/usr/bin"), 'cannot start the MCP server "x": command not found (PATH=/bin:/usr/bin)');
    assert.equal(cannotStartMessage("x", denied, "/bin"), 'cannot start the MCP server "x": permission denied (not executable?) (PATH=/bin)');
    assert.equal(cannotStartMessage("x", new Error("odd"), ""), 'cannot start the MCP server "x": odd (PATH=)');
  });

  it("a policy that denies every call gets a warning; one that lists a tool does not", () => {
    const compiled = (source: string) => {
      const result = parsePolicy(source);
      assert.ok(result.ok);
      return compilePolicy(result.policy);
    };
    assert.deepEqual(policyWarnings(compiled('version: "1"\ndefault: deny\n')), [
      "every call will be denied: the default is deny and no tool has an entry under tools (mcpgate init writes one for each tool of a server)",
    ]);
    assert.deepEqual(policyWarnings(compiled('version: "1"\ndefault: deny\ntools:\n  run: {}\n')), []);
    assert.deepEqual(policyWarnings(compiled('version: "1"\ndefault: allow\n')), []);
  });
});

describe("exit codes", () => {
  it("the documented numbers", () => {
    assert.deepEqual([EXIT_OK, EXIT_DENY, EXIT_INVALID, EXIT_USAGE, EXIT_APPROVE, EXIT_INTERNAL, EXIT_NOT_STARTED], [0, 1, 1, 2, 3, 70, 127]);
    assert.deepEqual([decisionExitCode("allow"), decisionExitCode("deny"), decisionExitCode("approve")], [0, 1, 3]);
  });
});

describe("the default audit path", { skip: (process.platform === "darwin" || process.platform === "win32") && "XDG applies to other systems" }, () => {
  const fallback = join(homedir(), ".local", "state", "mcpgate", "audit.jsonl");

  it("an empty or relative XDG_STATE_HOME counts as unset", () => {
    assert.equal(defaultAuditPath({ XDG_STATE_HOME: "" }), fallback);
    assert.equal(defaultAuditPath({ XDG_STATE_HOME: "relative/dir" }), fallback);
    assert.equal(defaultAuditPath({}), fallback);
    assert.equal(defaultAuditPath({ XDG_STATE_HOME: "/var/state" }), "/var/state/mcpgate/audit.jsonl");
  });

  it("xdgHome", () => {
    assert.equal(xdgHome("XDG_CACHE_HOME", { XDG_CACHE_HOME: "./c" }), undefined);
    assert.equal(xdgHome("XDG_CACHE_HOME", { XDG_CACHE_HOME: "/c" }), "/c");
  });
});
