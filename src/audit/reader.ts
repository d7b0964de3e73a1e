// Reading the audit log back: bytes in (as they come, from a file or a followed one), one
// record per `call` event out, each naming its server. A call event written before events
// carried a `server` field (or before the server answered initialize) is named from its
// session's `start` event and from the session's other calls. A line that is not a JSON
// object is reported with its line number and skipped.
import { basename, extname } from "node:path";
import { StringDecoder } from "node:string_decoder";

export interface ServerLabel {
  name?: string;
  command?: string[];
}

/** One `call` event as read: its fields, the line exactly as written, and the server it names. */
export interface LoggedCall {
  event: Record<string, unknown>;
  line: string;
  server: ServerLabel;
}

export type Decision = "allow" | "deny" | "approve";
export const DECISIONS: readonly Decision[] = ["allow", "deny", "approve"];

export interface Filter {
  /** A session id or a prefix of one. */
  session?: string;
  server?: string;
  tool?: RegExp;
  /** approve selects calls a human was asked about (those with an `approval` field). */
  decision?: Decision;
  /** Epoch milliseconds: calls at or after this time. */
  since?: number;
}

/** Programs that run a server named by their first operand: the server is that operand. */
const LAUNCHERS = new Set(["node", "nodejs", "bun", "deno", "python", "python3", "uv", "uvx", "npx", "pnpx", "bunx", "sh", "bash", "docker", "podman", "java"]);

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === "string") ? value : undefined;
}

/** File names that say nothing about which server a script is: its directory does. */
const GENERIC_FILES = new Set(["index", "main", "cli", "server", "__main__", "app"]);
const BUILD_DIRS = new Set(["dist", "build", "lib", "bin", "src", "out", "esm", "cjs"]);

/** The name a script path stands for: its file name, or for index.js and the like, its package's directory. */
function scriptName(path: string): string {
  const segments = path.split(/[\\/]/).filter((segment) => segment !== "");
  const file = segments.at(-1) ?? path;
  if (!GENERIC_FILES.has(basename(file, extname(file)))) return file;
  const directory = segments.slice(0, -1).reverse().find((segment) => !BUILD_DIRS.has(segment));
  return directory ?? file;
}

/** A short name for a server: its serverInfo name, else the script or program it runs. */
export function serverName(server: ServerLabel): string {
  if (server.name !== undefined) return server.name;
  const command = server.command ?? [];
  const program = command[0] === undefined ? "" : basename(command[0]).replace(/\.exe$/i, "");
  if (LAUNCHERS.has(program)) {
    const operand = command.slice(1).find((arg) => !arg.startsWith("-") && arg !== "run" && arg !== "exec");
    if (operand !== undefined) return scriptName(operand);
  }
  return program === "" ? "?" : program;
}

/**
 * Whether `name` names this server: its serverInfo name (or that name's last "/" part), the
 * name it is shown by, or an argv element (as given, or its file name with or without extension).
 */
export function serverMatches(server: ServerLabel, name: string): boolean {
  if (server.name === name || server.name?.split("/").at(-1) === name || serverName(server) === name) return true;
  return (server.command ?? []).some((arg) => arg === name || basename(arg) === name || basename(arg, extname(arg)) === name);
}

/** Whether a call record passes every filter given. */
export function selected(record: LoggedCall, filter: Filter): boolean {
  const { event } = record;
  if (filter.session !== undefined && !(typeof event.session === "string" && event.session.startsWith(filter.session))) return false;
  if (filter.tool !== undefined && !(typeof event.tool === "string" && filter.tool.test(event.tool))) return false;
  if (filter.decision !== undefined) {
    if (filter.decision === "approve" ? event.approval === undefined : event.decision !== filter.decision) return false;
  }
  if (filter.since !== undefined) {
    const at = typeof event.ts === "string" ? Date.parse(event.ts) : Number.NaN;
    if (!(at >= filter.since)) return false;
  }
  return filter.server === undefined || serverMatches(record.server, filter.server);
}

export interface ReaderSink {
  call(record: LoggedCall): void;
  malformed(lineNumber: number, problem: string): void;
}

/** Splits bytes into lines and lines into call records; push() as bytes come, end() at the end. */
export class AuditReader {
  readonly #sink: ReaderSink;
  #decoder = new StringDecoder("utf8");
  #partial = "";
  #lineNumber = 0;
  /** What each session's start event and earlier calls said about its server. */
  readonly #sessions = new Map<string, ServerLabel>();
  /** The serverInfo name each command (argv joined by NUL) was last known by. */
  readonly #byCommand = new Map<string, string>();
  /** Labels still without a name, by command, named when one is learned. */
  readonly #nameless = new Map<string, ServerLabel[]>();

  constructor(sink: ReaderSink) {
    this.#sink = sink;
  }

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines = text.split("\n");
    this.#partial = lines.pop()!;
    for (const line of lines) this.#line(line);
  }

  /** The file ended: a last line without a newline is read too. */
  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = "";
    if (rest !== "") this.#line(rest);
  }

  /** A new file under the same name (rotation): line numbers start again; sessions are kept. */
  restart(): void {
    this.#decoder = new StringDecoder("utf8");
    this.#partial = "";
    this.#lineNumber = 0;
  }

  #line(raw: string): void {
    this.#lineNumber++;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch (error) {
      this.#sink.malformed(this.#lineNumber, `not JSON (${(error as Error).message})`);
      return;
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      this.#sink.malformed(this.#lineNumber, `expected a JSON object, got ${Array.isArray(event) ? "an array" : JSON.stringify(event)}`);
      return;
    }
    this.#event(event as Record<string, unknown>, line);
  }

  #event(event: Record<string, unknown>, line: string): void {
    const session = typeof event.session === "string" ? event.session : "";
    if (event.event === "start") {
      const command = stringArray(event.server);
      this.#sessions.set(session, command === undefined ? {} : { command });
      return;
    }
    if (event.event !== "call") return;
    const own = (event.server ?? {}) as { name?: unknown; command?: unknown };
    const name = typeof own.name === "string" ? own.name : undefined;
    const command = stringArray(own.command);
    let server = this.#sessions.get(session);
    if (server === undefined || (command !== undefined && server.command?.join("\0") !== command.join("\0")) || (name !== undefined && server.name !== undefined && server.name !== name)) {
      server = { ...(command === undefined ? {} : { command }) };
      this.#sessions.set(session, server);
    }
    // One label per session, shared by its records: a name learned later (the server answered
    // initialize after the first calls were denied) names the earlier records too, in a summary;
    // and so does a name another session of the same command learned.
    const key = server.command?.join("\0");
    if (name !== undefined) {
      server.name = name;
      if (key !== undefined) this.#byCommand.set(key, name);
      for (const nameless of key === undefined ? [] : (this.#nameless.get(key) ?? [])) nameless.name ??= name;
      if (key !== undefined) this.#nameless.delete(key);
    } else if (server.name === undefined && key !== undefined) {
      const known = this.#byCommand.get(key);
      if (known !== undefined) server.name = known;
      else if (!this.#nameless.get(key)?.includes(server)) this.#nameless.set(key, [...(this.#nameless.get(key) ?? []), server]);
    }
    this.#sink.call({ event, line, server });
  }
}
