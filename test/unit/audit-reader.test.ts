// Reading the audit log back: bytes however split give the same records, servers are named
// from what the log says about them, and the summary's percentiles are nearest-rank.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AuditReader, serverMatches, serverName, type LoggedCall } from "../../src/audit/reader.ts";
import { percentile, summarize } from "../../src/cli/log-summary.ts";

function read(chunks: Buffer[]): { calls: LoggedCall[]; malformed: Array<[number, string]> } {
  const calls: LoggedCall[] = [];
  const malformed: Array<[number, string]> = [];
  const reader = new AuditReader({ call: (record) => calls.push(record), malformed: (line, problem) => malformed.push([line, problem]) });
  for (const chunk of chunks) reader.push(chunk);
  reader.end();
  return { calls, malformed };
}

const LOG = [
  '{"session":"a","event":"start","server":["node","/srv/météo.mjs"]}',
  '{"session":"a","event":"call","tool":"früh","decision":"deny"}',
  "not json",
  '{"session":"a","event":"call","tool":"x","decision":"allow","duration_ms":4,"server":{"name":"météo","command":["node","/srv/météo.mjs"]}}\r',
  "",
  '{"session":"b","event":"call","tool":"y","decision":"allow","server":{"command":["node","/srv/météo.mjs"]}}',
].join("\n");

describe("AuditReader", () => {
  it("gives the same records and line numbers however the bytes are split (UTF-8 included)", () => {
    const bytes = Buffer.from(LOG);
    const whole = read([bytes]);
    assert.deepEqual(whole.calls.map((record) => record.event.tool), ["früh", "x", "y"]);
    assert.deepEqual(whole.malformed.map(([line]) => line), [3]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 8 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
        const split = read(chunks);
        assert.deepEqual(split.calls.map((record) => record.line), whole.calls.map((record) => record.line));
        assert.deepEqual(split.malformed, whole.malformed);
      }),
    );
  });

  it("names a call's server from its session and from other sessions of the same command", () => {
    const { calls } = read([Buffer.from(LOG)]);
    // The first call came before the name was known; the session's label learned it later.
    assert.deepEqual(calls.map((record) => serverName(record.server)), ["météo", "météo", "météo"]);
    assert.ok(serverMatches({ name: "mcp-servers/everything" }, "everything") && !serverMatches({ name: "mcp-servers/everything" }, "mcp-servers"));
    assert.ok(serverMatches(calls[0]!.server, "météo.mjs") && serverMatches(calls[0]!.server, "/srv/météo.mjs") && !serverMatches(calls[0]!.server, "srv"));
  });

  it("falls back to the script a launcher runs, else the program", () => {
    assert.equal(serverName({ command: ["npx", "-y", "@scope/git-mcp"] }), "git-mcp");
    assert.equal(serverName({ command: ["/usr/bin/python3", "-u", "server.py"] }), "server.py");
    assert.equal(serverName({ command: ["/opt/bin/weather-server", "--stdio"] }), "weather-server");
    assert.equal(serverName({}), "?");
    assert.equal(serverName({ command: ["node", "/n/node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"] }), "server-everything");
    assert.equal(serverName({ command: ["python3", "/opt/tools/weather/__main__.py"] }), "weather");
  });
});

describe("summary", () => {
  it("percentiles are nearest-rank", () => {
    assert.equal(percentile([], 50), undefined);
    assert.equal(percentile([7], 95), 7);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([...Array(20).keys()].map((n) => n + 1), 95), 19);
  });

  it("counts approved only when a human said yes", () => {
    const record = (decision: string, approval?: string): LoggedCall => ({ line: "", server: { name: "s" }, event: { tool: "t", decision, ...(approval === undefined ? {} : { approval }) } });
    const [row] = summarize([record("allow", "accepted"), record("allow", "session"), record("deny", "declined"), record("allow")]);
    assert.deepEqual(row, { server: "s", tool: "t", calls: 4, allowed: 3, denied: 1, approved: 2 });
  });
});
