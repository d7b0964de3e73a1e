#!/usr/bin/env node
// The benchmark's MCP server: raw JSON-RPC lines, no SDK, so the cost measured is the
// gateway's and not the server's. tools/call "echo" answers with a small text; "big" with a
// text of `arguments.bytes` bytes, built once and cached ("big_redacted" the same, under a name
// the benchmark's policy redacts); "logs" with that much log-like text (log-text.mjs).
import { logText } from "./log-text.mjs";

const big = new Map();
const logs = new Map();
const send = (text) => process.stdout.write(text);

function bigBody(bytes) {
  let body = big.get(bytes);
  if (body === undefined) {
    body = Buffer.alloc(bytes, 0x61);
    big.set(bytes, body);
  }
  return body;
}

let pending = [];
process.stdin.on("data", (chunk) => {
  let start = 0;
  let newline;
  while ((newline = chunk.indexOf(10, start)) !== -1) {
    pending.push(chunk.subarray(start, newline));
    handle(Buffer.concat(pending).toString("utf8"));
    pending = [];
    start = newline + 1;
  }
  if (start < chunk.length) pending.push(chunk.subarray(start));
});
process.stdin.on("end", () => process.exit(0));

function handle(line) {
  if (line.trim() === "") return;
  const message = JSON.parse(line);
  const id = JSON.stringify(message.id);
  switch (message.method) {
    case "initialize":
      send(`{"jsonrpc":"2.0","id":${id},"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"bench","version":"1"}}}\n`);
      return;
    case "tools/list":
      send(`{"jsonrpc":"2.0","id":${id},"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"big","inputSchema":{"type":"object"}},{"name":"big_redacted","inputSchema":{"type":"object"}},{"name":"logs","inputSchema":{"type":"object"}}]}}\n`);
      return;
    case "tools/call": {
      const { name, arguments: args } = message.params;
      if (name === "logs") {
        let line = logs.get(args.bytes);
        if (line === undefined) {
          line = Buffer.from(`,"result":{"content":[{"type":"text","text":${JSON.stringify(logText(args.bytes))}}]}}\n`);
          logs.set(args.bytes, line);
        }
        // { prepare: true } builds the text before the timed call, so no target's time holds it.
        if (args.prepare) return send(`{"jsonrpc":"2.0","id":${id},"result":{"content":[]}}\n`);
        send(`{"jsonrpc":"2.0","id":${id}`);
        send(line);
        return;
      }
      if (name === "big" || name === "big_redacted") {
        const body = bigBody(args.bytes);
        send(`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`);
        send(body);
        send(`"}]}}\n`);
        return;
      }
      send(`{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":${JSON.stringify(String(args?.text ?? ""))}}]}}\n`);
      return;
    }
    default:
      if (message.id !== undefined) send(`{"jsonrpc":"2.0","id":${id},"result":{}}\n`);
  }
}
