#!/usr/bin/env node
// What most TypeScript MCP proxies do: an SDK stdio server transport facing the client and
// an SDK stdio client transport facing the server, each message parsed and re-serialized.
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const [command, ...args] = process.argv.slice(2);
const upstream = new StdioClientTransport({ command, args, stderr: "inherit" });
const downstream = new StdioServerTransport();
upstream.onmessage = (message) => void downstream.send(message);
downstream.onmessage = (message) => void upstream.send(message);
upstream.onclose = () => process.exit(0);
// The SDK's server transport does not notice stdin's end by itself.
process.stdin.on("end", () => void upstream.close());
await upstream.start();
await downstream.start();
