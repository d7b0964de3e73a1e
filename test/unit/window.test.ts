// Sliding windows with an injected clock: no sleeping.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SlidingLog } from "../../src/limits/window.ts";

/** The specification: every entry ever added, each check a scan of them all. */
function naiveCheck(entries: Array<[number, number]>, now: number, window: number, max: number, amount: number): object {
  const inWindow = entries.filter(([t]) => t > now - window);
  const used = inWindow.reduce((sum, [, a]) => sum + a, 0);
  if (used + amount <= max) return { ok: true, used };
  if (amount > max) return { ok: false, used };
  let excess = used + amount - max;
  for (const [t, a] of inWindow) {
    excess -= a;
    if (excess <= 0) return { ok: false, used, retryAfterMs: Math.max(1, t + window - now) };
  }
  return { ok: false, used };
}

describe("SlidingLog", () => {
  it("allows max calls in any window ending now, exactly", () => {
    const log = new SlidingLog(3, 1000);
    for (const t of [0, 100, 200]) {
      assert.equal(log.check(t, 1000, 3).ok, true);
      log.add(t);
    }
    const denied = log.check(999, 1000, 3);
    assert.equal(denied.ok, false);
    assert.equal(denied.retryAfterMs, 1);
    // At t=1000 the call at t=0 is exactly one window old: it no longer counts.
    assert.equal(log.check(1000, 1000, 3).ok, true);
  });

  it("says when to retry: when enough of the oldest calls have left the window", () => {
    const log = new SlidingLog(10, 60_000);
    for (let i = 0; i < 10; i++) log.add(1_000 + i * 1_000);
    const check = log.check(30_000, 60_000, 10);
    assert.deepEqual(check, { ok: false, used: 10, retryAfterMs: 31_000 });
  });

  it("serves several windows on one counter (a shared, named counter)", () => {
    const log = new SlidingLog(5, 60_000);
    log.add(0);
    log.add(500);
    assert.equal(log.check(900, 1_000, 2).ok, false);
    assert.equal(log.check(900, 60_000, 5).ok, true);
    assert.equal(log.check(1_500, 1_000, 2).ok, true);
  });

  it("keeps memory bounded by the largest max, without changing any decision", () => {
    const log = new SlidingLog(3, 86_400_000);
    for (let t = 0; t < 100_000; t++) log.add(t);
    assert.equal(log.size, 3);
    assert.equal(log.check(100_000, 86_400_000, 3).ok, false);
  });

  it("prunes entries older than the longest window when the next entry is added, never when checked", () => {
    const log = new SlidingLog(100, 1_000);
    for (let t = 0; t < 50; t++) log.add(t);
    assert.deepEqual(log.check(5_000, 1_000, 100), { ok: true, used: 0 });
    assert.equal(log.size, 50, "check() reads only");
    log.add(5_000);
    assert.equal(log.size, 1);
  });

  it("never allows more than max in any window, whatever the arrival times (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 500 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 200 }), (max, window, gaps) => {
        const log = new SlidingLog(max, window);
        const allowed: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          const check = log.check(now, window, max);
          const inWindow = allowed.filter((t) => t > now - window).length;
          assert.equal(check.ok, inWindow < max, `at ${now}: ${inWindow} in window`);
          if (check.ok) {
            log.add(now);
            allowed.push(now);
          } else {
            // The hint is exact: the call fits then, and one millisecond earlier it would not.
            const at = now + check.retryAfterMs!;
            assert.ok(allowed.filter((t) => t > at - window).length < max);
            assert.ok(allowed.filter((t) => t > at - 1 - window).length >= max);
          }
        }
      }),
    );
  });

  it("counts exactly in every window shorter than the horizon, however the entries fall (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 300 }),
        (horizon, windows, gaps) => {
          const log = new SlidingLog(100_000, horizon);
          const times: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            for (const window of windows.map((w) => Math.min(w, horizon))) {
              const expected = times.filter((t) => t > now - window).length;
              assert.equal(log.check(now, window, 1_000_000).used, expected, `at ${now}, window ${window} of ${horizon}`);
            }
            log.add(now);
            times.push(now);
          }
        },
      ),
    );
  });

  it("folds even a log of unit calls made smaller than its max, so it never forgets calls a window holds (seed 382056328)", () => {
    const log = new SlidingLog(1, 1);
    log.add(0);
    assert.equal(log.check(0, 1, 2).ok, true);
    log.add(0);
    assert.deepEqual(log.check(0, 1, 2), { ok: false, used: 2, retryAfterMs: 1 });
  });

  it("budgets: never more than max in any window, folding included, and exact while under capacity (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })), { maxLength: 200 }),
        (max, window, capacity, calls) => {
          const exact = new SlidingLog(10_000, window);
          const bounded = new SlidingLog(capacity, window);
          const allowed: Array<[number, number]> = [];
          const allowedBounded: Array<[number, number]> = [];
          let now = 0;
          for (const [gap, amount] of calls) {
            now += gap;
            const used = allowed.filter(([t]) => t > now - window).reduce((sum, [, a]) => sum + a, 0);
            const check = exact.check(now, window, max, amount);
            assert.equal(check.ok, used + amount <= max, `at ${now}: ${used} used, ${amount} more`);
            if (check.ok) {
              exact.add(now, amount);
              allowed.push([now, amount]);
            }
            // With few slots, old entries fold into newer ones: possibly stricter, never looser.
            if (bounded.check(now, window, max, amount).ok) {
              bounded.add(now, amount);
              allowedBounded.push([now, amount]);
              const inWindow = allowedBounded.filter(([t]) => t > now - window).reduce((sum, [, a]) => sum + a, 0);
              assert.ok(inWindow <= max, `bounded log let ${inWindow} through in a window of max ${max}`);
            }
          }
        },
      ),
    );
  });

  it("answers every check as a naive log of all entries does, checks interleaved or not (property)", () => {
    type Step = { gap: number; kind: "add"; amount: number } | { gap: number; kind: "check"; window: number; max: number; amount: number };
    const step = (budget: boolean): fc.Arbitrary<Step> =>
      fc.oneof(
        fc.record({ gap: fc.integer({ min: 0, max: 300 }), kind: fc.constant("add" as const), amount: budget ? fc.integer({ min: 0, max: 6 }) : fc.constant(1) }),
        fc.record({ gap: fc.integer({ min: 0, max: 300 }), kind: fc.constant("check" as const), window: fc.integer({ min: 1, max: 1_000 }), max: fc.integer({ min: 0, max: 40 }), amount: fc.integer({ min: 0, max: 8 }) }),
      );
    fc.assert(
      fc.property(fc.boolean().chain((budget) => fc.tuple(fc.integer({ min: 1, max: 1_000 }), fc.array(step(budget), { maxLength: 150 }))), ([horizon, steps]) => {
        const log = new SlidingLog(100_000, horizon);
        // The same adds without any check in between: checking must change nothing later.
        const unchecked = new SlidingLog(100_000, horizon);
        const entries: Array<[number, number]> = [];
        let now = 0;
        for (const s of steps) {
          now += s.gap;
          if (s.kind === "add") {
            log.add(now, s.amount);
            unchecked.add(now, s.amount);
            if (s.amount > 0) entries.push([now, s.amount]);
            continue;
          }
          const window = Math.min(s.window, horizon);
          const expected = naiveCheck(entries, now, window, s.max, s.amount);
          assert.deepEqual(log.check(now, window, s.max, s.amount), expected, `at ${now}, window ${window} of ${horizon}`);
          assert.deepEqual(log.check(now, window, s.max, s.amount), expected, "asked twice, the same answer");
        }
        for (const window of [1, horizon >> 1 || 1, horizon]) {
          for (const at of [now, now + (window >> 1), now + window]) {
            assert.deepEqual(unchecked.check(at, window, 10, 1), log.check(at, window, 10, 1), `after all steps, at ${at}, window ${window}`);
          }
        }
      }),
    );
  });

  it("grows and wraps around without losing order", () => {
    const log = new SlidingLog(1_000, 100);
    for (let t = 0; t < 10_000; t++) {
      assert.equal(log.check(t, 100, 1_000).ok, true);
      log.add(t);
      assert.equal(log.size, Math.min(t + 1, 100));
    }
    assert.equal(log.check(10_000, 100, 99).ok, false);
    assert.equal(log.check(10_000, 100, 99).retryAfterMs, 1);
  });
});

describe("SlidingLog refunds", () => {
  it("numbers adds from 1, an add of nothing included, and that handle gives back nothing", () => {
    const log = new SlidingLog(10, 1_000);
    assert.equal(log.add(0, 2), 1);
    assert.equal(log.add(10, 0), 2);
    assert.equal(log.add(20, 3), 3);
    log.refund(2, 5);
    assert.equal(log.used(20, 1_000), 5);
    // On an empty log too.
    const empty = new SlidingLog(10, 1_000);
    const nothing = empty.add(0, 0);
    empty.add(5, 4);
    empty.refund(nothing, 4);
    assert.equal(empty.used(5, 1_000), 4);
  });

  it("gives back from an entry still in the ring, and the retry hint walks past it", () => {
    const log = new SlidingLog(10, 1_000);
    const handles = [0, 100, 200].map((t) => log.add(t));
    log.refund(handles[0]!, 1);
    assert.equal(log.used(250, 1_000), 2);
    // The oldest left is at 100: with max 2, one more fits once it leaves at 1100.
    assert.deepEqual(log.check(250, 1_000, 2), { ok: false, used: 2, retryAfterMs: 850 });
    log.refund(handles[2]!, 1);
    assert.deepEqual(log.check(250, 1_000, 2), { ok: true, used: 1 });
  });

  it("turns a unit log weighted when a refund leaves part of a call", () => {
    const log = new SlidingLog(10, 1_000);
    const first = log.add(0);
    log.add(1);
    log.refund(first, 0.25);
    assert.equal(log.used(1, 1_000), 1.75);
    log.add(2);
    assert.equal(log.used(2, 1_000), 2.75);
  });

  it("clamps at 0: a refund twice over gives back no more than the add logged", () => {
    const log = new SlidingLog(10, 1_000);
    log.add(0, 2);
    const h = log.add(1, 3);
    log.refund(h, 2);
    log.refund(h, 2);
    assert.equal(log.used(1, 1_000), 2);
    log.refund(h, 1);
    assert.equal(log.used(1, 1_000), 2);
  });

  it("does nothing for an add that aged out, nor takes from the entries after it", () => {
    const log = new SlidingLog(10, 1_000);
    const old = log.add(0, 5);
    log.add(2_000, 3);
    log.refund(old, 5);
    assert.equal(log.used(2_000, 1_000), 3);
    log.refund(99, 1);
    log.refund(0, 1);
    assert.equal(log.used(2_000, 1_000), 3);
  });

  it("takes a folded add's amount from the oldest entry, which carries it", () => {
    const log = new SlidingLog(2, 1_000);
    const a = log.add(0, 5);
    const b = log.add(10, 3);
    log.add(20, 4); // full: a folds into b, now 8 at 10
    assert.equal(log.size, 2);
    log.refund(a, 5);
    assert.equal(log.used(20, 1_000), 7);
    assert.equal(log.used(1_015, 1_000), 4, "b's own 3 still leaves with b");
    log.refund(b, 3);
    assert.equal(log.used(20, 1_000), 4);
  });

  it("does nothing for a folded add once its carrier aged out", () => {
    const log = new SlidingLog(2, 1_000);
    const a = log.add(0, 5);
    log.add(10, 3);
    log.add(900, 4); // a folds into the entry at 10
    log.add(1_500, 1); // prunes the carrier (10 <= 1500 - 1000)
    log.refund(a, 5);
    assert.equal(log.used(1_500, 1_000), 5);
  });

  it("does not count zero entries against capacity, so refunds never fold sooner", () => {
    // Two slots; the newest call given back. Without it, a third add would fold the call at 0
    // into the entry at 100, keeping it in the window past 1000.
    const log = new SlidingLog(2, 10_000);
    log.add(0);
    const b = log.add(100);
    log.refund(b, 1);
    log.add(200);
    assert.equal(log.size, 3);
    assert.equal(log.used(1_050, 1_000), 1);
    // Full of real entries again: the zero oldest is dropped, nothing to fold, and a refund
    // for it stays a no-op however the entries move on.
    const z = new SlidingLog(2, 10_000);
    const first = z.add(0);
    z.add(10);
    z.refund(first, 1);
    z.add(20);
    const fourth = z.add(30); // drops 0 (zero), folds 10 into 20
    z.refund(first, 1);
    assert.equal(z.used(30, 10_000), 3);
    z.refund(fourth, 1);
    assert.equal(z.used(30, 10_000), 2);
    assert.equal(z.used(1_025, 1_000), 0, "the folded call left with its carrier at 20");
  });

  it("folds past zero entries, never into one: the fold must free a slot (found by the property below)", () => {
    const log = new SlidingLog(2, Infinity);
    let total = 0;
    for (let t = 0; t < 10_000; t++) {
      const h = log.add(t);
      total++;
      if (t % 3 === 1) {
        log.refund(h, 1);
        total--;
      }
      assert.ok(log.size <= 64, `size ${log.size} at ${t}`);
    }
    assert.equal(log.used(10_000, Infinity), total);
    assert.equal(log.used(9_999, 2), total, "capacity 2: the two newest calls, one carrying the rest");
  });

  it("keeps memory bounded when every call is given back, and finds handles after compaction", () => {
    const log = new SlidingLog(3, 86_400_000);
    for (let t = 0; t < 100_000; t++) log.refund(log.add(t), 1);
    assert.ok(log.size <= 64, `size ${log.size}`);
    assert.deepEqual(log.check(100_000, 86_400_000, 3), { ok: true, used: 0 });
    // Every other call given back: compaction leaves gaps in the handles, found by search.
    const gaps = new SlidingLog(1_000, 86_400_000);
    const kept: number[] = [];
    for (let t = 0; t < 1_000; t++) {
      const h = gaps.add(t);
      if (t % 2 === 0) gaps.refund(h, 1);
      else kept.push(h);
    }
    assert.ok(gaps.size < 1_000);
    assert.equal(gaps.used(1_000, 86_400_000), 500);
    for (const h of kept.slice(0, 100)) gaps.refund(h, 1);
    gaps.refund(kept[0]!, 1);
    gaps.refund(1, 1); // a zero entry compacted away
    assert.equal(gaps.used(1_000, 86_400_000), 400);
    assert.ok(gaps.size <= 2_000);
  });

  type Step =
    | { gap: number; kind: "add"; amount: number }
    | { gap: number; kind: "check"; window: number; max: number; amount: number }
    | { gap: number; kind: "refund"; pick: number; amount: number };
  const steps = (budget: boolean, gap: number): fc.Arbitrary<Step[]> =>
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ gap: fc.integer({ min: 0, max: gap }), kind: fc.constant("add" as const), amount: budget ? fc.integer({ min: 0, max: 6 }) : fc.constant(1) }) },
        { weight: 2, arbitrary: fc.record({ gap: fc.integer({ min: 0, max: gap }), kind: fc.constant("check" as const), window: fc.integer({ min: 1, max: 1_000 }), max: fc.integer({ min: 0, max: 40 }), amount: fc.integer({ min: 0, max: 8 }) }) },
        { weight: 2, arbitrary: fc.record({ gap: fc.integer({ min: 0, max: gap }), kind: fc.constant("refund" as const), pick: fc.nat(), amount: fc.integer({ min: 0, max: 8 }) }) },
      ),
      { maxLength: 300 },
    );

  it("answers every check as a naive log whose refunds lower that add's amount, while nothing folds (property)", () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((budget) => fc.tuple(fc.constantFrom(1, 50, 1_000, 100_000), fc.integer({ min: 1, max: 1_000 }), steps(budget, 300))),
        ([gapScale, horizon, all]) => {
          const log = new SlidingLog(100_000, horizon);
          const entries: Array<[number, number]> = [];
          let now = 0;
          for (const s of all) {
            now += Math.min(s.gap, gapScale);
            if (s.kind === "add") {
              assert.equal(log.add(now, s.amount), entries.length + 1, "handles count the adds");
              entries.push([now, Math.max(0, s.amount)]);
            } else if (s.kind === "refund") {
              // Any handle: past ones, 0, and one not given out yet.
              const handle = s.pick % (entries.length + 2);
              log.refund(handle, s.amount);
              const entry = entries[handle - 1];
              if (entry !== undefined) entry[1] = Math.max(0, entry[1] - s.amount);
            } else {
              const window = Math.min(s.window, horizon);
              assert.deepEqual(log.check(now, window, s.max, s.amount), naiveCheck(entries, now, window, s.max, s.amount), `at ${now}, window ${window} of ${horizon}`);
            }
          }
          for (const window of [1, horizon >> 1 || 1, horizon]) {
            assert.deepEqual(log.check(now, window, 10, 1), naiveCheck(entries, now, window, 10, 1), `after all steps, window ${window}`);
          }
        },
      ),
    );
  });

  it("with folding, refunds of at most what each add logged keep the total and never make a window looser (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1_000 }), fc.boolean().chain((budget) => steps(budget, 100)), (capacity, horizon, all) => {
        const log = new SlidingLog(capacity, horizon);
        // With no horizon nothing ages out: folding moves amounts, and must lose none.
        const forever = new SlidingLog(capacity, Infinity);
        const entries: Array<[number, number]> = [];
        let now = 0;
        for (const s of all) {
          now += s.gap;
          if (s.kind === "add") {
            log.add(now, s.amount);
            forever.add(now, s.amount);
            entries.push([now, s.amount]);
            continue;
          }
          if (s.kind === "refund") {
            // Only what the caller may give back: part or all of what is left of one add, once.
            const live = entries.flatMap((entry, index) => (entry[1] > 0 ? [index] : []));
            if (live.length === 0) continue;
            const index = live[s.pick % live.length]!;
            const amount = Math.min(Math.max(1, s.amount), entries[index]![1]);
            log.refund(index + 1, amount);
            forever.refund(index + 1, amount);
            entries[index]![1] -= amount;
          }
          const total = entries.reduce((sum, [, a]) => sum + a, 0);
          assert.equal(forever.used(now, Infinity), total, `at ${now}: the total is kept`);
          for (const window of [1, horizon >> 1 || 1, horizon]) {
            const exact = entries.filter(([t]) => t > now - window).reduce((sum, [, a]) => sum + a, 0);
            const used = log.used(now, window);
            assert.ok(used >= exact, `at ${now}, window ${window}: ${used} used, ${exact} exactly`);
          }
        }
      }),
    );
  });
});
