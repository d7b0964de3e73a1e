import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contentEnd, LineSplitter } from "../../src/wire/framing.ts";

function collect(maxLineBytes?: number): { splitter: LineSplitter; lines: Buffer[]; oversize: number[] } {
  const lines: Buffer[] = [];
  const oversize: number[] = [];
  const splitter = new LineSplitter({ line: (bytes) => lines.push(Buffer.from(bytes)), oversize: (bytes) => oversize.push(bytes) }, maxLineBytes);
  return { splitter, lines, oversize };
}

const CORPUS = Buffer.from(
  [
    '{"jsonrpc":"2.0","id":1,"method":"ping"}\n',
    '{"text":"héllo wörld — 日本語 👋🏽"}\r\n',
    "\n",
    '{"id":12345678901234567890123,"s":"\\u00e9\\"\\\\"}\n',
    "no newline at the end: ✓",
  ].join(""),
);
const EXPECTED = [
  '{"jsonrpc":"2.0","id":1,"method":"ping"}\n',
  '{"text":"héllo wörld — 日本語 👋🏽"}\r\n',
  "\n",
  '{"id":12345678901234567890123,"s":"\\u00e9\\"\\\\"}\n',
  "no newline at the end: ✓",
];

describe("LineSplitter", () => {
  it("yields the same lines, byte for byte, when the input is split at every offset (multi-byte characters included)", () => {
    for (let cut = 0; cut <= CORPUS.length; cut++) {
      const { splitter, lines } = collect();
      splitter.push(CORPUS.subarray(0, cut));
      splitter.push(CORPUS.subarray(cut));
      splitter.end();
      assert.deepEqual(lines.map((line) => line.toString("utf8")), EXPECTED, `split at ${cut}`);
    }
  });

  it("yields the same lines for any chunking (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: CORPUS.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const { splitter, lines } = collect();
        let from = 0;
        for (const point of [...points, CORPUS.length]) {
          splitter.push(CORPUS.subarray(from, point));
          from = point;
        }
        splitter.end();
        assert.deepEqual(Buffer.concat(lines), CORPUS);
        assert.equal(lines.length, EXPECTED.length);
      }),
    );
  });

  it("joins a line that arrives one byte at a time in linear time", () => {
    const { splitter, lines } = collect();
    const line = Buffer.from(`${"x".repeat(200_000)}\n`);
    for (let i = 0; i < line.length; i++) splitter.push(line.subarray(i, i + 1));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.length, line.length);
  });

  it("drops a line over the limit whole, reports its size, and carries on with the next", () => {
    const { splitter, lines, oversize } = collect(10);
    splitter.push(Buffer.from("0123456789ABCDEF"));
    splitter.push(Buffer.from("GHIJ\nok\n"));
    assert.deepEqual(oversize, [21]);
    assert.deepEqual(lines.map(String), ["ok\n"]);
    assert.equal(splitter.buffered, 0);
  });

  it("drops an oversized line that ends the stream without a newline", () => {
    const { splitter, lines, oversize } = collect(4);
    splitter.push(Buffer.from("a\n123456"));
    splitter.end();
    assert.deepEqual(lines.map(String), ["a\n"]);
    assert.deepEqual(oversize, [6]);
  });
});

describe("LineSplitter: streaming long lines", () => {
  /** A splitter that streams lines past `after` bytes when `accept` says so; records events. */
  function streaming(after: number, accept: (head: string) => boolean) {
    const events: string[] = [];
    const splitter = new LineSplitter(
      {
        line: (bytes) => events.push(`line ${bytes.toString()}`),
        oversize: (bytes) => events.push(`oversize ${bytes}`),
        stream: (head) => {
          const text = Buffer.concat(head).toString();
          const ok = accept(text);
          events.push(`${ok ? "stream" : "decline"} ${text}`);
          return ok;
        },
        more: (bytes) => events.push(`more ${bytes.toString()}`),
        done: (tail) => events.push(`done ${tail === undefined ? "(end of input)" : tail.toString()}`),
      },
      undefined,
      after,
    );
    return { splitter, events };
  }

  it("hands over the head once past the threshold, then each chunk, then the tail with its newline", () => {
    const { splitter, events } = streaming(4, () => true);
    for (const chunk of ["ab", "cde", "fg", "h\nshort\nij", "klmno"]) splitter.push(Buffer.from(chunk));
    splitter.end();
    assert.deepEqual(events, ["stream abcde", "more fg", "done h\n", "line short\n", "stream ijklmno", "done (end of input)"]);
  });

  it("a declined line is held and yielded whole, and the next line is asked about again", () => {
    const { splitter, events } = streaming(4, (head) => head.startsWith("y"));
    for (const chunk of ["nnnnn", "nn\ny", "yyyy", "y\n"]) splitter.push(Buffer.from(chunk));
    assert.deepEqual(events, ["decline nnnnn", "line nnnnnnn\n", "stream yyyyy", "done y\n"]);
  });

  it("lines under the threshold never stream", () => {
    const { splitter, events } = streaming(100, () => true);
    splitter.push(Buffer.from("a\nbb\nccc"));
    splitter.end();
    assert.deepEqual(events, ["line a\n", "line bb\n", "line ccc"]);
  });
});

describe("contentEnd", () => {
  it("stops before one \\n or \\r\\n and nothing else", () => {
    assert.equal(contentEnd(Buffer.from("a\r\n")), 1);
    assert.equal(contentEnd(Buffer.from("a\n")), 1);
    assert.equal(contentEnd(Buffer.from("a\r\r\n")), 2);
    assert.equal(contentEnd(Buffer.from("a")), 1);
  });
});
