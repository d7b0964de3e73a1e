// Where a window starts in a SlidingLog's ring of times (window.ts): the first entry newer than a
// cutoff: a pure function of the ring, on the path of every limit check, so it allocates nothing.

/** Entries probed from the oldest end before searching from the newest. */
const HEAD_PROBES = 4;

/**
 * Logical index of the first of the `count` entries of the ring `times` (oldest at slot `start`,
 * times non-decreasing) newer than `cutoff`. Searched from the newest end, in steps that double:
 * the entries a short window needs are the last few, still in cache, and a log of a busy hour is
 * never probed across its whole length.
 */
export function firstAfter(times: Float64Array, start: number, count: number, cutoff: number): number {
  // For a window as long as the horizon, add() left at most the few entries that aged out since
  // the last call ahead of the window: a short walk from the oldest end finds its start.
  for (let index = 0; index < HEAD_PROBES; index++) {
    if (index === count || timeAt(times, start, index) > cutoff) return index;
  }
  let high = count;
  let step = 1;
  while (high - step > 0 && timeAt(times, start, high - step) > cutoff) {
    high -= step;
    step *= 2;
  }
  let low = Math.max(0, high - step);
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (timeAt(times, start, mid) <= cutoff) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The time at logical index `index` of the ring whose oldest entry is at slot `start`. */
function timeAt(times: Float64Array, start: number, index: number): number {
  const slot = start + index;
  return times[slot < times.length ? slot : slot - times.length]!;
}
