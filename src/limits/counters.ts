// The live counters of one session, keyed as the compiled policy names them.
import type { CounterSpec } from "../policy/compile.ts";
import { SlidingLog } from "./window.ts";

export class Counters {
  readonly #logs = new Map<string, SlidingLog>();

  constructor(specs: Map<string, CounterSpec>) {
    for (const [name, spec] of specs) this.#logs.set(name, new SlidingLog(spec.capacity, spec.horizonMs));
  }

  get(name: string): SlidingLog {
    const log = this.#logs.get(name);
    if (log === undefined) throw new Error(`no counter named ${name}`);
    return log;
  }
}
