// What a request says about its own protocol era (2026-07-28 puts it in every request's _meta)
// and the members of a tools/call that belong to a multi-round-trip retry. Pure: decoded
// params in, facts out; what they mean for the session is relay/session.ts's.

export const PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion";
export const CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities";
/** The first revision of the stateless era. */
export const MODERN_REVISION = "2026-07-28";

export interface RequestFrame {
  /** `_meta["io.modelcontextprotocol/protocolVersion"]`, when the request carries one. */
  protocolVersion?: unknown;
  /** Whether `_meta` has the client-capabilities member, and its value. */
  hasCapabilities: boolean;
  capabilities?: unknown;
  /** A retry's echo of an `input_required` result's state. */
  requestState?: unknown;
  /** A retry's answers to an `input_required` result's requests. */
  inputResponses?: unknown;
  /** A task-augmented call's `task` member. */
  task?: unknown;
}

const own = (object: object, key: string): unknown => (Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined);

/** The frame of decoded request params (an object). */
export function frameOf(params: object): RequestFrame {
  const meta = own(params, "_meta");
  const metaObject = meta !== null && typeof meta === "object" && !Array.isArray(meta) ? meta : undefined;
  const frame: RequestFrame = { hasCapabilities: metaObject !== undefined && Object.hasOwn(metaObject, CLIENT_CAPABILITIES_META) };
  if (metaObject !== undefined && Object.hasOwn(metaObject, PROTOCOL_VERSION_META)) frame.protocolVersion = own(metaObject, PROTOCOL_VERSION_META);
  if (frame.hasCapabilities) frame.capabilities = own(metaObject!, CLIENT_CAPABILITIES_META);
  for (const key of ["requestState", "inputResponses", "task"] as const) if (Object.hasOwn(params, key)) frame[key] = own(params, key);
  return frame;
}

/** Whether a protocol version names a revision of the stateless era (2026-07-28 or later). */
export function isModernRevision(version: unknown): boolean {
  return typeof version === "string" && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= MODERN_REVISION;
}
