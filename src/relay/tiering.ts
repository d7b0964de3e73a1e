// How soon V8 optimizes the relay's functions (and, on Node 20, how its young generation
// grows). By default a function runs in the interpreter until it has executed about 200 KB of
// bytecode (V8 11, Node 20) or been called 3,000 times (V8 12 and 13, Node 22 and 24). The
// relay's functions run once or twice per message, a few
// hundred bytes each, so a session would spend its first thousand or more messages at several
// times the cost, and then compete with the optimizing compiler for the CPU. Lowered once
// start-up is done, the relay's main functions were optimized by about the 2,500th message
// instead of the 10,000th, and on the project's 2-core benchmark machine the latency a
// tools/call adds fell by a sixth at p50 and a third at p99 (bench/README.md).
//
// The flags differ between V8 versions, and V8 names an unknown flag on stderr, so they are
// set only on the versions known to have them; on any other the defaults stay.
import { setFlagsFromString } from "node:v8";

const FLAGS_BY_V8_MAJOR: Record<number, string[]> = {
  // 24 KB once: lower (8 KB) had large results streamed 50% slower, the optimizing compiler
  // taking the CPU from the transfer to compile functions with too little type feedback.
  // And the young generation stays the size start-up left it: let grow under pipelined calls,
  // each scavenge took 2-4 ms and promoted up to 1 MB that died soon after; kept small,
  // pipelined throughput rose by about 10% (Node 22 and 24 showed no such gain).
  11: ["--interrupt-budget=24576", "--ticks-before-optimization=1", "--semi-space-growth-factor=1"],
  12: ["--invocation-count-for-turbofan=100"],
  13: ["--invocation-count-for-turbofan=100"],
};

/** Lowers V8's optimization thresholds for the rest of this process, where known to be safe. */
export function optimizeSooner(v8Version = process.versions.v8): string[] {
  const flags = FLAGS_BY_V8_MAJOR[Number.parseInt(v8Version, 10)] ?? [];
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}
