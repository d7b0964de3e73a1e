// One policy decision, measured in-process: a policy of 1,000 entries of which 100 are globs.
import { Counters } from "../src/limits/counters.ts";
import { compilePolicy } from "../src/policy/compile.ts";
import { charge, evaluate } from "../src/policy/evaluate.ts";
import { parsePolicy } from "../src/policy/load.ts";

function bigPolicy(): string {
  const lines = ['version: "1"', "default: deny", 'hide: [secret, "admin_*"]', "all_tools:", '  limits: ["100000000/hour"]', "tools:"];
  for (let i = 0; i < 900; i++) lines.push(`  tool_${i}: { limits: [{ counter: c${i % 50}, window: minute, max: 100000000 }] }`);
  for (let i = 0; i < 100; i++) lines.push(`  "ns${i}_*": { limits: ["100000000/minute"] }`);
  return `${lines.join("\n")}\n`;
}

function perCall(label: string, names: string[], iterations: number, run: (name: string, now: number) => void): void {
  for (let i = 0; i < 10_000; i++) run(names[i % names.length]!, i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run(names[i % names.length]!, i);
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`  ${label.padEnd(56)} ${(ns / 1000).toFixed(2)} µs`);
}

export function runDecisionBench(quick: boolean): void {
  const parsed = parsePolicy(bigPolicy());
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const policy = compilePolicy(parsed.policy);
  const counters = new Counters(policy.counters);
  const iterations = quick ? 200_000 : 1_000_000;
  const judge = (name: string, now: number): void => {
    const { verdict, charge: due } = evaluate(policy, { name, args: { command: "echo" } }, now, counters);
    if (verdict.effect === "allow") charge(counters, due, now);
  };

  console.log(`\none decision (evaluate + charge), policy of ${policy.entryCount} entries with 100 globs, ${iterations} calls each:`);
  perCall("exact name (tool_0 … tool_899)", Array.from({ length: 900 }, (_, i) => `tool_${i}`), iterations, judge);
  perCall("glob match, last of 100 globs (ns99_*)", ["ns99_read", "ns99_write"], iterations, judge);
  perCall("no match, default deny", ["unknown_a", "unknown_b"], iterations, judge);
  // Every name new: the lookup cache never hits, so all 100 globs are tried each time.
  let fresh = 0;
  perCall("glob match, uncached (a new name every call)", ["x"], quick ? 50_000 : 200_000, (_, now) => judge(`ns99_${fresh++}`, now));
}

// `node --import tsx bench/decision.ts` runs it alone (add --quick for fewer calls).
if (import.meta.url === `file://${process.argv[1]}`) runDecisionBench(process.argv.includes("--quick"));
