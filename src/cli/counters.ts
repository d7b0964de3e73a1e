// `mcpgate counters --policy FILE`: each global counter's use now, as every gateway sharing the
// store sees it, and when it frees up (SPEC §14). It reads the store (a peek: nothing is counted)
// and writes only to stdout.
import { logCapacity } from "../limits/counters.ts";
import { GLOBAL_PREFIX } from "../policy/compile-limits.ts";
import type { CompiledLimit, CompiledPolicy } from "../policy/compile.ts";
import { formatDelay } from "../policy/duration.ts";
import type { StoreCall } from "../store/call.ts";
import { EXIT_INVALID, EXIT_OK } from "./exit-codes.ts";
import { printError, stderrLogger } from "./log.ts";
import { requirePolicy } from "./policy.ts";
import { StoreLink } from "./store-link.ts";

export interface CountersOptions {
  policy?: string;
  json?: boolean;
}

/** One limit of a global counter, as it stands. */
export interface CounterRow {
  counter: string;
  rule: string;
  max: number;
  window: string;
  used: number;
  /** When one more call (or unit of a budget) fits again, if it does not now. */
  freesInMs?: number;
}

/** The store calls that read every global limit of `policy`: one per counter, each limit once. */
export function peekCalls(policy: CompiledPolicy): Array<{ call: StoreCall; limits: CompiledLimit[] }> {
  const byCounter = new Map<string, CompiledLimit[]>();
  for (const limit of policy.sharedLimits) {
    const limits = byCounter.get(limit.counter) ?? [];
    if (!limits.some((other) => other.windowMs === limit.windowMs && other.max === limit.max)) limits.push(limit);
    byCounter.set(limit.counter, limits);
  }
  return [...byCounter].map(([counter, limits]) => {
    const spec = policy.counters.get(counter)!;
    const call: StoreCall = {
      counters: [{ counter, amount: 1, capacity: logCapacity(spec), horizonMs: spec.horizonMs }],
      limits: limits.map((limit) => ({ counter: 0, windowMs: limit.windowMs, max: limit.max })),
    };
    return { call, limits };
  });
}

/** The rows as a table, a line per limit. */
export function formatRows(rows: CounterRow[]): string {
  const table = [["COUNTER", "LIMIT", "USED", "FREES UP", "RULE"], ...rows.map((row) => [row.counter, `${row.max} per ${row.window}`, `${row.used} of ${row.max}`, row.freesInMs === undefined ? "now" : `in ${formatDelay(row.freesInMs)}`, row.rule])];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  return table.map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")).join("\n");
}

export async function counters(options: CountersOptions): Promise<number> {
  const loaded = requirePolicy(options.policy);
  if (typeof loaded === "number") return loaded;
  const { path, policy } = loaded;
  if (!policy.global) {
    process.stdout.write(options.json === true ? "[]\n" : `${path}: no scope: global limits; every counter of this policy is per session\n`);
    return EXIT_OK;
  }
  const link = new StoreLink(process.env, stderrLogger(false));
  const linked = await link.for(policy);
  if ("problem" in linked) {
    printError(`${path}: ${linked.problem}`);
    return EXIT_INVALID;
  }
  const store = linked.store as import("../store/store.ts").CounterStore;
  try {
    const rows: CounterRow[] = [];
    for (const { call, limits } of peekCalls(policy)) {
      const result = await store.peek(call);
      if (result.outcome === "failed") {
        printError(result.failure.message);
        return EXIT_INVALID;
      }
      result.limits.forEach((state, index) => {
        const limit = limits[index]!;
        const row: CounterRow = { counter: limit.counter.slice(GLOBAL_PREFIX.length), rule: limit.rule, max: limit.max, window: limit.window, used: state.used };
        if (!state.passed && state.retryAfterMs !== undefined) row.freesInMs = state.retryAfterMs;
        rows.push(row);
      });
    }
    if (options.json === true) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else process.stdout.write(`store ${store.name}, namespace ${policy.store.namespace}\n${formatRows(rows)}\n`);
    return EXIT_OK;
  } finally {
    await link.close();
  }
}
