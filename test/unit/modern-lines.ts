// Lines of protocol 2026-07-28 for router tests: a tools/call whose params carry the era's
// _meta, and the retry of an input_required round.

export const FORM = '{"elicitation":{"form":{}}}';
/** The _meta of a 2026-07-28 request; `capabilities` null leaves clientCapabilities out. */
export const meta = (capabilities: string | null = FORM, version = "2026-07-28") =>
  `"_meta":{"io.modelcontextprotocol/protocolVersion":"${version}"${capabilities === null ? "" : `,"io.modelcontextprotocol/clientCapabilities":${capabilities}`}}`;
/** A 2026-07-28 tools/call; `extra` is appended to its params (a retry's members). */
export const modern = (id: number, name: string, args = "{}", { capabilities = FORM as string | null, extra = "" } = {}) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${args},${meta(capabilities)}${extra}}}\n`;
export const legacy = (id: number, name: string, args = "{}") => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${name}","arguments":${args}}}\n`;
export const ACCEPT = '{"action":"accept","content":{}}';
/** The retry of a round: the same call with the human's answer and the round's state. */
export const retry = (id: number, name: string, args: string, state: unknown, answer = ACCEPT) =>
  modern(id, name, args, { extra: `,"inputResponses":{"mcpgate_approval":${answer}},"requestState":${JSON.stringify(state)}` });
