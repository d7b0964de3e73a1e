// The requestState mcpgate mints for a multi-round-trip (MRTR) round (SPEC §10): for its own
// approval round, and wrapped around a server's state for a round the server started. A state
// is authenticated with HMAC-SHA256 under a key made for this process, binds the tool and a
// digest of the canonical arguments, expires, and works once: its nonce is kept while it is
// outstanding and dropped when used, so a state not outstanding is refused whatever its MAC.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX = "mcpgate1.";
/** Outstanding states kept at most; past this the oldest stop working (a refusal, never a pass). */
const MAX_OUTSTANDING = 65_536;

export interface StateClaims {
  /** approve: mcpgate's own approval round; continue: a round the server started. */
  kind: "approve" | "continue";
  tool: string;
  /** SHA-256 of the call's canonical arguments (hex). */
  digest: string;
  /** The rule that judged the call (continue) or asked for a human (approve). */
  rule: string;
  /** For continue: the server's own requestState as JSON text, if it sent one. */
  server?: string;
}

interface Sealed extends StateClaims {
  expires: number;
  nonce: string;
}

export type Opened = { ok: true; claims: StateClaims } | { ok: false; why: "forged" | "expired" | "used" };

/** The digest a state binds: of the canonical text of a call's arguments. */
export function argumentsDigest(canonical: string): string {
  return createHash("sha256").update(canonical).digest("hex");
}

export class RequestStates {
  readonly #key: Buffer;
  readonly #now: () => number;
  /** Nonces of states minted and not yet used, with when each expires. */
  readonly #outstanding = new Map<string, number>();
  #pruned = -Infinity;

  /** `now` is the clock expiry is measured on (monotonic ms is enough: a state lives one process). */
  constructor(now: () => number, key: Buffer = randomBytes(32)) {
    this.#now = now;
    this.#key = key;
  }

  mint(claims: StateClaims, lifetimeMs: number): string {
    this.#prune();
    const nonce = randomBytes(16).toString("base64url");
    const expires = this.#now() + lifetimeMs;
    this.#outstanding.set(nonce, expires);
    const body = Buffer.from(JSON.stringify({ ...claims, expires, nonce } satisfies Sealed)).toString("base64url");
    return `${PREFIX}${body}.${this.#mac(body)}`;
  }

  /** Verifies a state and, when it is good, uses it up. */
  open(state: unknown): Opened {
    if (typeof state !== "string" || !state.startsWith(PREFIX)) return { ok: false, why: "forged" };
    const [body, mac, extra] = state.slice(PREFIX.length).split(".");
    if (body === undefined || mac === undefined || extra !== undefined) return { ok: false, why: "forged" };
    const expected = Buffer.from(this.#mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: "forged" };
    let sealed: Sealed;
    try {
      sealed = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Sealed;
    } catch {
      return { ok: false, why: "forged" };
    }
    if (this.#now() >= sealed.expires) {
      this.#outstanding.delete(sealed.nonce);
      return { ok: false, why: "expired" };
    }
    if (!this.#outstanding.delete(sealed.nonce)) return { ok: false, why: "used" };
    const { kind, tool, digest, rule, server } = sealed;
    return { ok: true, claims: server === undefined ? { kind, tool, digest, rule } : { kind, tool, digest, rule, server } };
  }

  #mac(body: string): string {
    return createHmac("sha256", this.#key).update(body).digest("base64url");
  }

  /** Forgets expired states, and the oldest when too many are outstanding. */
  #prune(): void {
    const now = this.#now();
    // A sweep costs a pass over what is outstanding: only when there is much, at most once a second.
    if (this.#outstanding.size >= 1_024 && now - this.#pruned >= 1_000) {
      this.#pruned = now;
      for (const [nonce, expires] of this.#outstanding) if (expires <= now) this.#outstanding.delete(nonce);
    }
    while (this.#outstanding.size >= MAX_OUTSTANDING) this.#outstanding.delete(this.#outstanding.keys().next().value as string);
  }
}
