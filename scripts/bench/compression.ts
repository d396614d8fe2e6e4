/**
 * `npm run bench:compression`: uplink bytes per node per round and final accuracy of compressed federated
 * training against dense float32 FedAvg (and FedSGD) in the same run, on the MLP with 10 IID nodes.
 * Updates really go through the wire format (encode → decode) each round. Bytes to a target are reported
 * twice: to dense FedAvg's final accuracy (FedSGD may never get there: -1) and to a common target every
 * scheme reaches (the lowest of the schemes' best accuracies), so FedSGD gets a real figure too.
 * `--only task [--rounds R] [--server NAME --server-lr X --server-momentum M] [--rule NAME] [--seed S]
 * [--ratio K --bits B --epochs E --warmup K1,K2] [--network-split] [--sent-cap C --residual-cap B]`: the node's default task (or a candidate default) against dense
 * over R rounds (compression-task.ts; `--network-split`: bench:round's data split and shards for the seed).
 */
import { TopKCompressor, decodeUpdate, densify, encodeUpdate } from "../../node/compression/index.ts";
import { TrainingPool, loadMnist, runSimulation } from "../../node/training/index.ts";
import type { RoundRecord, SimulationConfig } from "../../node/training/index.ts";
import { TASK_SERVER_OPTIMIZERS } from "../../node/training/server/index.ts";
import type { ServerOptimizerName } from "../../node/training/server/index.ts";
import {
  BenchArgumentError,
  flag,
  isQuick,
  numberListOption,
  numberOption,
  option,
  printTable,
  runBenchmark,
  writeResults,
} from "./common.ts";
import { taskCompressionRows } from "./compression-task.ts";
import type { Row } from "./common.ts";

interface Scheme {
  readonly name: string;
  readonly ratio?: number;
  readonly bits?: 2 | 4 | 8;
  readonly momentum?: number;
  readonly localEpochs?: number;
  readonly fedSgd?: boolean;
}

/** Bits per sent value a task spec accepts (`--bits`). */
const VALUE_BITS = [2, 4, 8, 32] as const;

runBenchmark(async () => {
  if (option("only") === "task") {
    const server = option("server");
    if (server !== undefined && !TASK_SERVER_OPTIMIZERS.includes(server as ServerOptimizerName))
      throw new BenchArgumentError(`--server: one of ${TASK_SERVER_OPTIMIZERS.join(", ")}`);
    const lr = option("server-lr") === undefined ? undefined : numberOption("server-lr", 1);
    const momentum = option("server-momentum") === undefined ? undefined : numberOption("server-momentum", 0);
    const overrides = {
      ...(server === undefined ? {} : { optimizer: server as ServerOptimizerName }),
      ...(lr === undefined ? {} : { lr }),
      ...(momentum === undefined ? {} : { momentum }),
    };
    const rule = option("rule");
    const bitsOption = option("bits") === undefined ? undefined : numberOption("bits", 4);
    const bits = VALUE_BITS.find((b) => b === bitsOption);
    if (bitsOption !== undefined && bits === undefined) throw new BenchArgumentError("--bits: 2, 4, 8 or 32");
    const compression = {
      ...(option("ratio") === undefined ? {} : { ratio: numberOption("ratio", 0.005) }),
      ...(bits === undefined ? {} : { quantizeBits: bits }),
      ...(option("warmup") === undefined ? {} : { warmupRatios: numberListOption("warmup", []) }),
    };
    const age = {
      ...(option("sent-cap") === undefined ? {} : { sentNormCap: numberOption("sent-cap", 2) }),
      ...(option("residual-cap") === undefined ? {} : { residualNormCap: numberOption("residual-cap", 1) }),
    };
    const { rows, metrics } = await taskCompressionRows({
      ...(Object.keys(age).length === 0 ? {} : { age }),
      ...(Object.keys(compression).length === 0 ? {} : { compression }),
      ...(option("epochs") === undefined ? {} : { epochs: numberOption("epochs", 1) }),
      ...(flag("network-split") ? { networkSplit: true } : {}),
      rounds: numberOption("rounds", 30),
      ...(Object.keys(overrides).length === 0 ? {} : { server: overrides }),
      ...(option("seed") === undefined ? {} : { seed: numberOption("seed", 1) }),
      ...(rule === undefined ? {} : { rule }),
    });
    printTable(rows);
    await writeResults("compression-task", metrics, rows);
    return;
  }
  const quick = isQuick();
  const rounds = quick ? 8 : 20;
  const pool = new TrainingPool();
  const data = loadMnist({ seed: 1 });
  const base: SimulationConfig = {
    model: { kind: "mlp" },
    optimizer: { kind: "sgd", momentum: 0.9 },
    server: "fedavg",
    nodes: 10,
    rounds,
    partition: { kind: "iid" },
    localEpochs: 1,
    batchSize: 32,
    learningRate: 0.05,
    seed: 1,
  };
  const schemes: Scheme[] = [
    { name: "dense fp32 FedAvg (baseline)" },
    { name: "FedSGD dense fp32", fedSgd: true },
    { name: "QSGD 8-bit (dense)", ratio: 1, bits: 8 },
    { name: "top-k 1% + EF, fp32", ratio: 0.01 },
    { name: "top-k 1% + EF, 4-bit", ratio: 0.01, bits: 4 },
    { name: "top-k 0.5% + EF, 4-bit", ratio: 0.005, bits: 4 },
    { name: "top-k 0.5% + EF + DGC momentum, 4-bit", ratio: 0.005, bits: 4, momentum: 0.5 },
    { name: "top-k 0.5% + EF, 4-bit, 3 local epochs", ratio: 0.005, bits: 4, localEpochs: 3 },
    { name: "top-k 0.25% + EF, 2-bit, 3 local epochs", ratio: 0.0025, bits: 2, localEpochs: 3 },
  ];
  const results: { scheme: Scheme; history: readonly RoundRecord[]; bytes: number[] }[] = [];
  let encodeSeconds = 0;
  let decodeSeconds = 0;
  let codedMegabytes = 0;
  for (const scheme of schemes) {
    const compressors = Array.from(
      { length: base.nodes },
      (_, i) =>
        new TopKCompressor({
          ratio: scheme.ratio ?? 1,
          quantizeBits: scheme.bits,
          momentum: scheme.momentum,
          seed: i + 1,
        }),
    );
    const bytesPerRound: number[] = [];
    const config: SimulationConfig = scheme.fedSgd
      ? {
          ...base,
          rounds: rounds * 3,
          optimizer: { kind: "sgd", momentum: 0 },
          localEpochs: undefined,
          localSteps: 1,
          batchSize: 100_000,
          learningRate: 0.5,
        }
      : { ...base, localEpochs: scheme.localEpochs ?? 1 };
    const { history } = await runSimulation(pool, config, data, {
      transformUpdates: (_round, updates) => {
        if (scheme.ratio === undefined) {
          bytesPerRound.push(updates[0]!.update.length * 4);
          return updates;
        }
        let total = 0;
        const out = updates.map((u, node) => {
          const t0 = performance.now();
          const bytes = encodeUpdate(compressors[node]!.compress(u.update));
          const t1 = performance.now();
          const decoded = densify(decodeUpdate(bytes));
          const t2 = performance.now();
          encodeSeconds += (t1 - t0) / 1000;
          decodeSeconds += (t2 - t1) / 1000;
          codedMegabytes += (u.update.length * 4) / 1e6;
          total += bytes.length;
          return { update: decoded, weight: u.weight };
        });
        bytesPerRound.push(total / updates.length);
        return out;
      },
      uplinkBytesPerNode: (round) => bytesPerRound[round - 1] ?? 0,
      onRound: (r) =>
        process.stdout.write(
          `${scheme.name}: round ${r.round}/${config.rounds} accuracy ${(r.accuracy * 100).toFixed(2)}%\n`,
        ),
    });
    results.push({ scheme, history, bytes: bytesPerRound });
  }
  await pool.close();

  const dense = results[0]!;
  const denseFinal = dense.history.at(-1)!.accuracy;
  const denseBytes = dense.bytes[0]!;
  const bytesToReach = (r: (typeof results)[number], target: number) => {
    let total = 0;
    for (const rec of r.history) {
      total += r.bytes[rec.round - 1] ?? 0;
      if (rec.accuracy >= target) return total;
    }
    return -1;
  };
  const denseToTarget = bytesToReach(dense, denseFinal);
  // A target every scheme reaches (FedSGD may never reach dense FedAvg's final accuracy): the lowest of the
  // schemes' best accuracies, so bytes-to-target compares all of them, FedSGD included, on one footing.
  const commonTarget = Math.min(...results.map((r) => Math.max(...r.history.map((h) => h.accuracy))));
  const table: Row[] = results.map((r) => {
    const final = r.history.at(-1)!.accuracy;
    const meanBytes = r.bytes.reduce((a, b) => a + b, 0) / r.bytes.length;
    const toTarget = bytesToReach(r, denseFinal);
    return {
      scheme: r.scheme.name,
      rounds: r.history.length,
      bytesPerNodePerRound: Math.round(meanBytes),
      compressionRatio: denseBytes / meanBytes,
      finalAccuracy: final,
      deltaVsDensePts: (final - denseFinal) * 100,
      bestAccuracy: Math.max(...r.history.map((h) => h.accuracy)),
      bytesToDenseFinal: toTarget,
      bytesToCommonTarget: bytesToReach(r, commonTarget),
    };
  });
  printTable(table);
  process.stdout.write(
    `\ncommon target (every scheme's best accuracy reaches it): ${(commonTarget * 100).toFixed(2)}%; dense final ${(denseFinal * 100).toFixed(2)}%\n`,
  );
  const within = table.filter(
    (row) =>
      (row["deltaVsDensePts"] as number) >= -1 &&
      row["scheme"] !== dense.scheme.name &&
      !(row["scheme"] as string).startsWith("FedSGD"),
  );
  const best = within.sort(
    (a, b) => (b["compressionRatio"] as number) - (a["compressionRatio"] as number),
  )[0];
  const reaching = table.filter(
    (row) => (row["bytesToDenseFinal"] as number) > 0 && row["scheme"] !== dense.scheme.name,
  );
  const bestToTarget = Math.min(...reaching.map((row) => row["bytesToDenseFinal"] as number));
  const fedSgdRow = table.find((row) => (row["scheme"] as string).startsWith("FedSGD"))!;
  const denseRow = table[0]!;
  const toCommon = (row: Row) => row["bytesToCommonTarget"] as number;
  const bestToCommon = Math.min(
    ...table.filter((row) => row !== denseRow && row !== fedSgdRow).map(toCommon),
  );
  await writeResults(
    "compression",
    {
      bestRatioWithin1pt: best === undefined ? -1 : (best["compressionRatio"] as number),
      bytesToTargetRatio: reaching.length === 0 ? -1 : denseToTarget / bestToTarget,
      denseAccuracy: denseFinal,
      bestAccuracy: best === undefined ? -1 : (best["finalAccuracy"] as number),
      encodeMBps: codedMegabytes / encodeSeconds,
      decodeMBps: codedMegabytes / decodeSeconds,
      // -1 when FedSGD never reaches dense FedAvg's final accuracy (the contract's "never reached").
      fedSgdBytesToDenseFinal: fedSgdRow["bytesToDenseFinal"] as number,
      fedSgdFinalAccuracy: fedSgdRow["finalAccuracy"] as number,
      commonTargetAccuracy: commonTarget,
      denseBytesToCommonTarget: toCommon(denseRow),
      fedSgdBytesToCommonTarget: toCommon(fedSgdRow),
      bestBytesToCommonTarget: bestToCommon,
      bytesToCommonTargetRatioDense: toCommon(denseRow) / bestToCommon,
      bytesToCommonTargetRatioFedSgd: toCommon(fedSgdRow) / bestToCommon,
      denseBytesPerNodePerRound: denseBytes,
    },
    table,
  );
});
