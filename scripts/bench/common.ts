/**
 * The benchmark contract (../shared/BENCHMARKS.md): a table on screen, `bench/results/<name>.json` on disk,
 * `--quick` for a reduced run, exit non-zero only when the benchmark could not run.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const RESULTS_DIR = fileURLToPath(new URL("../../bench/results/", import.meta.url));

export type Row = Record<string, string | number>;

/** True when `--quick` was passed. */
export function isQuick(argv: readonly string[] = process.argv): boolean {
  return argv.includes("--quick");
}

/** Prints rows as an aligned table. */
export function printTable(rows: readonly Row[]): void {
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) =>
    typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : (v ?? "");
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ");
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => "-".repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(columns.map((c) => cell(r[c])))}\n`);
}

/** Writes `bench/results/<name>.json` with machine info, figures and the table. */
export async function writeResults(
  name: string,
  figures: Record<string, number>,
  table: readonly Row[],
): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${name}.json`;
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? "unknown",
    memGiB: Math.round(totalmem() / 2 ** 30),
  };
  await writeFile(
    path,
    `${JSON.stringify({ name, date: new Date().toISOString(), machine, figures, table }, null, 2)}\n`,
  );
  process.stdout.write(`\nfigures: ${JSON.stringify(figures)}\nwrote ${path}\n`);
  return path;
}

/** Runs a benchmark main, printing a one-line reason and exiting 1 if it cannot run. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `benchmark could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
