/**
 * `npm run bench:attacks` (issue #18, ../shared/BENCHMARKS.md `attacks` row): every attack strategy on the
 * round game, each on a real `hardhat node` with the real Groth16 verifier. Contract-level strategies are the
 * attacker's real transactions against scripted honest operators (attacks-selection.ts, attacks-faults.ts,
 * attacks-proofs.ts); node-level strategies run real nodes with node/adversary/ behaviours
 * (attacks-nodes.ts), including a cheating aggregator against one honest watcher over ≥ 20 rounds. For each:
 * the attacker's net profit in VAIN per round (gas valued at 0), the honest operators' stake lost, and
 * whether the task's model was corrupted.
 *
 * Usage: npm run bench:attacks [-- --quick] [-- --only=<substring>] [-- --detection-rounds=20]
 *   [-- --max-minutes=N] (no round starts after N minutes: quick 2, full 36; results are always written)
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { freePort } from "../../node/demo/demo.ts";
import { brokenRow, scoreStrategy } from "./attacks-harness.ts";
import type { AttackRow, Strategy } from "./attacks-harness.ts";
import { equivocationSelfReport, selfReportMissedDeadline, sybilSlots } from "./attacks-faults.ts";
import { bondFlood, rerollCommitment, wrongModelRef } from "./attacks-proofs.ts";
import { grindSelection, lateSelection, staleCandidates } from "./attacks-selection.ts";
import { runNodeStrategies } from "./attacks-nodes.ts";
import { AttackWorld } from "./attacks-world.ts";
import { isQuick, numberOption, option, printTable, runBenchmark, writeResults } from "./common.ts";

/** The contract-level strategies, in the order they run. */
export const CHAIN_STRATEGIES: readonly Strategy<AttackWorld>[] = [
  grindSelection,
  lateSelection,
  selfReportMissedDeadline,
  equivocationSelfReport,
  sybilSlots,
  staleCandidates,
  bondFlood,
  rerollCommitment,
  wrongModelRef,
];

/** Runs `strategies` on one chain, `rounds` rounds each; a strategy that cannot run gets a broken row. */
export async function runChainStrategies(
  strategies: readonly Strategy<AttackWorld>[],
  rounds: number,
  onRow: (row: AttackRow) => void = () => undefined,
): Promise<AttackRow[]> {
  const world = await AttackWorld.start(await freePort());
  const rows: AttackRow[] = [];
  try {
    for (const strategy of strategies) {
      const row = await scoreStrategy(strategy, world, rounds, {
        publicClient: world.net.publicClient,
        contracts: world.net.addresses,
      }).catch((error: unknown) => brokenRow(strategy.name, error));
      await world.clearCandidates();
      rows.push(row);
      onRow(row);
    }
  } finally {
    await world.stop();
  }
  return rows;
}

/** The figures of the `attacks` row from its table (-1 for a figure no row could measure). */
export function attackFigures(rows: readonly AttackRow[], detectionRate: number): Record<string, number> {
  const measured = rows.filter((r) => Number.isFinite(r.attackerProfitVain));
  return {
    maxAttackerProfitVain:
      measured.length === 0 ? -1 : Math.max(...measured.map((r) => r.attackerProfitVain)),
    honestStakeLostVain: measured.reduce((sum, r) => sum + r.honestStakeLostVain, 0),
    cheaterDetectionRate: detectionRate,
    modelsCorrupted: measured.reduce((sum, r) => sum + r.modelCorrupted, 0),
    strategies: rows.length,
    strategiesNotRun: rows.length - measured.length,
  };
}

/**
 * Total wall time the bench may take before its node part stops starting rounds (`--max-minutes`): a quick run
 * is a smoke test for CI; a full run must end inside the long lock's 40-minute cap with its results written.
 */
const QUICK_CAP_MINUTES = 2;
const FULL_CAP_MINUTES = 36;
/** How long the process may outlive its written results before the watchdog names the leak and exits. */
const EXIT_GRACE_MS = 30_000;

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (isMain) {
  runBenchmark(async () => {
    const started = Date.now();
    const quick = isQuick();
    const only = option("only");
    const pick = <T extends { name: string }>(list: readonly T[]) =>
      only === undefined ? list : list.filter((s) => s.name.includes(only));
    const progress = (row: AttackRow) =>
      process.stdout.write(
        `  ${row.attack}: profit ${row.attackerProfitVain} VAIN/round, honest lost ${row.honestStakeLostVain}, corrupted ${row.modelCorrupted} (${row.seconds} s) — ${row.note}\n`,
      );
    process.stdout.write(
      "contract-level strategies (real chain, real verifier, scripted honest operators)\n",
    );
    const rows = await runChainStrategies(pick(CHAIN_STRATEGIES), quick ? 1 : 2, progress);
    let detectionRate = -1;
    const detectionRounds = numberOption("detection-rounds", quick ? 2 : 21);
    if (only === undefined || "real nodes".includes(only)) {
      process.stdout.write(
        `node-level strategies (real nodes; cheating aggregator vs one honest watcher, ${detectionRounds} rounds)\n`,
      );
      // Quick: no warm-up and no withholding round (attacks-nodes.test.ts plays that one).
      const nodes = await runNodeStrategies(
        detectionRounds,
        quick ? 0 : 1,
        (line) => process.stdout.write(`${line}\n`),
        !quick,
        started + numberOption("max-minutes", quick ? QUICK_CAP_MINUTES : FULL_CAP_MINUTES) * 60_000,
      );
      for (const row of nodes.rows) progress(row);
      if (nodes.aborted !== undefined) process.stdout.write(`  stopped early: ${nodes.aborted}\n`);
      rows.push(...nodes.rows);
      detectionRate = nodes.detectionRate;
    }
    process.stdout.write("\n");
    printTable(rows);
    await writeResults("attacks", attackFigures(rows, detectionRate), rows);
    exitWatchdog();
  });
}

/**
 * Everything the bench started (chain process, nodes, timers) is stopped by now, so the process should exit by
 * itself. If something leaked, it would keep the bench alive (CI's cut then hides the results): after
 * EXIT_GRACE_MS this names what is still open and exits. Unref'd, so it never holds a clean process.
 */
function exitWatchdog(): void {
  setTimeout(() => {
    process.stderr.write(
      `bench:attacks: still running ${EXIT_GRACE_MS / 1000} s after its results: ${process.getActiveResourcesInfo().join(", ")}; exiting\n`,
    );
    process.exit(2);
  }, EXIT_GRACE_MS).unref();
}
