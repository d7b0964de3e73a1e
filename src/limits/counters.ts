// The live counters of one session, keyed as the compiled policy names them.
import type { CounterSpec } from "../policy/compile.ts";
import { SlidingLog } from "./window.ts";

/** Counters as judging a call sees them: readable only. charge() (policy/evaluate.ts) writes. */
export interface CounterReader {
  get(name: string): Pick<SlidingLog, "used" | "check">;
}

const WEIGHTED_CAPACITY = 10_000;

/** How many entries a counter's log keeps, here or in the store. */
export function logCapacity(spec: CounterSpec): number {
  // A budget (increment_from) logs amounts, which may be small: give it room beyond `max`.
  return spec.weighted ? Math.max(spec.capacity, WEIGHTED_CAPACITY) : spec.capacity;
}

function newLog(spec: CounterSpec): SlidingLog {
  return new SlidingLog(logCapacity(spec), spec.horizonMs);
}

/** Whether a log made for `a` serves `b` unchanged: same windows, capacity and weighting. */
function sameSpec(a: CounterSpec, b: CounterSpec): boolean {
  return (
    a.capacity === b.capacity &&
    a.horizonMs === b.horizonMs &&
    (a.weighted === true) === (b.weighted === true) &&
    a.windowsMs.length === b.windowsMs.length &&
    a.windowsMs.every((ms, index) => ms === b.windowsMs[index])
  );
}

export class Counters {
  /** Kept apart from the specs so that get(), on every call's path, is one map lookup. */
  readonly #logs = new Map<string, SlidingLog>();
  readonly #specs: Map<string, CounterSpec>;

  constructor(specs: Map<string, CounterSpec>, previous?: Counters) {
    this.#specs = specs;
    for (const [name, spec] of specs) {
      // A global counter lives in the store (SPEC §14): no log of it here.
      if (spec.global === true) continue;
      const before = previous === undefined ? undefined : previous.#specs.get(name);
      const kept = before !== undefined && sameSpec(before, spec) ? previous!.#logs.get(name) : undefined;
      this.#logs.set(name, kept ?? newLog(spec));
    }
  }

  /**
   * The counters of a reloaded policy (SPEC §11): a counter with the same key (its name, or its
   * entry and position when unnamed) and an equal spec (windows, capacity, weighting) keeps its
   * log, history and all — the very object; any other starts empty.
   */
  static carriedOver(previous: Counters, specs: Map<string, CounterSpec>): Counters {
    return new Counters(specs, previous);
  }

  /** Whether `name` gives a failed call's charge back (refund: on_error). */
  refundable(name: string): boolean {
    return this.#specs.get(name)?.refund === true;
  }

  get(name: string): SlidingLog {
    const log = this.#logs.get(name);
    if (log === undefined) throw new Error(`no counter named ${name}`);
    return log;
  }
}
