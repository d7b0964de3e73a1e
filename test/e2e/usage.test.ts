// Usage that explains itself (SPEC §2, §3): each mistake gets a sentence that fixes it, asserted
// here word for word against the built binary.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN, INIT, lines, rawServer, runGateway, tempDir, writePolicy } from "./helpers.ts";

const DENY_ALL_WARNING =
  "every call will be denied: the default is deny and no tool has an entry under tools (mcpgate init writes one for each tool of a server)";

describe("usage mistakes", () => {
  it("a server command without --: the corrected line, exit 2, and no server started", async () => {
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    const marker = join(tempDir(), "server-ran");
    const run = await runGateway(["--policy", policy, process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran")`]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    const script = `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran")`;
    assert.equal(run.stderr, `mcpgate: put the server command after --, as in:\n  mcpgate --policy ${policy} -- ${process.execPath} -e '${script}'\n`);
    assert.equal(existsSync(marker), false);
  });

  it("the SPEC's own example: mcpgate --policy p.yaml npx -y bash-mcp", async () => {
    const run = await runGateway(["--policy", "p.yaml", "npx", "-y", "bash-mcp"]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, "mcpgate: put the server command after --, as in:\n  mcpgate --policy p.yaml -- npx -y bash-mcp\n");
  });

  it("init's server command without --", async () => {
    const run = await runGateway(["init", "-o", "p.yaml", "npx", "-y", "bash-mcp"]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, "mcpgate: put the server command after --, as in:\n  mcpgate init -o p.yaml -- npx -y bash-mcp\n");
  });

  it("an unknown command: named, and the commands listed", async () => {
    const run = await runGateway(["status"]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      [
        "mcpgate: unknown command 'status'. The commands are:",
        "  mcpgate --policy FILE [options] -- COMMAND [ARGS...]                       wrap a server (the main job)",
        "  mcpgate check [options] [files...]                                         validate policy files; exit 0 if all are valid, 1 if any is not",
        "  mcpgate explain [options] <tool> [json_args]                               print the decision for one call and every check behind it, without starting a server; exit 0 allow, 1 deny, 3 approve",
        "  mcpgate replay --policy FILE [AUDIT_FILE] [--json]                         re-decide the calls an audit log recorded under another policy, and print those whose decision would change",
        "  mcpgate init [-o FILE] [options] -- COMMAND [ARGS...]                      start a server, list its tools, and write a starter policy that names them",
        "  mcpgate install --policy FILE [--client NAME] [--server NAME] [--dry-run]  run the stdio servers in your MCP client configs through mcpgate, backing up each file first",
        "  mcpgate uninstall [--client NAME] [--server NAME] [--dry-run]              give the servers install wrapped their own commands back",
        "  mcpgate log [options] [audit_file]                                         print the audit log's calls, filtered, or a table per server and tool (--summary)",
        "  mcpgate counters [options]                                                 print each scope: global counter's use in the shared store, and when it frees up (nothing is counted)",
        "  mcpgate pins [list|accept|clear] [options]                                 the pins of tool definitions (policy key pins): list them, accept a change, clear them",
        "  mcpgate help [COMMAND]                                                     help for a command",
        "",
      ].join("\n"),
    );
  });

  it("mcpgate help is a command, not an unknown one", async () => {
    const run = await runGateway(["help", "check"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Usage: mcpgate check \[options\] \[files\.\.\.\]$/m);
  });
});

describe("explain's exit code is the decision", () => {
  const policy = (): string =>
    writePolicy('version: "1"\ndefault: deny\ntools:\n  read: {}\n  push: { action: approve }\n  rm: { action: deny, reason: "never" }\n');

  it("0 allow, 1 deny, 3 approve; the same with --json", async () => {
    const file = policy();
    for (const [tool, code, verdict] of [["read", 0, "ALLOW"], ["rm", 1, "DENY"], ["unlisted", 1, "DENY"], ["push", 3, "APPROVE"]] as const) {
      const run = await runGateway(["explain", "--policy", file, tool]);
      assert.equal(run.code, code, `${tool}: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^${verdict} `, "m"));
      const json = await runGateway(["explain", "--json", "--policy", file, tool]);
      assert.equal(json.code, code, `${tool} --json: ${json.stderr}`);
      assert.equal((JSON.parse(json.stdout) as { effect: string }).effect, verdict.toLowerCase());
    }
  });

  it("an invalid policy exits 1, a usage error 2", async () => {
    const bad = writePolicy('version: "1"\ndefault: maybe\n');
    assert.equal((await runGateway(["explain", "--policy", bad, "read"])).code, 1);
    assert.equal((await runGateway(["explain", "--policy", policy(), "read", "[1]"])).code, 2);
  });
});

describe("check", () => {
  it("several files: each one's verdict, exit 1 if any is invalid", async () => {
    const good = writePolicy('version: "1"\ndefault: allow\n');
    const bad = writePolicy('version: "1"\ndefault: deny\ntools:\n  run:\n    limits:\n      - { window: minute, max: 3, scpoe: session }\n');
    const run = await runGateway(["check", good, bad]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, `${good}: valid (default allow, 0 tool entries)\n`);
    assert.equal(
      run.stderr,
      `${bad}:6:35: tools.run.limits[0].scpoe: unknown key "scpoe" (did you mean "scope"?)\nmcpgate: ${bad}: 1 problem; the policy is not valid\n`,
    );
    const both = await runGateway(["check", good, good]);
    assert.equal(both.code, 0, both.stderr);
  });

  it("--json: an array of { file, ok, problems, warnings }, nothing on stderr", async () => {
    const good = writePolicy('version: "1"\ndefault: deny\n');
    const bad = writePolicy('{"version": "1", "default": "deny",\n  "tools": {"run": {"limits": ["10/minute",]}}}\n', "policy.json");
    const missing = join(tempDir(), "missing.yaml");
    const run = await runGateway(["check", "--json", good, bad, missing]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "");
    assert.deepEqual(JSON.parse(run.stdout), [
      { file: good, ok: true, problems: [], warnings: [DENY_ALL_WARNING] },
      { file: bad, ok: false, problems: [{ line: 2, col: 43, path: "", message: 'invalid JSON: trailing comma before "]"' }], warnings: [] },
      { file: missing, ok: false, problems: [{ line: 1, col: 1, path: "", message: "cannot read policy: no such file" }], warnings: [] },
    ]);
  });

  it("a .json policy is strict JSON: comments and single quotes are errors with their position", async () => {
    const commented = writePolicy('{\n  // mine\n  "version": "1", "default": "deny"\n}\n', "policy.json");
    const quoted = writePolicy("{\"version\": '1', \"default\": \"deny\"}\n", "policy.json");
    const a = await runGateway(["check", commented]);
    assert.equal(a.code, 1);
    assert.equal(a.stderr.split("\n")[0], `${commented}:2:3: invalid JSON: comments are not allowed in a .json policy (YAML allows them)`);
    const b = await runGateway(["check", quoted]);
    assert.equal(b.code, 1);
    assert.equal(b.stderr.split("\n")[0], `${quoted}:1:13: invalid JSON: expected a string in double quotes, got '`);
  });

  it("a missing file: the absolute path tried and the working directory", async () => {
    const cwd = tempDir();
    const run = await runGateway(["check", "policy.yaml"], "", { cwd });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `policy.yaml:1:1: cannot read policy: no such file\nmcpgate: no policy file at ${join(cwd, "policy.yaml")} (working directory ${cwd})\n`);
  });

  it("a policy that denies every call is valid, with a warning", async () => {
    const file = writePolicy('version: "1"\ndefault: deny\n');
    const run = await runGateway(["check", file]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${file}: valid (default deny, 0 tool entries)\n`);
    assert.equal(run.stderr, `mcpgate: ${file}: ${DENY_ALL_WARNING}\n`);
  });
});

describe("the gateway at start-up", () => {
  it("warns about a policy that denies every call, and runs with it", async () => {
    const file = writePolicy('version: "1"\ndefault: deny\n');
    const run = await runGateway(["--policy", file, "--no-audit", "--", ...rawServer()], lines(INIT), { until: (stdout) => stdout.includes("\n") });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.lines.length, 1);
    assert.equal(run.stderr, `mcpgate: ${file}: ${DENY_ALL_WARNING}\n`);
  });

  it("a missing policy file: the absolute path tried and the working directory", async () => {
    const cwd = tempDir();
    const run = await runGateway(["--policy", "nope.yaml", "--", ...rawServer()], "", { cwd });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^mcpgate: no policy file at ${join(cwd, "nope.yaml")} \\(working directory ${cwd}\\)$`, "m"));
  });

  it("the server does not see what npx set for mcpgate's own package; it sees everything else", async () => {
    const out = join(tempDir(), "env.json");
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    const dump = `require("fs").writeFileSync(process.env.ENV_OUT, JSON.stringify(process.env))`;
    const env = {
      ENV_OUT: out,
      MCPGATE_TEST_VISIBLE: "kept",
      npm_config_registry: "https://registry.example.test/",
      npm_config_package: "./mcpgate.tgz",
      npm_config_yes: "true",
      npm_command: "exec",
      npm_lifecycle_event: "npx",
      npm_lifecycle_script: "mcpgate",
      npm_package_json: "/somewhere/package.json",
      npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js",
    };
    const run = await runGateway(["--policy", policy, "--no-audit", "--", process.execPath, "-e", dump], "", { env });
    assert.equal(run.code, 0, run.stderr);
    const seen = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    assert.equal(seen.MCPGATE_TEST_VISIBLE, "kept");
    assert.equal(seen.npm_config_registry, "https://registry.example.test/");
    for (const name of ["npm_config_package", "npm_config_yes", "npm_command", "npm_lifecycle_event", "npm_lifecycle_script", "npm_package_json", "npm_execpath"]) {
      assert.equal(seen[name], undefined, `${name} reached the server`);
    }
  });
});

describe("started by hand on a terminal", { skip: !existsSync("/usr/bin/script") && "needs script(1) for a pseudo-terminal" }, () => {
  it("says that it waits for an MCP client on stdin", async () => {
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, BIN, "--policy", policy, "--no-audit", "--", ...rawServer()].map(quote).join(" ");
    // script(1) gives mcpgate a pseudo-terminal for stdin, stdout and stderr; what it prints comes out here.
    const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    const notice = "mcpgate: waiting for an MCP client on stdin: mcpgate is started by an MCP client (see mcpgate --help); press Ctrl-D or Ctrl-C to stop";
    // The notice comes before the server starts, so once the server has answered it is there or never.
    const answered = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
        if (output.includes('"result"')) resolve();
      });
      child.on("close", () => resolve());
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      child.stdin.write(`${INIT}\n`);
      await answered;
      assert.ok(output.includes(`${notice}\r\n`), JSON.stringify(output));
      // Ctrl-D on the terminal ends mcpgate's input: it stops the server and exits.
      child.stdin.write("\x04");
      assert.equal(await closed, 0, output);
    } finally {
      // On a failed assertion, the terminal's end (SIGHUP) ends mcpgate too.
      if (child.exitCode === null && child.signalCode === null) child.kill();
    }
  });

  it("says nothing of the sort on a pipe", async () => {
    const policy = writePolicy('version: "1"\ndefault: allow\n');
    const run = await runGateway(["--policy", policy, "--no-audit", "--", ...rawServer()]);
    assert.equal(run.code, 0);
    assert.equal(run.stderr, "");
  });
});
