// The live counters of one session, keyed as the compiled policy names them.
import type { CounterSpec } from "../policy/compile.ts";
import { SlidingLog } from "./window.ts";

/** Counters as judging a call sees them: readable only. charge() (policy/evaluate.ts) writes. */
export interface CounterReader {
  get(name: string): Pick<SlidingLog, "used" | "check">;
}

const WEIGHTED_CAPACITY = 10_000;

export class Counters {
  readonly #logs = new Map<string, SlidingLog>();

  constructor(specs: Map<string, CounterSpec>) {
    // A budget (increment_from) logs amounts, which may be small: give it room beyond `max`.
    for (const [name, spec] of specs) this.#logs.set(name, new SlidingLog(spec.weighted ? Math.max(spec.capacity, WEIGHTED_CAPACITY) : spec.capacity, spec.horizonMs));
  }

  get(name: string): SlidingLog {
    const log = this.#logs.get(name);
    if (log === undefined) throw new Error(`no counter named ${name}`);
    return log;
  }
}
