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
  return flag("quick", argv);
}

/**
 * The one argument parser of the benchmarks: `--name=value` or `--name value` (a next argument that is not
 * itself an option), the last occurrence winning; undefined when absent.
 */
export function option(name: string, argv: readonly string[] = process.argv): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
    else if (arg === `--${name}` && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--"))
      value = argv[i + 1];
  });
  return value;
}

/** True when `--name` was passed as a switch. */
export function flag(name: string, argv: readonly string[] = process.argv): boolean {
  return argv.includes(`--${name}`);
}

/** A benchmark was started with an option it cannot use; the message names the option and the value. */
export class BenchArgumentError extends Error {
  override readonly name = "BenchArgumentError";
  readonly code = "BENCH_ARGUMENT";
}

/** A numeric option (`--rounds=8`), `fallback` when absent; `BenchArgumentError` when not a finite number. */
export function numberOption(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const text = option(name, argv);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new BenchArgumentError(`--${name} takes a number, got "${text}"`);
  return value;
}

/** A comma-separated list of numbers (`--nodes=8,32`), `fallback` when absent. */
export function numberListOption(
  name: string,
  fallback: readonly number[],
  argv: readonly string[] = process.argv,
): number[] {
  const text = option(name, argv);
  if (text === undefined) return [...fallback];
  const values = text.split(",").map(Number);
  if (values.some((v) => !Number.isFinite(v)))
    throw new BenchArgumentError(`--${name} takes comma-separated numbers, got "${text}"`);
  return values;
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
