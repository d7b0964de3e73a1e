// Limits as the hot path reads them, and the counters they count on, built once at load. A
// counter is named by `counter:` (shared by every limit that names it), else its limit's own;
// a global one (scope: global) lives in the shared store under its name (SPEC §14).
import { parsePath } from "./conditions.ts";
import type { CompiledLimit, CounterSpec, SharedLimits } from "./compile.ts";
import { parseWindow } from "./duration.ts";
import type { LimitObject } from "./schema.ts";

/** How a named counter's key begins: `counter:NAME` in this gateway, `global:NAME` in the store. */
export const GLOBAL_PREFIX = "global:";

export class LimitCompiler {
  readonly counters = new Map<string, CounterSpec>();
  /** Every global limit, in file order. */
  readonly shared: CompiledLimit[] = [];
  /** What each counter counts: "" for calls, else the increment_from path. */
  readonly #measures = new Map<string, string>();

  /** The limits of all_tools or of an entry (`at`: "all_tools", "tools.run"). */
  compile(limits: LimitObject[] | undefined, at: string): CompiledLimit[] {
    return (limits ?? []).map((limit, index) => this.#limit(limit, `${at}.limits[${index}]`));
  }

  #limit(limit: LimitObject, rule: string): CompiledLimit {
    const global = limit.scope === "global";
    // load.ts refuses a global limit without a name; a document from elsewhere gets its rule's.
    const counter = global ? `${GLOBAL_PREFIX}${limit.counter ?? rule}` : limit.counter === undefined ? rule : `counter:${limit.counter}`;
    const measure = limit.increment_from ?? "";
    if ((this.#measures.get(counter) ?? measure) !== measure) {
      // load.ts reports this with a position; a document from elsewhere must not slip through.
      throw new Error(`${rule}: limits sharing the counter ${JSON.stringify(limit.counter)} count different things (${this.#measures.get(counter) || "calls"} and ${measure || "calls"})`);
    }
    this.#measures.set(counter, measure);
    const windowMs = parseWindow(limit.window)!;
    const spec = this.counters.get(counter);
    this.counters.set(counter, {
      capacity: Math.max(spec?.capacity ?? 0, limit.max),
      horizonMs: Math.max(spec?.horizonMs ?? 0, windowMs),
      windowsMs: [...new Set([...(spec?.windowsMs ?? []), windowMs])].sort((a, b) => a - b),
      // A budget logs amounts, not unit calls: give its log room beyond `max` entries.
      ...(spec?.weighted || limit.increment_from !== undefined ? { weighted: true } : {}),
      ...(global ? { global: true } : {}),
      ...(limit.refund === "on_error" ? { refund: true } : {}),
    });
    const compiled: CompiledLimit = { rule, counter, window: limit.window, windowMs, max: limit.max };
    if (global) {
      compiled.global = true;
      this.shared.push(compiled);
    }
    if (limit.message !== undefined) compiled.message = limit.message;
    if (limit.increment_from !== undefined) compiled.incrementFrom = { path: limit.increment_from, segments: parsePath(limit.increment_from)! };
    return compiled;
  }
}

/** The counters of `limits` kept in this gateway, once each. */
export function sessionCounters(limits: CompiledLimit[]): string[] {
  return [...new Set(limits.filter((limit) => limit.global !== true).map((limit) => limit.counter))];
}

/** The global limits among `limits` and their counters, or undefined when there are none. */
export function sharedLimits(limits: CompiledLimit[]): SharedLimits | undefined {
  const shared = limits.filter((limit) => limit.global === true);
  return shared.length === 0 ? undefined : { limits: shared, counters: [...new Set(shared.map((limit) => limit.counter))] };
}
