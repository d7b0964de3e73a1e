// The internal-error line: one line whatever was thrown, the message and where, never a stack;
// and the stops registered while a server runs are the ones that run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeInternalError, onInternalError, stopForInternalError } from "../../src/cli/internal-error.ts";

describe("describeInternalError", () => {
  it("names the error and the first frame of its stack, on one line", () => {
    const error = new TypeError("cannot read x");
    error.stack = "TypeError: cannot read x\n    at Router.fromClient (/app/dist/mcpgate.cjs:120:7)\n    at Socket.emit (node:events:524:28)";
    assert.equal(describeInternalError(error), "TypeError: cannot read x (at /app/dist/mcpgate.cjs:120:7)");
  });

  it("takes an anonymous frame's location as it is", () => {
    const error = new Error("boom");
    error.stack = "Error: boom\n    at file:///app/x.mjs:3:9";
    assert.equal(describeInternalError(error), "Error: boom (at file:///app/x.mjs:3:9)");
  });

  it("keeps a message with line breaks on one line", () => {
    const error = new Error("first\n  second\r\nthird");
    error.stack = undefined;
    assert.equal(describeInternalError(error), "Error: first second third");
  });

  it("says when what was thrown is not an Error, whatever it is", () => {
    assert.equal(describeInternalError("plain text"), "'plain text' (thrown, not an Error)");
    assert.equal(describeInternalError(12n), "12n (thrown, not an Error)");
    assert.equal(describeInternalError(undefined), "undefined (thrown, not an Error)");
    const circular: Record<string, unknown> = { a: { b: "line\nbreak" } };
    circular.self = circular;
    const text = describeInternalError(circular);
    assert.doesNotMatch(text, /\n/);
    assert.match(text, /\(thrown, not an Error\)$/);
  });
});

describe("stopForInternalError", () => {
  it("runs the stops registered, and says whether there were any", () => {
    const heard: string[] = [];
    const unregister = onInternalError((why) => heard.push(why));
    assert.equal(stopForInternalError(), true);
    assert.deepEqual(heard, ["mcpgate failed (internal error)"]);
    unregister();
    assert.equal(stopForInternalError(), false);
    assert.equal(heard.length, 1);
  });
});
