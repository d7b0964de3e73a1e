// What the client declared about itself: its name and version (for the audit log) and whether
// it can show a form-mode elicitation (an approval channel). Today it says so once, at
// initialize; in protocol 2026-07-28 each request will say it in its _meta. Also what the server
// said about itself in its initialize result (serverInfo), so audit records can name it.
import { canElicitForm } from "../approval/elicitation.ts";
import { decodeSpan, member } from "../wire/message.ts";
import type { Span } from "../wire/scan.ts";

export interface ClientInfo {
  name?: string;
  version?: string;
}

export interface ServerInfo {
  name?: string;
  version?: string;
}

/** Only strings are kept: a name or version of another type is left out. */
function nameAndVersion(info: { name?: unknown; version?: unknown } | undefined): ClientInfo {
  return {
    ...(typeof info?.name === "string" ? { name: info.name } : {}),
    ...(typeof info?.version === "string" ? { version: info.version } : {}),
  };
}

export class ClientSession {
  info: ClientInfo = {};
  /** The server's serverInfo, once it answered initialize. */
  server: ServerInfo = {};
  /** Whether the client declared it can show form-mode elicitation. */
  elicitForm = false;
  /** Whether the client has sent initialize: before that, mcpgate sends it no notification. */
  initialized = false;

  /** Reads an initialize request's params; a malformed one changes nothing (the server answers it). */
  initialize(buf: Buffer, members: Span[]): void {
    this.initialized = true;
    const span = member(members, "params");
    if (span === undefined) return;
    let params: { clientInfo?: { name?: unknown; version?: unknown }; capabilities?: unknown } | null;
    try {
      params = decodeSpan(buf, span) as typeof params;
    } catch {
      return;
    }
    this.elicitForm = canElicitForm(params?.capabilities);
    this.info = nameAndVersion(params?.clientInfo);
  }

  /** Reads the serverInfo of the server's answer to initialize; a malformed one changes nothing. */
  serverInitialized(buf: Buffer, members: Span[]): void {
    const span = member(members, "result");
    if (span === undefined) return;
    let result: { serverInfo?: { name?: unknown; version?: unknown } } | null;
    try {
      result = decodeSpan(buf, span) as typeof result;
    } catch {
      return;
    }
    this.server = nameAndVersion(result?.serverInfo);
  }
}
