// The router alone, in-process: CPU per tools/call + answer cycle under bench/policy.yaml.
// ROOT is the tree to measure (so two builds can be compared alternately):
//   ROOT=$PWD LABEL=now node --import tsx bench/router-cycle.mts
const root = process.env.ROOT!;
const { Router } = await import(`${root}/src/relay/router.ts`);
const { parsePolicy } = await import(`${root}/src/policy/load.ts`);
const { compilePolicy } = await import(`${root}/src/policy/compile.ts`);
const { Counters } = await import(`${root}/src/limits/counters.ts`);
const { noAudit } = await import(`${root}/src/audit/log.ts`);
const { readFileSync } = await import("node:fs");
const parsed = parsePolicy(readFileSync(`${root}/bench/policy.yaml`, "utf8"));
if (!parsed.ok) throw new Error("policy");
const policy = compilePolicy(parsed.policy);
let t = 0;
const router = new Router({ policy, counters: new Counters(policy.counters), audit: noAudit, log: { verbose: false, warn() {}, info() {} }, now: () => (t += 0.001), toServer() {}, toClient() {} });
const N = 200_000;
const calls: Buffer[] = [];
const answers: Buffer[] = [];
for (let i = 0; i < N; i++) {
  calls.push(Buffer.from(`{"jsonrpc":"2.0","id":${i},"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello ${i}"}}}\n`));
  answers.push(Buffer.from(`{"jsonrpc":"2.0","id":${i},"result":{"content":[{"type":"text","text":"hello ${i}"}]}}\n`));
}
for (let i = 0; i < 20_000; i++) { router.fromClient(calls[i]); router.fromServer(answers[i]); }
const start = process.hrtime.bigint();
for (let i = 20_000; i < N; i++) { router.fromClient(calls[i]); router.fromServer(answers[i]); }
console.log(process.env.LABEL, (Number(process.hrtime.bigint() - start) / (N - 20_000) / 1000).toFixed(2), "µs per cycle");
