// The gateway's per-chunk write batching: adjacent views merge, order is kept, nothing is lost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { Coalescer } from "../../src/relay/pumps.ts";

function sink() {
  const writes: Buffer[] = [];
  const to = new PassThrough();
  return { writes, coalescer: new Coalescer(to, (bytes) => writes.push(Buffer.from(bytes))) };
}

describe("Coalescer", () => {
  it("merges consecutive lines of one chunk into one write, and writes at once when not holding", () => {
    const { writes, coalescer } = sink();
    const chunk = Buffer.from("a\nbb\nccc\n");
    coalescer.hold();
    coalescer.push(chunk.subarray(0, 2));
    coalescer.push(chunk.subarray(2, 5));
    coalescer.push(chunk.subarray(5, 9));
    assert.equal(writes.length, 0);
    coalescer.release();
    assert.deepEqual(writes.map(String), ["a\nbb\nccc\n"]);
    coalescer.push(Buffer.from("later\n"));
    assert.deepEqual(writes.map(String), ["a\nbb\nccc\n", "later\n"]);
  });

  it("writes exactly the bytes pushed, in order, however they lie in memory (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(20), fc.nat(20), fc.boolean()), { maxLength: 30 }), (cuts) => {
        const { writes, coalescer } = sink();
        const chunk = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyz");
        let expected = "";
        coalescer.hold();
        for (const [a, b, fresh] of cuts) {
          const [start, end] = a <= b ? [a, b] : [b, a];
          // Views of one chunk (some adjacent, some repeated or reversed) and fresh small
          // buffers, which Node allocates next to each other from its pool.
          const bytes = fresh ? Buffer.from(chunk.toString("latin1", start, end)) : chunk.subarray(start, end);
          expected += bytes.toString();
          coalescer.push(bytes);
        }
        coalescer.release();
        assert.equal(Buffer.concat(writes).toString(), expected);
      }),
    );
  });
});
