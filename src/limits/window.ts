// An exact sliding-window log for one counter: the times (and amounts) of the calls it counted,
// oldest first. "At most max in any span of window ending now" is answered from the log itself,
// with no bucketing error. Memory is bounded: entries older than the longest window using the
// counter are pruned, and at most `capacity` entries are kept (see add()).

export interface WindowCheck {
  /** Amount already used in the window ending now. */
  used: number;
  /** Milliseconds until `amount` more would fit; undefined if it fits now or never can. */
  retryAfterMs?: number;
}

export class SlidingLog {
  readonly #capacity: number;
  readonly #horizonMs: number;
  #times: number[] = [];
  #amounts: number[] = [];
  #head = 0;
  #weighted = false;

  /**
   * @param capacity the largest `max` of any limit on this counter: once that many unit calls
   *   are logged, older ones can no longer change any decision, so they are dropped.
   * @param horizonMs the longest window of any limit on this counter.
   */
  constructor(capacity: number, horizonMs: number) {
    this.#capacity = Math.max(1, Math.ceil(capacity));
    this.#horizonMs = horizonMs;
  }

  get size(): number {
    return this.#times.length - this.#head;
  }

  /** Would `amount` more stay within `max` for the window of `windowMs` ending at `now`? */
  check(now: number, windowMs: number, max: number, amount = 1): WindowCheck & { ok: boolean } {
    this.#prune(now);
    const cutoff = now - windowMs;
    const first = this.#firstAfter(cutoff);
    let used = 0;
    if (this.#weighted) {
      for (let i = first; i < this.#times.length; i++) used += this.#amounts[i]!;
    } else {
      used = this.#times.length - first;
    }
    if (used + amount <= max) return { ok: true, used };
    if (amount > max) return { ok: false, used };
    // Walk the oldest entries in the window until enough would have expired.
    let excess = used + amount - max;
    for (let i = first; i < this.#times.length; i++) {
      excess -= this.#weighted ? this.#amounts[i]! : 1;
      if (excess <= 0) return { ok: false, used, retryAfterMs: Math.max(1, this.#times[i]! + windowMs - now) };
    }
    return { ok: false, used };
  }

  add(now: number, amount = 1): void {
    if (amount <= 0) return;
    if (amount !== 1) this.#weighted = true;
    this.#times.push(now);
    this.#amounts.push(amount);
    if (this.size > this.#capacity) {
      if (this.#weighted) {
        // Fold the oldest entry into the next: it then expires later, which can only deny more.
        this.#amounts[this.#head + 1]! += this.#amounts[this.#head]!;
      }
      this.#head++;
    }
    this.#compact();
  }

  #prune(now: number): void {
    const cutoff = now - this.#horizonMs;
    while (this.#head < this.#times.length && this.#times[this.#head]! <= cutoff) this.#head++;
    this.#compact();
  }

  /** Index of the first entry newer than `cutoff` (times are non-decreasing). */
  #firstAfter(cutoff: number): number {
    let low = this.#head;
    let high = this.#times.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#times[mid]! <= cutoff) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#amounts = this.#amounts.slice(this.#head);
      this.#head = 0;
    }
  }
}
