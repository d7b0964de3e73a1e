// The approver scripts in examples/approvers/, run by the built gateway as --approver, with the
// desktop dialog program they call (zenity, osascript) replaced by a stand-in on PATH that
// records what it was shown and answers as told. (The Windows script needs PowerShell.)
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { connect, rawServer, ROOT, tempDir, text, writePolicy } from "./helpers.ts";

const POLICY = 'version: "1"\ndefault: deny\ntools:\n  echo: { action: approve, reason: "echo needs a yes" }\n';

/** A directory holding `program`, a stand-in that saves its arguments and exits with $ANSWER. */
function standIn(program: string): { dir: string; shown: () => string } {
  const dir = tempDir();
  const record = join(dir, "shown");
  writeFileSync(join(dir, program), `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit "$ANSWER"\n`);
  chmodSync(join(dir, program), 0o755);
  return { dir, shown: () => readFileSync(record, "utf8") };
}

for (const [script, program] of [
  ["approve-linux.sh", "zenity"],
  ["approve-macos.sh", "osascript"],
] as const) {
  describe(`examples/approvers/${script}`, { skip: process.platform === "win32" ? "a POSIX shell script" : false }, () => {
    for (const [answer, approved] of [
      ["0", true],
      ["1", false],
    ] as const) {
      it(`${approved ? "approves" : "denies"} when ${program} exits ${answer}, showing the tool and why`, async () => {
        const fake = standIn(program);
        const gate = await connect(writePolicy(POLICY), rawServer(), {
          gatewayArgs: ["--no-audit", "--approver", join(ROOT, "examples", "approvers", script)],
          env: { PATH: `${fake.dir}:/usr/bin:/bin`, ANSWER: answer },
        });
        try {
          const result = await gate.client.callTool({ name: "echo", arguments: { text: "hi" } });
          if (approved) assert.equal(text(result), 'echo: {"text":"hi"}');
          else assert.match(text(result), /^\[POLICY DENIED\] echo: echo needs a yes; the approver command said no \(exit code 1\)$/);
          assert.match(fake.shown(), /echo/);
          assert.match(fake.shown(), program === "zenity" ? /Why you are asked: echo needs a yes/ : /\\"reason\\":\\"echo needs a yes\\"/);
        } finally {
          await gate.close();
        }
      });
    }
  });
}
