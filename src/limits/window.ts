// An exact sliding-window log for one counter: the times (and amounts) of the calls it counted,
// oldest first. "At most max in any span of window ending now" is answered from the log itself,
// with no bucketing error. check() only reads: entries older than the window are simply not
// counted. Memory is bounded by add(), the one writer: it prunes entries older than the longest
// window using the counter, and keeps at most `capacity` entries (zero entries aside, below).
//
// The log is a ring of Float64Arrays, grown by doubling: adding and pruning move no entries, and
// the numbers live outside the JavaScript heap, so a busy counter with a large `max` costs the
// garbage collector nothing.
//
// add() returns a handle, and refund() gives back what that add logged (`refund: on_error`). A
// refund only lowers an amount in place: an entry brought to 0 stays, as a zero entry, until it
// ages out, reaches the oldest end, or is compacted away with the others when the ring is out
// of slots. Zero entries do not count against `capacity`, so refunds never make folding (below)
// start sooner; the ring holds at most `capacity` other entries, so it stays within twice that
// (or its first 64 slots).

import { firstAfter } from "./ring-search.ts";

export interface WindowCheck {
  /** Amount already used in the window ending now. */
  used: number;
  /** Milliseconds until `amount` more would fit; undefined if it fits now or never can. */
  retryAfterMs?: number;
}

const INITIAL_SLOTS = 64;

export class SlidingLog {
  readonly #capacity: number;
  readonly #horizonMs: number;
  #times = new Float64Array(INITIAL_SLOTS);
  /** Amounts, once any call counted other than 1 (budgets); until then every amount is 1. */
  #amounts: Float64Array | undefined;
  /**
   * Handles, once entries stop being the last adds one after another (an add of nothing while
   * entries are logged, or zero entries compacted away); until then entry i has handle
   * #added - #count + 1 + i and the ring needs no third array.
   */
  #handles: Float64Array | undefined;
  /** Ring index of the oldest entry, how many entries there are, and how many of them are 0. */
  #start = 0;
  #count = 0;
  #zeros = 0;
  /** Adds ever made: the last handle given out. */
  #added = 0;
  /**
   * The oldest entry also holds what the adds from this handle up to its own had left when
   * folded into it; any handle below is gone (pruned, or its amount all given back).
   */
  #carriedFrom = 1;

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
    const first = firstAfter(this.#times, this.#start, this.#count, now - windowMs);
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
    for (let i = firstAfter(this.#times, this.#start, this.#count, now - windowMs); i < this.#count; i++) {
      excess -= this.#amountAt(i);
      if (excess <= 0) return { ok: false, used, retryAfterMs: Math.max(1, this.#timeAt(i) + windowMs - now) };
    }
    return { ok: false, used };
  }

  /**
   * Logs `amount` at `now` (times never decrease), first dropping entries no window can see.
   * Returns the add's handle for refund(): the count of adds ever made, this one included.
   */
  add(now: number, amount = 1): number {
    this.#prune(now);
    const handle = this.#added + 1;
    if (!(amount > 0)) {
      // Logs nothing, yet takes a handle: the entries are no longer consecutive adds.
      if (this.#count > 0) this.#keepHandles();
      return (this.#added = handle);
    }
    if (amount !== 1) this.#amounts ??= new Float64Array(this.#times.length).fill(1);
    let carriedFrom = handle;
    if (this.#count - this.#zeros === this.#capacity) {
      // Full: drop the oldest entry, folding its amount into the next entry, which then expires
      // later than it would have — that can only deny more, never allow more. (With capacity at
      // the largest max a log of unit calls never gets here with a call to add; one made smaller
      // folds too, rather than forget calls a window still holds.) Zero entries on either side
      // are just dropped, with nothing in them to fold: folded into, one would count again and
      // the fold would free no room.
      while (this.#amountAt(0) === 0) this.#shift();
      carriedFrom = this.#carriedFrom;
      const oldest = this.#shift();
      while (this.#count > 0 && this.#amountAt(0) === 0) this.#shift();
      this.#amounts ??= new Float64Array(this.#times.length).fill(1);
      if (this.#count > 0) {
        this.#amounts[this.#slot(0)]! += oldest;
        this.#carriedFrom = carriedFrom;
      } else {
        amount += oldest;
      }
    } else if (this.#count === this.#times.length) {
      // Out of slots. Once zeros are half the ring, compacting frees as many slots as doubling
      // would, and the next compaction is as many adds away: constant time per add. Else double,
      // up to capacity, and past it only while zeros take room (never beyond twice capacity).
      const most = this.#times.length < this.#capacity ? this.#capacity : 2 * this.#capacity;
      if (this.#zeros * 2 >= this.#count) this.#copy(this.#times.length, true);
      else this.#copy(Math.min(most, this.#times.length * 2), false);
    }
    if (this.#count === 0) this.#carriedFrom = carriedFrom;
    const slot = this.#slot(this.#count);
    this.#times[slot] = now;
    if (this.#amounts !== undefined) this.#amounts[slot] = amount;
    if (this.#handles !== undefined) this.#handles[slot] = handle;
    this.#count++;
    return (this.#added = handle);
  }

  /**
   * Gives back `amount` of what the add with this handle logged, as if it had logged that much
   * less (never below 0). An entry that aged out needs nothing. A folded add's amount is merged
   * into the oldest entry with others', so that is where it is taken from; there the log cannot
   * tell one add's share, so callers give back at most what an add logged, and once.
   */
  refund(handle: number, amount: number): void {
    if (!(amount > 0) || this.#count === 0 || handle < this.#carriedFrom) return;
    // At or below the oldest entry's handle: that entry, or an add folded into it.
    const index = handle <= this.#handleAt(0) ? 0 : this.#indexOf(handle);
    if (index < 0) return;
    this.#amounts ??= new Float64Array(this.#times.length).fill(1);
    const slot = this.#slot(index);
    const left = this.#amounts[slot]!;
    if (left === 0) return;
    this.#amounts[slot] = Math.max(0, left - amount);
    if (this.#amounts[slot] === 0) this.#zeros++;
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

  #handleAt(index: number): number {
    return this.#handles === undefined ? this.#added - this.#count + 1 + index : this.#handles[this.#slot(index)]!;
  }

  /** Logical index of the entry with this handle, above the oldest's, or -1: handles increase. */
  #indexOf(handle: number): number {
    let low = 1;
    let high = this.#count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#handleAt(mid) < handle) low = mid + 1;
      else high = mid;
    }
    return low < this.#count && this.#handleAt(low) === handle ? low : -1;
  }

  /** Writes each entry's handle down, before something makes them other than consecutive. */
  #keepHandles(): void {
    if (this.#handles !== undefined) return;
    const handles = new Float64Array(this.#times.length);
    for (let i = 0; i < this.#count; i++) handles[this.#slot(i)] = this.#handleAt(i);
    this.#handles = handles;
  }

  /** Copies the ring into `slots` slots, oldest entry first, leaving out zero entries if asked. */
  #copy(slots: number, dropZeros: boolean): void {
    if (dropZeros) this.#keepHandles();
    // A zero oldest entry carried nothing left: the one after it carries only itself.
    const zeroHead = dropZeros && this.#amountAt(0) === 0;
    const times = new Float64Array(slots);
    const amounts = this.#amounts === undefined ? undefined : new Float64Array(slots);
    const handles = this.#handles === undefined ? undefined : new Float64Array(slots);
    let kept = 0;
    for (let i = 0; i < this.#count; i++) {
      if (dropZeros && this.#amountAt(i) === 0) continue;
      times[kept] = this.#timeAt(i);
      if (amounts !== undefined) amounts[kept] = this.#amountAt(i);
      if (handles !== undefined) handles[kept] = this.#handleAt(i);
      kept++;
    }
    this.#times = times;
    this.#amounts = amounts;
    this.#handles = handles;
    this.#start = 0;
    this.#count = kept;
    if (dropZeros) this.#zeros = 0;
    if (zeroHead && kept > 0) this.#carriedFrom = this.#handleAt(0);
  }

  /** Drops the oldest entry and returns its amount; what it carried goes with it. */
  #shift(): number {
    const amount = this.#amountAt(0);
    if (amount === 0) this.#zeros--;
    this.#start = this.#slot(1);
    this.#count--;
    if (this.#count > 0) this.#carriedFrom = this.#handleAt(0);
    return amount;
  }

  #prune(now: number): void {
    const cutoff = now - this.#horizonMs;
    while (this.#count > 0 && this.#timeAt(0) <= cutoff) this.#shift();
  }
}
