// The benchmark's tables (bench/run.ts, bench/global.ts): numbers to a few significant digits, and
// rows as a Markdown table with the labels left-aligned and the numbers right-aligned.

/** A value as a cell: `missing` when it could not be had (NaN). */
export const cell = (value: number, missing = "lost"): string =>
  Number.isNaN(value) ? missing : value >= 1000 ? value.toFixed(0) : value >= 100 ? value.toFixed(1) : value.toFixed(2);

/** The lines of a Markdown table whose first row is its header. */
export function renderTable(table: string[][]): string[] {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const render = (row: string[]): string => `| ${row.map((value, column) => (column === 0 ? value.padEnd(widths[column]!) : value.padStart(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? "-".repeat(width + 2) : `${"-".repeat(width + 1)}:`)).join("|")}|`;
  return [render(table[0]!), rule, ...table.slice(1).map(render)];
}
