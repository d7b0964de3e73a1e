// Sliding windows with an injected clock: no sleeping.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SlidingLog } from "../../src/limits/window.ts";

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
    /** The specification: every entry ever added, each check a scan of them all. */
    const naiveCheck = (entries: Array<[number, number]>, now: number, window: number, max: number, amount: number): object => {
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
    };
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
