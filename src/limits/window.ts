// An exact sliding-window log for one counter: the times (and amounts) of the calls it counted,
// oldest first. "At most max in any span of window ending now" is answered from the log itself,
// with no bucketing error. check() only reads: entries older than the window are simply not
// counted. Memory is bounded by add(), the one writer: it prunes entries older than the longest
// window using the counter, and keeps at most `capacity` entries.
//
// The log is a ring of Float64Arrays, grown by doubling up to `capacity`: adding and pruning
// move no entries, and the numbers live outside the JavaScript heap, so a busy counter with a
// large `max` costs the garbage collector nothing.

export interface WindowCheck {
  /** Amount already used in the window ending now. */
  used: number;
  /** Milliseconds until `amount` more would fit; undefined if it fits now or never can. */
  retryAfterMs?: number;
}

const INITIAL_SLOTS = 64;
/** Entries probed from the oldest end before searching from the newest (see #firstAfter). */
const HEAD_PROBES = 4;

export class SlidingLog {
  readonly #capacity: number;
  readonly #horizonMs: number;
  #times = new Float64Array(INITIAL_SLOTS);
  /** Amounts, once any call counted other than 1 (budgets); until then every amount is 1. */
  #amounts: Float64Array | undefined;
  /** Ring index of the oldest entry, and how many entries there are. */
  #start = 0;
  #count = 0;

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
    return this.#count;
  }

  /** The amount used in the window of `windowMs` ending at `now`. Reads only. */
  used(now: number, windowMs: number): number {
    const first = this.#firstAfter(now - windowMs);
    if (this.#amounts === undefined) return this.#count - first;
    // Summed afresh each time: a running total would drift with fractional amounts.
    let used = 0;
    for (let i = first; i < this.#count; i++) used += this.#amounts[this.#slot(i)]!;
    return used;
  }

  /**
   * Would `amount` more stay within `max` for the window of `windowMs` ending at `now`? Reads
   * only: asking never changes this or any later answer.
   */
  check(now: number, windowMs: number, max: number, amount = 1): WindowCheck & { ok: boolean } {
    const used = this.used(now, windowMs);
    if (used + amount <= max) return { ok: true, used };
    if (amount > max) return { ok: false, used };
    // Walk the oldest entries in the window until enough would have expired.
    let excess = used + amount - max;
    for (let i = this.#firstAfter(now - windowMs); i < this.#count; i++) {
      excess -= this.#amountAt(i);
      if (excess <= 0) return { ok: false, used, retryAfterMs: Math.max(1, this.#timeAt(i) + windowMs - now) };
    }
    return { ok: false, used };
  }

  /** Logs `amount` at `now` (times never decrease), first dropping entries no window can see. */
  add(now: number, amount = 1): void {
    this.#prune(now);
    if (amount <= 0) return;
    if (amount !== 1 && this.#amounts === undefined) this.#amounts = new Float64Array(this.#times.length).fill(1);
    if (this.#count === this.#capacity) {
      // Full: drop the oldest entry, folding its amount into the next entry, which then expires
      // later than it would have — that can only deny more, never allow more. (With capacity at
      // the largest max a log of unit calls never gets here with a call to add; one made smaller
      // folds too, rather than forget calls a window still holds.)
      const oldest = this.#amountAt(0);
      this.#start = (this.#start + 1) % this.#times.length;
      this.#count--;
      this.#amounts ??= new Float64Array(this.#times.length).fill(1);
      if (this.#count > 0) this.#amounts[this.#slot(0)]! += oldest;
      else amount += oldest;
    } else if (this.#count === this.#times.length) {
      this.#grow();
    }
    const slot = this.#slot(this.#count);
    this.#times[slot] = now;
    if (this.#amounts !== undefined) this.#amounts[slot] = amount;
    this.#count++;
  }

  #slot(index: number): number {
    const slot = this.#start + index;
    return slot < this.#times.length ? slot : slot - this.#times.length;
  }

  #timeAt(index: number): number {
    return this.#times[this.#slot(index)]!;
  }

  #amountAt(index: number): number {
    return this.#amounts === undefined ? 1 : this.#amounts[this.#slot(index)]!;
  }

  /** Doubles the ring (up to capacity), oldest entry first. */
  #grow(): void {
    const slots = Math.min(this.#capacity, this.#times.length * 2);
    const times = new Float64Array(slots);
    const amounts = this.#amounts === undefined ? undefined : new Float64Array(slots);
    for (let i = 0; i < this.#count; i++) {
      times[i] = this.#timeAt(i);
      if (amounts !== undefined) amounts[i] = this.#amountAt(i);
    }
    this.#times = times;
    this.#amounts = amounts;
    this.#start = 0;
  }

  #prune(now: number): void {
    const cutoff = now - this.#horizonMs;
    while (this.#count > 0 && this.#timeAt(0) <= cutoff) {
      this.#start = this.#slot(1);
      this.#count--;
    }
  }

  /**
   * Logical index of the first entry newer than `cutoff` (times are non-decreasing). Searched
   * from the newest end, in steps that double: the entries a short window needs are the last
   * few, still in cache, and a log of a busy hour is never probed across its whole length.
   */
  #firstAfter(cutoff: number): number {
    // For a window as long as the horizon, add() left at most the few entries that aged out
    // since the last call ahead of the window: a short walk from the oldest end finds its start.
    for (let index = 0; index < HEAD_PROBES; index++) {
      if (index === this.#count || this.#timeAt(index) > cutoff) return index;
    }
    let high = this.#count;
    let step = 1;
    while (high - step > 0 && this.#timeAt(high - step) > cutoff) {
      high -= step;
      step *= 2;
    }
    let low = Math.max(0, high - step);
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#timeAt(mid) <= cutoff) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
