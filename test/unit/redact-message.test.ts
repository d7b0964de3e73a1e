// Redacting a whole message: only the strings that hold a secret change (re-encoded on their
// own), keys never do, every other byte stays as the server wrote it, and the counts land in
// the result's _meta. Custom patterns, and how all_tools' redact merges with an entry's.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactMember } from "../../src/redact/message.ts";
import { compileRedaction } from "../../src/redact/settings.ts";
import { member } from "../../src/wire/message.ts";
import { scanJson } from "../../src/wire/scan.ts";

const secrets = compileRedaction({ secrets: true }, undefined, "all_tools.redact")!;
const GHP = "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po0a1b";

/** Redacts the result (or `key`) of the message `text`; returns the new text (or undefined) and the counts. */
function run(text: string, redaction = secrets, key = "result", meta = true): { text: string | undefined; counts: Record<string, number> } {
  const buf = Buffer.from(text);
  const scan = scanJson(buf, {}, 0, text.endsWith("\n") ? buf.length - 1 : buf.length);
  assert.ok(scan.ok);
  const redacted = redactMember(buf, member(scan.members, key)!, redaction.scanner, meta);
  return { text: redacted?.line.toString("utf8"), counts: Object.fromEntries(redacted?.counts ?? []) };
}

describe("redactMember", () => {
  it("re-encodes only the string that held a secret, keeps every other byte, and adds the counts to _meta", () => {
    const line = `{"jsonrpc":"2.0", "id" : 7 ,"result":{ "content": [ {"type":"text","text":"tok ${GHP}\\nnext"}, {"type":"text","text":"clean \\u00e9\\/"} ] , "isError" : false }}\r\n`;
    const { text, counts } = run(line);
    assert.equal(
      text,
      `{"jsonrpc":"2.0", "id" : 7 ,"result":{ "content": [ {"type":"text","text":"tok [REDACTED:github-token]\\nnext"}, {"type":"text","text":"clean \\u00e9\\/"} ] , "isError" : false ,"_meta":{"mcpgate/redactions":{"github-token":1}}}}\r\n`,
    );
    assert.deepEqual(counts, { "github-token": 1 });
    assert.deepEqual(JSON.parse(text!).result._meta, { "mcpgate/redactions": { "github-token": 1 } });
  });

  it("returns undefined (forward the bytes as they are) when nothing matched", () => {
    assert.equal(run('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}').text, undefined);
  });

  it("scans every string value: structuredContent at any depth, resource text, arrays of strings", () => {
    const line = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      result: {
        content: [{ type: "resource", resource: { uri: "file:///.env", mimeType: "text/plain", text: "DB_PASSWORD=hunter2\n" } }],
        structuredContent: { a: { b: [{ c: [GHP] }] } },
      },
    });
    const { text, counts } = run(line);
    const result = JSON.parse(text!).result;
    assert.equal(result.content[0].resource.text, "DB_PASSWORD=[REDACTED:env-secret]\n");
    assert.deepEqual(result.structuredContent, { a: { b: [{ c: ["[REDACTED:github-token]"] }] } });
    assert.deepEqual(counts, { "env-secret": 1, "github-token": 1 });
  });

  it("never alters a key, even one that looks like a secret", () => {
    const line = `{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"${GHP}":"DB_PASSWORD=x","k" :"${GHP}"}}}`;
    const result = JSON.parse(run(line).text!).result;
    assert.deepEqual(Object.keys(result.structuredContent), [GHP, "k"]);
    assert.equal(result.structuredContent[GHP], "DB_PASSWORD=[REDACTED:env-secret]");
    assert.equal(result.structuredContent.k, "[REDACTED:github-token]");
  });

  it("decodes escapes before scanning: \\n line ends, \\u escapes that spell a secret, escaped quotes", () => {
    const spelled = `\\u0067hp_${GHP.slice(4)}`; // "ghp_…" with its g escaped
    const line = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x\\nDB_PASSWORD=\\"a b\\"\\n${spelled} \\"q\\""}]}}`;
    const { text } = run(line);
    assert.equal(JSON.parse(text!).result.content[0].text, 'x\nDB_PASSWORD=[REDACTED:env-secret]\n[REDACTED:github-token] "q"');
  });

  it("merges the counts into an existing _meta object, last in it, and adds _meta to an empty result", () => {
    const existing = run(`{"jsonrpc":"2.0","id":1,"result":{"_meta":{"progressToken":5},"content":[{"type":"text","text":"${GHP}"}]}}`).text!;
    assert.equal(existing, `{"jsonrpc":"2.0","id":1,"result":{"_meta":{"progressToken":5,"mcpgate/redactions":{"github-token":1}},"content":[{"type":"text","text":"[REDACTED:github-token]"}]}}`);
    const emptyMeta = run(`{"jsonrpc":"2.0","id":1,"result":{"x":"${GHP}","_meta":{ }}}`).text!;
    assert.equal(emptyMeta, `{"jsonrpc":"2.0","id":1,"result":{"x":"[REDACTED:github-token]","_meta":{ "mcpgate/redactions":{"github-token":1}}}}`);
    // The server's own claim of redactions does not win: ours is read last.
    const spoofed = run(`{"jsonrpc":"2.0","id":1,"result":{"_meta":{"mcpgate/redactions":{}},"x":"${GHP}"}}`).text!;
    assert.deepEqual(JSON.parse(spoofed).result._meta["mcpgate/redactions"], { "github-token": 1 });
  });

  it("looks into a text that is itself JSON (a shell server's output), keeping its own formatting", () => {
    // Seen string by string first, then whole: the replacement made inside is not redacted (or counted) again.
    const output = JSON.stringify({ success: true, stdout: "DB_PASSWORD=hunter2\nAPI_KEY=abc\n", stderr: "", command: "cat .env" }, null, 2);
    const { text, counts } = run(JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: output }] } }));
    const inner = JSON.parse(text!).result.content[0].text;
    assert.equal(inner, output.replace("hunter2", "[REDACTED:env-secret]").replace("abc", "[REDACTED:env-secret]"));
    assert.deepEqual(counts, { "env-secret": 2 });
    // Not JSON after all: scanned as plain text.
    const notJson = run(JSON.stringify({ jsonrpc: "2.0", id: 1, result: { t: `{ not json\nAPI_KEY=abc\n${GHP}` } }));
    assert.equal(JSON.parse(notJson.text!).result.t, "{ not json\nAPI_KEY=[REDACTED:env-secret]\n[REDACTED:github-token]");
  });

  it("walks a value nested 100,000 deep without recursion", () => {
    const depth = 100_000;
    const line = `{"jsonrpc":"2.0","id":1,"result":{"structuredContent":${"[".repeat(depth)}"${GHP}"${"]".repeat(depth)}}}`;
    const { text, counts } = run(line);
    assert.deepEqual(counts, { "github-token": 1 });
    assert.ok(text!.includes(`${"[".repeat(depth)}"[REDACTED:github-token]"${"]".repeat(depth)}`));
  });

  it("redacts an error's strings without adding _meta to it", () => {
    const { text } = run(`{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"failed with ${GHP}"}}`, secrets, "error", false);
    assert.equal(text, `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"failed with [REDACTED:github-token]"}}`);
  });

  it("splices the replacement into the string's own bytes: its other escapes stay as the server wrote them", () => {
    const line = `{"jsonrpc":"2.0","id":1,"result":{"t":"caf\\u00e9 \\/path\\ttab ${GHP} \\ud83d\\ude00 h\u00e9 \\u0041KIAIOSFODNN7EXAMPLE end"}}`;
    const { text, counts } = run(line);
    assert.equal(text, `{"jsonrpc":"2.0","id":1,"result":{"t":"caf\\u00e9 \\/path\\ttab [REDACTED:github-token] \\ud83d\\ude00 h\u00e9 [REDACTED:aws-access-key-id] end","_meta":{"mcpgate/redactions":{"github-token":1,"aws-access-key-id":1}}}}`);
    assert.deepEqual(counts, { "github-token": 1, "aws-access-key-id": 1 });
  });

  it("re-encodes a string whose bytes are not UTF-8 whole (no byte offset stands for a replacement character)", () => {
    const buf = Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":1,"result":{"t":"\\n`), Buffer.from([0xff, 0xfe]), Buffer.from(` ${GHP}"}}`)]);
    const scan = scanJson(buf);
    assert.ok(scan.ok);
    const redacted = redactMember(buf, member(scan.members, "result")!, secrets.scanner, false)!;
    assert.equal(redacted.line.toString("utf8"), `{"jsonrpc":"2.0","id":1,"result":{"t":"\\n\ufffd\ufffd [REDACTED:github-token]"}}`);
  });

  it("keeps multi-byte characters around a redaction, and invalid escapes fail closed (throw)", () => {
    const { text } = run(`{"jsonrpc":"2.0","id":1,"result":{"t":"héllo ${GHP} 😀"}}`);
    assert.equal(JSON.parse(text!).result.t, "héllo [REDACTED:github-token] 😀");
    assert.throws(() => run(`{"jsonrpc":"2.0","id":1,"result":{"t":"bad \\x escape"}}`));
  });
});

describe("custom patterns and merged redact blocks", () => {
  it("redacts a custom pattern under its own name, alone or with the built-in detectors", () => {
    const custom = compileRedaction({ secrets: false, patterns: [{ name: "employee-id", regex: "EMP-[0-9]{6}" }] }, undefined, "all_tools.redact")!;
    const { text, counts } = run(`{"jsonrpc":"2.0","id":1,"result":{"t":"EMP-123456 and ${GHP}"}}`, custom);
    assert.equal(JSON.parse(text!).result.t, `[REDACTED:employee-id] and ${GHP}`);
    assert.deepEqual(counts, { "employee-id": 1 });
  });

  it("an entry's secrets and max_bytes win; its patterns are added to all_tools' (a same-named one replaces it)", () => {
    const allTools = { secrets: true, max_bytes: "1MiB", patterns: [{ name: "ticket", regex: "TCK-[0-9]+" }, { name: "host", regex: "db[0-9]+\\.internal" }] };
    const merged = compileRedaction(allTools, { secrets: false, max_bytes: 2048, patterns: [{ name: "ticket", regex: "INC[0-9]+" }] }, "tools.cat.redact")!;
    assert.equal(merged.rule, "tools.cat.redact");
    assert.equal(merged.secrets, false);
    assert.equal(merged.maxBytes, 2048);
    assert.deepEqual(merged.patterns, ["host", "ticket"]);
    const { text } = run(`{"jsonrpc":"2.0","id":1,"result":{"t":"TCK-1 INC2 db7.internal ${GHP}"}}`, merged);
    assert.equal(JSON.parse(text!).result.t, `TCK-1 [REDACTED:ticket] [REDACTED:host] ${GHP}`);
    assert.equal(compileRedaction(allTools, undefined, "all_tools.redact")!.maxBytes, 1024 * 1024);
    assert.equal(compileRedaction(undefined, {}, "tools.x.redact")!.maxBytes, 32 * 1024 * 1024, "32 MiB unless said");
    assert.equal(compileRedaction(undefined, { secrets: false }, "tools.x.redact"), undefined, "nothing to look for: not redacted at all");
  });
});
