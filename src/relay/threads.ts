// The gateway's helper threads step aside for the processes it serves. Besides the main thread,
// which relays every message, a Node process has threads of its own: V8's optimizing compiler
// and garbage-collector helpers, and libuv's pool (file writes for the audit log). On a small
// machine they compete for the cores with the client, the server and the main thread, and a
// message then waits for a core. On the project's 2-core benchmark machine, a compile job
// taking a core held up the calls relayed meanwhile: with these threads at the lowest
// priority, the p99 round trip of the first 3,000 calls fell by 11-20% in alternating runs,
// throughput and large results unchanged (bench/README.md). No message waits on them directly;
// the price is that optimised code arrives later while they are busy: with the client on the
// gateway's core (benchmark --pin) the p50 of those calls rose by about 5 µs, unpinned not at all.
//
// Linux only: there each thread has a niceness of its own, set through its id. Elsewhere the
// threads keep the process's priority.
import { readdirSync } from "node:fs";
import { constants, setPriority } from "node:os";

/** Gives every thread of this process but the main one the lowest priority; returns how many. */
export function yieldHelperThreads(): number {
  if (process.platform !== "linux") return 0;
  let threads: string[];
  try {
    threads = readdirSync("/proc/self/task");
  } catch {
    return 0; // no /proc mounted
  }
  let lowered = 0;
  for (const thread of threads) {
    const id = Number(thread);
    if (id === process.pid) continue;
    try {
      setPriority(id, constants.priority.PRIORITY_LOW);
      lowered++;
    } catch {
      // The thread ended since the listing.
    }
  }
  return lowered;
}
