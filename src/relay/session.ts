// What the client declared about itself: its name and version (for the audit log) and whether
// it can show a form-mode elicitation (an approval channel). A 2025-era client says so once, at
// initialize; a 2026-07-28 client says it in each request's _meta, and that request is judged by
// what it says (SPEC §10). Also what the server said about itself in its initialize result
// (serverInfo), so audit records can name it.
import { canElicitForm } from "../approval/elicitation.ts";
import { decodeSpan, member } from "../wire/message.ts";
import { CLIENT_CAPABILITIES_META, isModernRevision, type RequestFrame } from "../wire/request-frame.ts";
import type { Span } from "../wire/scan.ts";
import { SERVER_INFO_META } from "../pins/identity.ts";

/** What one request's era lets mcpgate do: how to answer it, and whether a form can be shown. */
export interface RequestEra {
  /** Protocol 2026-07-28 or later: results carry resultType; input is asked by an MRTR round. */
  modern: boolean;
  elicitForm: boolean;
}

/** A modern request whose _meta lacks what the revision requires: answered with this, as the SDKs do. */
export interface EnvelopeProblem {
  problem: string;
  key: string;
}

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

  /** The era of one request: its own _meta when it names a 2026-07-28-era revision, else the connection's. */
  eraOf(frame: RequestFrame): RequestEra | EnvelopeProblem {
    if (!isModernRevision(frame.protocolVersion)) return { modern: false, elicitForm: this.elicitForm };
    const { capabilities } = frame;
    if (!frame.hasCapabilities) return { key: CLIENT_CAPABILITIES_META, problem: "missing" };
    if (capabilities === null || typeof capabilities !== "object" || Array.isArray(capabilities)) return { key: CLIENT_CAPABILITIES_META, problem: "not an object" };
    return { modern: true, elicitForm: canElicitForm(capabilities) };
  }

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

  /**
   * Reads the serverInfo of the server's answer to initialize, or (2026-07-28) the one in the
   * _meta of its answer to server/discover; a malformed one changes nothing.
   */
  serverInitialized(buf: Buffer, members: Span[]): void {
    const span = member(members, "result");
    if (span === undefined) return;
    let result: { serverInfo?: { name?: unknown; version?: unknown }; _meta?: Record<string, unknown> } | null;
    try {
      result = decodeSpan(buf, span) as typeof result;
    } catch {
      return;
    }
    const meta = result?._meta;
    const modern = meta !== null && typeof meta === "object" ? (meta[SERVER_INFO_META] as { name?: unknown; version?: unknown } | undefined) : undefined;
    this.server = nameAndVersion(result?.serverInfo ?? modern);
  }
}
