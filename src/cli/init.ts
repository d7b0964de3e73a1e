// `mcpgate init [-o FILE] -- COMMAND [ARGS...]`: start the server, ask for its tools, and write
// a starter policy that lists them (src/policy/starter.ts). Nothing here relays: the server
// talks to us alone, and is stopped as soon as its tools are known.
import { existsSync, writeFileSync } from "node:fs";
import { parsePolicy } from "../policy/load.ts";
import { cannotStartMessage } from "../relay/start-error.ts";
import { STARTER_LIMIT, starterPolicy, type ListedTool } from "../policy/starter.ts";
import { describeExit, spawnServer, stopChild } from "../relay/server-process.ts";
import { LineSplitter } from "../wire/framing.ts";
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE } from "./exit-codes.ts";
import { printError, stderrLogger } from "./log.ts";

export interface InitOptions {
  output?: string;
  force?: boolean;
  /** How long the server gets to answer each request. */
  timeout?: number;
}

const PROTOCOL_VERSION = "2025-06-18";
/** A tools/list bigger than this is not a list of tools. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** Pages of tools/list followed before giving up on a server that never stops paging. */
const MAX_PAGES = 100;
const GRACE_MS = 2_000;

interface Listing {
  tools: ListedTool[];
  server?: { name?: string; version?: string };
}

type Message = { id?: unknown; method?: unknown; result?: Record<string, unknown>; error?: { message?: unknown } };

/** What the starter policy uses of a listed tool, each field only if it has the type the spec gives it. */
function listedTool(tool: unknown): ListedTool | undefined {
  if (tool === null || typeof tool !== "object") return undefined;
  const { name, description, annotations } = tool as Record<string, unknown>;
  if (typeof name !== "string") return undefined;
  const listed: ListedTool = { name };
  if (typeof description === "string") listed.description = description;
  if (annotations !== null && typeof annotations === "object") {
    const { title, readOnlyHint, destructiveHint, openWorldHint } = annotations as Record<string, unknown>;
    listed.annotations = {
      ...(typeof title === "string" ? { title } : {}),
      ...(typeof readOnlyHint === "boolean" ? { readOnlyHint } : {}),
      ...(typeof destructiveHint === "boolean" ? { destructiveHint } : {}),
      ...(typeof openWorldHint === "boolean" ? { openWorldHint } : {}),
    };
  }
  return listed;
}

/** Runs the server just long enough to list its tools: initialize, then tools/list page by page. */
export function listTools(command: string, args: string[], timeoutMs: number, version: string): Promise<Listing> {
  return new Promise((resolve, reject) => {
    const child = spawnServer(command, args, GRACE_MS, stderrLogger(false).warn);
    const tools: ListedTool[] = [];
    let server: Listing["server"];
    let nextId = 1;
    let waitingFor = 0;
    let what = "";
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const cursors = new Set<string>();

    let exited = false;
    /** Ends the session and settles once the server is gone. */
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (exited) return settle();
      child.once("close", settle);
      stopChild(child, GRACE_MS);
    };
    const fail = (why: string): void => finish(() => reject(new Error(why)));
    const send = (message: object): void => {
      child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", ...message })}\n`);
    };
    const request = (method: string, params: object): void => {
      waitingFor = nextId++;
      what = method;
      send({ id: waitingFor, method, params });
      clearTimeout(timer);
      timer = setTimeout(() => fail(`the server did not answer ${method} within ${timeoutMs} ms`), timeoutMs);
    };
    const answered = (result: Record<string, unknown>): void => {
      if (what === "initialize") {
        const info = result.serverInfo as Listing["server"] | undefined;
        if (info !== null && typeof info === "object") server = { name: String(info.name ?? ""), version: String(info.version ?? "") };
        send({ method: "notifications/initialized" });
        request("tools/list", {});
        return;
      }
      if (!Array.isArray(result.tools)) return fail("the server's tools/list result has no tools array");
      for (const tool of result.tools as unknown[]) {
        const listed = listedTool(tool);
        if (listed === undefined) return fail(`the server listed a tool without a name: ${JSON.stringify(tool)?.slice(0, 200)}`);
        tools.push(listed);
      }
      const cursor = result.nextCursor;
      if (typeof cursor === "string" && cursor !== "") {
        if (cursors.has(cursor) || cursors.size >= MAX_PAGES) return fail(`the server's tools/list kept paging (${cursors.size + 1} pages)`);
        cursors.add(cursor);
        request("tools/list", { cursor });
        return;
      }
      finish(() => resolve({ tools, ...(server === undefined ? {} : { server }) }));
    };

    const lines = new LineSplitter(
      {
        line: (bytes) => {
          let message: Message;
          try {
            message = JSON.parse(bytes.toString("utf8")) as Message;
          } catch {
            return; // a log line on stdout: not ours to judge here
          }
          if (message === null || typeof message !== "object" || Array.isArray(message)) return;
          if (typeof message.method === "string") {
            // A request of the server's own (ping, roots/list, sampling): answer, so it goes on.
            if (message.id === undefined || message.id === null) return;
            send(message.method === "ping" ? { id: message.id, result: {} } : { id: message.id, error: { code: -32601, message: `mcpgate init does not handle ${message.method}` } });
            return;
          }
          if (message.id !== waitingFor || settled) return;
          if (message.error !== undefined) return fail(`the server answered ${what} with an error: ${String(message.error?.message ?? JSON.stringify(message.error))}`);
          if (message.result === null || typeof message.result !== "object") return fail(`the server's ${what} response has no result`);
          answered(message.result);
        },
        oversize: (bytes) => fail(`the server sent a message of ${bytes} bytes, over the ${MAX_LINE_BYTES >> 20} MiB limit`),
      },
      MAX_LINE_BYTES,
    );
    child.stdout!.on("data", (chunk: Buffer) => lines.push(chunk));
    child.stdin!.on("error", () => {}); // the server's exit is reported below
    child.on("error", (error: NodeJS.ErrnoException) => {
      // It never started, so no close follows.
      exited = true;
      fail(cannotStartMessage(command, error));
    });
    child.on("close", (code, signal) => {
      exited = true;
      fail(`the MCP server ${describeExit(code, signal)} before answering ${what}`);
    });
    request("initialize", { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "mcpgate-init", version } });
  });
}

export async function init(server: string[], options: InitOptions, version: string): Promise<number> {
  const [command, ...args] = server;
  if (command === undefined || command === "") {
    printError("no server command: usage is mcpgate init [-o FILE] -- COMMAND [ARGS...]");
    return EXIT_USAGE;
  }
  const output = options.output;
  if (output !== undefined && output !== "-" && existsSync(output) && options.force !== true) {
    printError(`${output} exists; pass --force to overwrite it`);
    return EXIT_INVALID;
  }
  let listing: Listing;
  try {
    listing = await listTools(command, args, options.timeout ?? 30_000, version);
  } catch (error) {
    printError(`${(error as Error).message}; no policy written`);
    return EXIT_INVALID;
  }
  const starter = starterPolicy(listing.tools, { command: server, ...(listing.server === undefined ? {} : { server: listing.server }), date: new Date() });
  // What the server said went into the text: it must still be a valid policy.
  const parsed = parsePolicy(starter.yaml);
  if (!parsed.ok) throw new Error(`the starter policy is not valid: ${JSON.stringify(parsed.problems)}`);

  if (output === undefined || output === "-") {
    process.stdout.write(starter.yaml);
  } else {
    try {
      writeFileSync(output, starter.yaml, { mode: 0o644, flag: options.force === true ? "w" : "wx" });
    } catch (error) {
      printError(`cannot write ${output}: ${(error as Error).message}`);
      return EXIT_INVALID;
    }
  }
  const log = stderrLogger(false);
  for (const { name, why } of starter.skipped) log.warn(`left out the tool ${JSON.stringify(name)}: ${why}; it is denied`);
  const where = output === undefined || output === "-" ? "" : ` to ${output}`;
  const capped = starter.listed - starter.readOnly;
  process.stderr.write(
    `mcpgate: wrote a starter policy${where}: ${starter.listed} tool${starter.listed === 1 ? "" : "s"}, ${capped} capped at ${STARTER_LIMIT}, ${starter.readOnly} read-only allowed as they are.\n` +
      (output === undefined || output === "-" ? "" : `  Review it, then run: mcpgate --policy ${output} -- ${server.join(" ")}\n`),
  );
  return EXIT_OK;
}
