/**
 * `npm run bench:robust`: test accuracy of each aggregation rule under each attack with 10/20/30% Byzantine
 * nodes, IID and non-IID (Dirichlet 0.5), on the MLP. `--quick`: 30% only, fewer rules and rounds.
 *
 * The adversary is omniscient (sees the honest updates, the strongest case) and every Byzantine node also
 * claims `SAMPLE_INFLATION` × its real sample count, so weight-aware rules face inflated self-reported
 * counts too. Two reference rows per setting: `clean` (FedAvg over all nodes, no attack) and
 * `honest-only` (FedAvg over the honest nodes alone: what a perfect filter achieves, since the Byzantine
 * nodes' data is lost to any rule; under non-IID data it is the ceiling, below the clean run).
 */
import { AGGREGATOR_NAMES, createAggregator } from "../../node/aggregation/index.ts";
import type { AggregatorName } from "../../node/aggregation/index.ts";
import { ATTACKS, flipLabels, maliciousUpdates } from "../../node/adversary/attacks.ts";
import type { AttackName } from "../../node/adversary/attacks.ts";
import { TrainingPool, loadMnist, runSimulation } from "../../node/training/index.ts";
import type { PartitionScheme, SimulationConfig } from "../../node/training/index.ts";
import type { WeightedUpdate } from "../../node/core/updates.ts";
import { fedAvg } from "../../node/core/updates.ts";
import { isQuick, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";

const NODES = 10;
/** Factor by which Byzantine nodes inflate their self-reported sample counts. */
const SAMPLE_INFLATION = 10;
/**
 * The recommended default, fixed before the run (not picked from the table): the node's own rule, a
 * weighted mean of screened updates, which is also the rule the zk proof covers.
 */
const RECOMMENDED: AggregatorName = "screened-mean";
/** `--quick` keeps the baseline, the strongest classic rules and the recommended one (under 2 minutes). */
const QUICK_AGGREGATORS: readonly AggregatorName[] = [
  "fedavg",
  "median",
  "centered-clipping",
  "bucketed-centered-clipping",
  "screened-mean",
];

type Setting = { name: string; scheme: PartitionScheme };

runBenchmark(async () => {
  const quick = isQuick();
  const fractions = quick ? [0.3] : [0.1, 0.2, 0.3];
  const aggregators = quick ? QUICK_AGGREGATORS : AGGREGATOR_NAMES;
  const partitions: Setting[] = [
    { name: "iid", scheme: { kind: "iid" } },
    { name: "non-iid(0.5)", scheme: { kind: "dirichlet", alpha: 0.5 } },
  ];
  const rounds = quick ? 4 : 8;
  const pool = new TrainingPool();
  const data = loadMnist({ seed: 1 });
  const base: SimulationConfig = {
    model: { kind: "mlp", hidden: [64] },
    optimizer: { kind: "sgd", momentum: 0.9 },
    server: "fedavg",
    nodes: NODES,
    rounds,
    partition: { kind: "iid" },
    localEpochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    seed: 1,
  };
  process.stdout.write(
    `bench:robust ${quick ? "(quick) " : ""}${NODES} nodes, ${rounds} rounds, MLP 784-64-10, Byzantine ${fractions.map((f) => `${f * 100}%`).join("/")}, sample counts inflated x${SAMPLE_INFLATION} by attackers\n`,
  );

  /** Final accuracy of one run; `aggregate` receives the updates after the attack. */
  const simulate = async (
    partition: Setting,
    f: number,
    attack: AttackName | "none",
    aggregate: (updates: readonly WeightedUpdate[]) => Float32Array,
  ): Promise<number> => {
    let previous: Float32Array[] | undefined;
    const { history } = await runSimulation(pool, { ...base, partition: partition.scheme }, data, {
      transformNodeData: (nodes) =>
        attack === "label-flip" ? nodes.map((d, i) => (i < f ? flipLabels(d) : d)) : nodes,
      transformUpdates: (round, updates) => {
        if (attack === "none" || f === 0) return updates;
        const inflated = updates.map((u, i) =>
          i < f ? { update: u.update, weight: u.weight * SAMPLE_INFLATION } : u,
        );
        if (attack === "label-flip") return inflated;
        const bad = maliciousUpdates(
          attack,
          updates.slice(0, f).map((u) => u.update),
          updates.slice(f).map((u) => u.update),
          { n: NODES, f, seed: round, previous },
        );
        return inflated.map((u, i) => (i < f ? { update: bad[i]!, weight: u.weight } : u));
      },
      aggregate: (updates) => {
        const out = aggregate(updates);
        previous = Array.from({ length: f }, () => out); // a free-rider replays the last aggregate
        return out;
      },
    });
    return history.at(-1)!.accuracy;
  };

  const table: Row[] = [];
  const clean = new Map<string, number>();
  for (const partition of partitions) {
    const accuracy = await simulate(partition, 0, "none", fedAvg);
    clean.set(partition.name, accuracy);
    const cleanRecommended = await simulate(
      partition,
      0,
      "none",
      (u) => createAggregator(RECOMMENDED, { n: NODES, f: 1 }).aggregate(u).aggregate,
    );
    table.push({ partition: partition.name, byzantine: "0%", aggregator: "clean fedavg", worst: accuracy });
    table.push({
      partition: partition.name,
      byzantine: "0%",
      aggregator: `clean ${RECOMMENDED}`,
      worst: cleanRecommended,
    });
    process.stdout.write(
      `${partition.name} clean: fedavg ${accuracy.toFixed(4)}, ${RECOMMENDED} ${cleanRecommended.toFixed(4)}\n`,
    );
  }
  for (const partition of partitions) {
    for (const fraction of fractions) {
      const f = Math.round(NODES * fraction);
      const honestOnly = await simulate(partition, f, "none", (u) => fedAvg(u.slice(f)));
      table.push({
        partition: partition.name,
        byzantine: `${fraction * 100}%`,
        aggregator: "honest-only",
        worst: honestOnly,
      });
      process.stdout.write(`${partition.name} ${fraction * 100}% honest-only: ${honestOnly.toFixed(3)}\n`);
      for (const aggregator of aggregators) {
        const row: Row = { partition: partition.name, byzantine: `${fraction * 100}%`, aggregator };
        for (const attack of ATTACKS) {
          // A fresh rule per run: bucketing's permutation stream restarts with each simulation.
          const rule = createAggregator(aggregator, { n: NODES, f: Math.max(f, 1), seed: 7 });
          row[attack] = await simulate(partition, f, attack, (u) => rule.aggregate(u).aggregate);
        }
        row["worst"] = Math.min(...ATTACKS.map((a) => row[a] as number));
        table.push(row);
        process.stdout.write(
          `${partition.name} ${fraction * 100}% ${aggregator}: worst ${(row["worst"] as number).toFixed(3)}\n`,
        );
      }
    }
  }
  await pool.close();
  process.stdout.write("\nreference runs (no attack; honest-only = FedAvg over the honest nodes alone)\n");
  printTable(table.filter((r) => r["label-flip"] === undefined));
  process.stdout.write("\nfinal accuracy, aggregator x attack\n");
  printTable(table.filter((r) => r["label-flip"] !== undefined));

  const find = (partition: string, aggregator: string, byzantine = "30%") =>
    table.find(
      (r) => r["partition"] === partition && r["aggregator"] === aggregator && r["byzantine"] === byzantine,
    )!["worst"] as number;
  const rules30 = (partition: string) =>
    table.filter(
      (r) =>
        r["partition"] === partition &&
        r["byzantine"] === "30%" &&
        (aggregators as readonly string[]).includes(r["aggregator"] as string),
    );
  const best = (partition: string) =>
    rules30(partition).sort((a, b) => (b["worst"] as number) - (a["worst"] as number))[0]!;
  const cleanAccuracy = clean.get("iid")!;
  const cleanNonIid = clean.get("non-iid(0.5)")!;
  const worst = find("iid", RECOMMENDED);
  const worstNonIid = find("non-iid(0.5)", RECOMMENDED);
  const bestNonIid = best("non-iid(0.5)");
  process.stdout.write(
    `\nclean FedAvg ${cleanAccuracy.toFixed(4)} (IID), ${cleanNonIid.toFixed(4)} (non-IID)\n` +
      `recommended ${RECOMMENDED}: worst at 30% ${worst.toFixed(4)} IID (gap ${((cleanAccuracy - worst) * 100).toFixed(2)} pt), ` +
      `${worstNonIid.toFixed(4)} non-IID (gap ${((cleanNonIid - worstNonIid) * 100).toFixed(2)} pt; honest-only ceiling ${find("non-iid(0.5)", "honest-only").toFixed(4)})\n` +
      `best non-IID rule at 30%: ${bestNonIid["aggregator"]} (${(bestNonIid["worst"] as number).toFixed(4)})\n`,
  );
  await writeResults(
    "robust",
    {
      cleanAccuracy,
      cleanAccuracyNonIid: cleanNonIid,
      cleanAccuracyRecommended: find("iid", `clean ${RECOMMENDED}`, "0%"),
      worstAccuracyAt30: worst,
      worstGapAt30Pts: (cleanAccuracy - worst) * 100,
      honestOnlyAccuracyAt30: find("iid", "honest-only"),
      worstAccuracyAt30NonIid: worstNonIid,
      worstGapAt30NonIidPts: (cleanNonIid - worstNonIid) * 100,
      honestOnlyAccuracyAt30NonIid: find("non-iid(0.5)", "honest-only"),
      bestWorstAccuracyAt30NonIid: bestNonIid["worst"] as number,
      bestNonIidIndex: AGGREGATOR_NAMES.indexOf(bestNonIid["aggregator"] as AggregatorName),
      recommendedIndex: AGGREGATOR_NAMES.indexOf(RECOMMENDED),
      rounds,
      samplesInflation: SAMPLE_INFLATION,
    },
    table,
  );
});
