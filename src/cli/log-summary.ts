// `mcpgate log --summary`: one row per server and tool — calls, allowed, denied, approved (a
// human said yes), and the median and 95th percentile of forwarded calls' duration_ms
// (nearest-rank), "-" when none was forwarded.
import type { ChalkInstance } from "chalk";
import { serverName, type LoggedCall } from "../audit/reader.ts";

export interface SummaryRow {
  server: string;
  tool: string;
  calls: number;
  allowed: number;
  denied: number;
  approved: number;
  p50?: number;
  p95?: number;
}

/** The p-th percentile of sorted values, nearest-rank. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Rows sorted by server, then tool. */
export function summarize(records: readonly LoggedCall[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow & { durations: number[] }>();
  for (const { event, server } of records) {
    const name = serverName(server);
    const tool = typeof event.tool === "string" ? event.tool : "?";
    const key = JSON.stringify([name, tool]);
    let row = rows.get(key);
    if (row === undefined) rows.set(key, (row = { server: name, tool, calls: 0, allowed: 0, denied: 0, approved: 0, durations: [] }));
    row.calls++;
    if (event.decision === "allow") row.allowed++;
    if (event.decision === "deny") row.denied++;
    if (event.approval === "accepted" || event.approval === "session") row.approved++;
    if (typeof event.duration_ms === "number") row.durations.push(event.duration_ms);
  }
  return [...rows.values()]
    .sort((a, b) => (a.server === b.server ? (a.tool < b.tool ? -1 : 1) : a.server < b.server ? -1 : 1))
    .map(({ durations, ...row }) => {
      const sorted = durations.sort((a, b) => a - b);
      const p50 = percentile(sorted, 50);
      const p95 = percentile(sorted, 95);
      return { ...row, ...(p50 === undefined ? {} : { p50 }), ...(p95 === undefined ? {} : { p95 }) };
    });
}

function ms(value: number | undefined): string {
  return value === undefined ? "-" : String(Math.round(value * 10) / 10);
}

/** The summary as a text table (numbers right-aligned), ending in a newline. */
export function summaryTable(rows: readonly SummaryRow[], chalk: ChalkInstance): string {
  if (rows.length === 0) return "no calls\n";
  const header = ["SERVER", "TOOL", "CALLS", "ALLOWED", "DENIED", "APPROVED", "P50_MS", "P95_MS"];
  const cells = rows.map((row) => [row.server, row.tool, String(row.calls), String(row.allowed), String(row.denied), String(row.approved), ms(row.p50), ms(row.p95)]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((cell) => cell[i]!.length)));
  const line = (cell: string[]): string => cell.map((value, i) => (i < 2 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!))).join("  ").trimEnd();
  return `${chalk.bold(line(header))}\n${cells.map(line).join("\n")}\n`;
}
