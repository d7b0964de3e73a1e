// The policy keys of shared counters (SPEC §14): `store`, `store_timeout`, `store_failure` and
// `namespace`, in zod, and what they compile to. Where the store's URL comes from when the
// policy names none (MCPGATE_STORE) is the caller's business: compiling stays pure.
import { enum as oneOf, number, string, union } from "zod";
import { parseWindow } from "./duration.ts";

/** A store that answers slower than this is not worth waiting for: the call is denied (or allowed) without it. */
const MAX_STORE_TIMEOUT_MS = 60_000;
export const DEFAULT_STORE_TIMEOUT_MS = 250;
export const DEFAULT_NAMESPACE = "default";
/** No ":" — keys are mcpgate:<namespace>:<counter>, so two namespaces can never share a key. */
const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value) : `${String(value)} (${typeof value})`;
}

/** Why `url` cannot name a store, or undefined. */
export function storeUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `expected a store URL such as redis://localhost:6379, got ${shown(url)}`;
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") return `expected a redis:// or rediss:// URL (Redis or Valkey), got ${shown(url)}`;
  return undefined;
}

export const storeKeys = {
  store: string()
    .superRefine((url, ctx) => {
      const problem = storeUrlProblem(url);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  store_timeout: union([number(), string()], { error: (issue) => `expected milliseconds or a duration such as 250ms, got ${shown(issue.input)}` })
    .superRefine((value, ctx) => {
      const ms = typeof value === "number" ? value : parseWindow(value);
      if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > MAX_STORE_TIMEOUT_MS) {
        ctx.addIssue({ code: "custom", message: `expected milliseconds or a duration such as 250ms, above 0 and at most 60s, got ${shown(value)}` });
      }
    })
    .optional(),
  store_failure: oneOf(["closed", "open"]).optional(),
  namespace: string()
    .regex(NAMESPACE, { error: (issue) => `expected 1 to 64 of A-Z a-z 0-9 _ . - (no ":"), got ${shown(issue.input)}` })
    .optional(),
};

/** The store settings of a policy, as the relay uses them. */
export interface StoreSettings {
  /** The policy's `store`; undefined leaves it to MCPGATE_STORE. */
  url?: string;
  timeoutMs: number;
  /** What a call under a global limit gets when the store cannot answer in time. */
  failure: "closed" | "open";
  namespace: string;
}

export function storeSettings(doc: { store?: string; store_timeout?: number | string; store_failure?: "closed" | "open"; namespace?: string }): StoreSettings {
  const timeout = doc.store_timeout;
  return {
    ...(doc.store === undefined ? {} : { url: doc.store }),
    timeoutMs: timeout === undefined ? DEFAULT_STORE_TIMEOUT_MS : typeof timeout === "number" ? timeout : parseWindow(timeout)!,
    failure: doc.store_failure ?? "closed",
    namespace: doc.namespace ?? DEFAULT_NAMESPACE,
  };
}
