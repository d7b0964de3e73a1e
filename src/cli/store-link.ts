// The shared store a policy's global limits are counted in (SPEC §14): `store:` in the policy,
// else MCPGATE_STORE. Made when a policy with global limits is put in force (at start or by a
// reload), kept while the store, timeout and namespace stay the same, closed when no longer
// used. The store code and ioredis are loaded only then: in the package they are a bundle of
// their own (dist/store.cjs), which a gateway without global limits never reads.
import { join } from "node:path";
import type { CompiledPolicy } from "../policy/compile.ts";
import { storeUrlProblem } from "../policy/store-schema.ts";
import type { Logger } from "../relay/log.ts";
import type { SharedStore } from "../relay/shared-counts.ts";
import type { CounterStore } from "../store/store.ts";

declare const MCPGATE_VERSION: string;
type StoreModule = typeof import("../store/store.ts");

let loaded: StoreModule | undefined;

/** The store module: beside the bundle when running from it, else from the sources. */
async function storeModule(): Promise<StoreModule> {
  if (loaded !== undefined) return loaded;
  if (typeof MCPGATE_VERSION === "string") {
    loaded = require(join(__dirname, "store.cjs")) as StoreModule;
  } else {
    // A name esbuild cannot follow: the bundle never holds the store (scripts/build.mjs builds it apart).
    const source = "../store/store.ts";
    loaded = (await import(source)) as StoreModule;
  }
  return loaded;
}

/** Where a policy's global counters are kept: the URL it names, else MCPGATE_STORE. */
export function storeUrl(policy: CompiledPolicy, env: NodeJS.ProcessEnv): { url: string; from: string } | undefined {
  if (policy.store.url !== undefined) return { url: policy.store.url, from: "the policy's store" };
  const fromEnv = env.MCPGATE_STORE;
  return fromEnv === undefined || fromEnv === "" ? undefined : { url: fromEnv, from: "MCPGATE_STORE" };
}

export class StoreLink {
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: Logger;
  #store: CounterStore | undefined;
  #key = "";

  constructor(env: NodeJS.ProcessEnv, log: Logger) {
    this.#env = env;
    this.#log = log;
  }

  /**
   * The store `policy` needs (none without global limits), or why it cannot have one. The one in
   * use is kept if it serves; one no longer used is closed once calls waiting on it are answered.
   */
  async for(policy: CompiledPolicy): Promise<{ store?: SharedStore } | { problem: string }> {
    if (!policy.global) {
      this.#replace(undefined, "");
      return {};
    }
    const named = storeUrl(policy, this.#env);
    if (named === undefined) return { problem: "the policy has scope: global limits but names no store: set store: redis://HOST:PORT in the policy, or MCPGATE_STORE in the gateway's environment" };
    const problem = storeUrlProblem(named.url);
    if (problem !== undefined) return { problem: `${named.from}: ${problem}` };
    const { timeoutMs, namespace } = policy.store;
    const key = JSON.stringify([named.url, timeoutMs, namespace]);
    if (this.#store !== undefined && key === this.#key) return { store: this.#store };
    const { CounterStore } = await storeModule();
    const log = this.#log;
    const store = new CounterStore({
      url: named.url,
      namespace,
      timeoutMs,
      onEvent: (event) => {
        if (event.kind === "ready") log.info(`shared store ${store.name}: connected`);
        else if (event.kind === "error") log.warn(`shared store: ${event.message}`);
      },
    });
    log.info(`global counters in ${store.name}, namespace ${namespace} (${named.from})`);
    this.#replace(store, key);
    return { store };
  }

  /** Closes the store in use, if any. */
  close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    return store === undefined ? Promise.resolve() : store.close();
  }

  #replace(store: CounterStore | undefined, key: string): void {
    const before = this.#store;
    this.#store = store;
    this.#key = key;
    // Calls waiting on it get their answers (or their timeouts) first: close() lets them finish.
    if (before !== undefined) setTimeout(() => void before.close(), before.timeoutMs * 2).unref();
  }
}
