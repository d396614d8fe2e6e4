/**
 * bench:simulate's transformer rows: federated next-character accuracy on held-out WordNet glosses, 10
 * nodes each holding whole topics (non-IID, like LEAF's Shakespeare by role), FedAvg and the adaptive /
 * outer-momentum server optimizers, against centralized training of the same model on the same data for the
 * same compute.
 *
 * Same compute: every federated round is one local epoch on every node, so round r has processed as many
 * tokens as r epochs of the centralized model; the centralized model is evaluated after every epoch and the
 * gap is read at every budget (`gap after r rounds`). The federated model takes ~10x fewer sequential steps
 * (each node walks its tenth of the data per round), so the gap is widest while the centralized model is
 * still climbing and closes as it flattens. Each simulated node keeps its Adam moments between rounds, as a
 * network node does.
 *
 * `--text-rounds <R>` sets the budget (default 10, quick 3).
 */
import { createModel, loadWordnetTask, runSimulation } from "../../node/training/index.ts";
import type {
  ModelSpec,
  OptimizerState,
  ServerOptimizerName,
  SimulationConfig,
  TrainingPool,
} from "../../node/training/index.ts";
import { option } from "./common.ts";
import type { Row } from "./common.ts";

/** Small enough that the five runs take minutes on two cores; the gap to centralized is what is measured. */
const TEXT_MODEL: ModelSpec = { kind: "transformer", width: 64, layers: 2, heads: 2, context: 32 };
const LOCAL_LR = 0.003;
const BATCH = 32;
const NODES = 10;

export interface TextFigures {
  readonly rows: Row[];
  readonly metrics: Record<string, number>;
}

export async function textRows(pool: TrainingPool, quick: boolean): Promise<TextFigures> {
  const rounds = Number(option("text-rounds") ?? (quick ? 3 : 10));
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--text-rounds must be >= 1`);
  const data = loadWordnetTask({ context: 32, maxGlossesPerTopic: quick ? 40 : 200, seed: 1 });
  const rows: Row[] = [];
  const tokens = data.train.count * 32;
  const base: SimulationConfig = {
    model: TEXT_MODEL,
    optimizer: { kind: "adam" },
    server: "fedavg",
    nodes: NODES,
    rounds,
    partition: { kind: "group" },
    localEpochs: 1,
    batchSize: BATCH,
    learningRate: LOCAL_LR,
    seed: 1,
    keepLocalState: true,
  };
  const curves = new Map<ServerOptimizerName, number[]>();
  const federated = async (server: ServerOptimizerName) => {
    const started = performance.now();
    const result = await runSimulation(pool, { ...base, server }, data, {
      onRound: (r) =>
        process.stdout.write(
          `\rtext ${server}: round ${r.round}/${rounds} accuracy ${(r.accuracy * 100).toFixed(2)}%   `,
        ),
    });
    process.stdout.write("\n");
    const curve = result.history.map((r) => r.accuracy);
    curves.set(server, curve);
    rows.push({
      run: `transformer ${server}, ${NODES} nodes by topic`,
      rounds,
      finalAccuracy: curve.at(-1)!,
      bestAccuracy: Math.max(...curve),
      roundsToTarget: -1,
      seconds: (performance.now() - started) / 1000,
    });
  };
  for (const server of ["fedavg", "fedadam", "fedyogi", "diloco"] as const) await federated(server);

  // Centralized: one trainer, one epoch per call with its Adam state kept, evaluated after every epoch.
  const started = performance.now();
  let params = createModel(TEXT_MODEL).init(1);
  let state: OptimizerState | undefined;
  const central: number[] = [];
  for (let epoch = 1; epoch <= rounds; epoch++) {
    const trained = await pool.train({
      model: TEXT_MODEL,
      optimizer: { kind: "adam" },
      params,
      state,
      data: data.train,
      options: { epochs: 1, batchSize: BATCH, learningRate: LOCAL_LR, seed: epoch, keepState: true },
    });
    params = trained.params;
    state = trained.state;
    central.push((await pool.evaluate(TEXT_MODEL, params, data.test)).accuracy);
    process.stdout.write(
      `\rtext centralized: epoch ${epoch}/${rounds} ${(central.at(-1)! * 100).toFixed(2)}%   `,
    );
  }
  process.stdout.write("\n");
  rows.push({
    run: `transformer centralized (${rounds} epochs, same compute)`,
    rounds,
    finalAccuracy: central.at(-1)!,
    bestAccuracy: Math.max(...central),
    roundsToTarget: -1,
    seconds: (performance.now() - started) / 1000,
  });

  // The gap at every budget: centralized after r epochs minus the best federated model after r rounds.
  const bestAt = (r: number) => Math.max(...[...curves.values()].map((c) => c[r - 1]!));
  for (let r = 1; r <= rounds; r++) {
    rows.push({
      run: `same compute: ${r} rounds = ${r} epochs`,
      rounds: r,
      federatedAccuracy: bestAt(r),
      centralizedAccuracy: central[r - 1]!,
      gapPoints: (central[r - 1]! - bestAt(r)) * 100,
    });
  }
  const fedAvg = curves.get("fedavg")!.at(-1)!;
  const bestServer = Math.max(
    ...[...curves.entries()].filter(([name]) => name !== "fedavg").map(([, c]) => c.at(-1)!),
  );
  const bestFederated = Math.max(fedAvg, bestServer);
  const centralFinal = central.at(-1)!;
  return {
    rows,
    metrics: {
      textTrainTokens: tokens,
      textRounds: rounds,
      textCentralSequentialSteps: rounds * Math.floor(data.train.count / BATCH),
      textFederatedSequentialSteps: rounds * Math.floor(data.train.count / NODES / BATCH),
      textFedAvgAccuracy: fedAvg,
      textBestServerAccuracy: bestServer,
      textFedAccuracy: bestFederated,
      textCentralAccuracy: centralFinal,
      textGapPts: (centralFinal - bestFederated) * 100,
    },
  };
}
