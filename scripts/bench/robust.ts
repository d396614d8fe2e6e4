/**
 * `npm run bench:robust`: test accuracy of each aggregation rule under each attack with 10/20/30% Byzantine
 * nodes, IID and non-IID (Dirichlet 0.5), on the MLP. `--quick`: 30% only. The adversary is omniscient
 * (sees the honest updates), the strongest case.
 */
import { createAggregator } from "../../node/aggregation/index.ts";
import type { AggregatorName } from "../../node/aggregation/index.ts";
import { ATTACKS, flipLabels, maliciousUpdates } from "../../node/adversary/attacks.ts";
import type { AttackName } from "../../node/adversary/attacks.ts";
import { TrainingPool, loadMnist, runSimulation } from "../../node/training/index.ts";
import type { PartitionScheme, SimulationConfig } from "../../node/training/index.ts";
import { isQuick, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";

const AGGREGATORS: AggregatorName[] = [
  "fedavg",
  "median",
  "trimmed-mean",
  "krum",
  "multi-krum",
  "norm-clipping",
  "centered-clipping",
];
const NODES = 10;

runBenchmark(async () => {
  const quick = isQuick();
  const fractions = quick ? [0.3] : [0.1, 0.2, 0.3];
  const partitions: { name: string; scheme: PartitionScheme }[] = [
    { name: "iid", scheme: { kind: "iid" } },
    { name: "non-iid(0.5)", scheme: { kind: "dirichlet", alpha: 0.5 } },
  ];
  const rounds = quick ? 4 : 6;
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
  const table: Row[] = [];
  const run = async (
    aggregator: AggregatorName,
    attack: AttackName | "none",
    fraction: number,
    partition: (typeof partitions)[number],
  ) => {
    const f = Math.round(NODES * fraction);
    const rule = createAggregator(aggregator, { n: NODES, f: Math.max(f, 1) });
    let previous: Float32Array[] | undefined;
    const { history } = await runSimulation(pool, { ...base, partition: partition.scheme }, data, {
      transformNodeData: (nodes) =>
        attack === "label-flip" ? nodes.map((d, i) => (i < f ? flipLabels(d) : d)) : nodes,
      transformUpdates: (round, updates) => {
        if (attack === "none" || attack === "label-flip" || f === 0) return updates;
        const honest = updates.slice(f).map((u) => u.update);
        const bad = maliciousUpdates(
          attack,
          updates.slice(0, f).map((u) => u.update),
          honest,
          { n: NODES, f, seed: round, previous },
        );
        const out = updates.map((u, i) => (i < f ? { update: bad[i]!, weight: u.weight } : u));
        return out;
      },
      aggregate: (updates) => {
        const aggregate = rule.aggregate(updates).aggregate;
        previous = Array.from({ length: f }, () => aggregate); // a free-rider replays the last aggregate
        return aggregate;
      },
    });
    return history.at(-1)!.accuracy;
  };
  const clean = new Map<string, number>();
  for (const partition of partitions) {
    clean.set(partition.name, await run("fedavg", "none", 0, partition));
  }
  for (const partition of partitions) {
    for (const fraction of fractions) {
      for (const aggregator of AGGREGATORS) {
        const row: Row = { partition: partition.name, byzantine: `${fraction * 100}%`, aggregator };
        for (const attack of ATTACKS) row[attack] = await run(aggregator, attack, fraction, partition);
        const values = ATTACKS.map((a) => row[a] as number);
        row["worst"] = Math.min(...values);
        table.push(row);
        process.stdout.write(
          `${partition.name} ${fraction * 100}% ${aggregator}: worst ${(row["worst"] as number).toFixed(3)}\n`,
        );
      }
    }
  }
  await pool.close();
  printTable(table);
  // The recommended default: best worst-case accuracy at 30% on IID data.
  const at30 = table.filter((r) => r["byzantine"] === "30%" && r["partition"] === "iid");
  const recommended = at30.sort((a, b) => (b["worst"] as number) - (a["worst"] as number))[0]!;
  const cleanAccuracy = clean.get("iid")!;
  process.stdout.write(
    `\nclean FedAvg accuracy ${cleanAccuracy.toFixed(4)}; recommended default: ${recommended["aggregator"]} (worst ${(recommended["worst"] as number).toFixed(4)} at 30%)\n`,
  );
  await writeResults(
    "robust",
    {
      cleanAccuracy,
      cleanAccuracyNonIid: clean.get("non-iid(0.5)")!,
      worstAccuracyAt30: recommended["worst"] as number,
      worstGapAt30Pts: (cleanAccuracy - (recommended["worst"] as number)) * 100,
      recommendedIndex: AGGREGATORS.indexOf(recommended["aggregator"] as AggregatorName),
    },
    table,
  );
});
