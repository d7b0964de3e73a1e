// What a large result must look like once it has come through a target (bench/run.ts), as a
// sha256: the benchmark server's answer byte for byte, or, through mcpgate, the log-like text as
// its redaction engine rewrites it.
import { createHash } from "node:crypto";
import { logText } from "./log-text.mjs";
import { redactMember } from "../src/redact/message.ts";
import { compileRedaction } from "../src/redact/settings.ts";
import { scanJson } from "../src/wire/scan.ts";

export function expectedSha(bytes: number, id: number): string {
  return createHash("sha256")
    .update(`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`)
    .update(Buffer.alloc(bytes, 0x61))
    .update(`"}]}}`)
    .digest("hex");
}

/** The log-like text's answer as a line (without its newline), and as mcpgate sends it: redacted. */
const logLines = new Map<string, string>();
export function logsSha(bytes: number, id: number, redacted: boolean): string {
  const key = `${bytes}:${id}:${redacted}`;
  let line = logLines.get(key);
  if (line === undefined) {
    line = `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":${JSON.stringify(logText(bytes))}}]}}`;
    if (redacted) {
      const buf = Buffer.from(line);
      const scan = scanJson(buf);
      const result = scan.members.find((member) => member.key === "result")!;
      line = redactMember(buf, result, compileRedaction({ secrets: true }, undefined, "tools.logs.redact")!.scanner, true)!.line.toString("utf8");
    }
    logLines.set(key, line);
  }
  return createHash("sha256").update(line).digest("hex");
}
