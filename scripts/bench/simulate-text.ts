/**
 * bench:simulate's transformer rows: federated next-character accuracy on held-out WordNet glosses, 10
 * nodes each holding whole topics (non-IID, like LEAF's Shakespeare by role), FedAvg and the adaptive /
 * outer-momentum server optimizers, against centralized training of the same model on the same data for the
 * same compute (one trainer, as many epochs as rounds: every federated round is one epoch over the data).
 */
import { createModel, loadWordnetTask, runSimulation } from "../../node/training/index.ts";
import type {
  ModelSpec,
  ServerOptimizerName,
  SimulationConfig,
  TrainingPool,
} from "../../node/training/index.ts";
import type { Row } from "./common.ts";

/** Small enough that the five runs take minutes on two cores; the gap to centralized is what is measured. */
const TEXT_MODEL: ModelSpec = { kind: "transformer", width: 64, layers: 2, heads: 2, context: 32 };
const LOCAL_LR = 0.003;

export interface TextFigures {
  readonly rows: Row[];
  readonly metrics: Record<string, number>;
}

export async function textRows(pool: TrainingPool, quick: boolean): Promise<TextFigures> {
  const rounds = quick ? 3 : 10;
  const data = loadWordnetTask({ context: 32, maxGlossesPerTopic: quick ? 40 : 200, seed: 1 });
  const rows: Row[] = [];
  const tokens = data.train.count * 32;
  const base: SimulationConfig = {
    model: TEXT_MODEL,
    optimizer: { kind: "adam" },
    server: "fedavg",
    nodes: 10,
    rounds,
    partition: { kind: "group" },
    localEpochs: 1,
    batchSize: 32,
    learningRate: LOCAL_LR,
    seed: 1,
  };
  const federated = async (server: ServerOptimizerName) => {
    const started = performance.now();
    const result = await runSimulation(pool, { ...base, server }, data, {
      onRound: (r) =>
        process.stdout.write(
          `\rtext ${server}: round ${r.round}/${rounds} accuracy ${(r.accuracy * 100).toFixed(2)}%   `,
        ),
    });
    process.stdout.write("\n");
    const final = result.history.at(-1)!.accuracy;
    rows.push({
      run: `transformer ${server}, 10 nodes by topic`,
      rounds,
      finalAccuracy: final,
      bestAccuracy: Math.max(...result.history.map((r) => r.accuracy)),
      roundsToTarget: -1,
      seconds: (performance.now() - started) / 1000,
    });
    return final;
  };
  const fedAvg = await federated("fedavg");
  const servers: ServerOptimizerName[] = ["fedadam", "fedyogi", "diloco"];
  const others: [ServerOptimizerName, number][] = [];
  for (const server of servers) others.push([server, await federated(server)]);
  const [, bestAccuracy] = others.reduce((a, b) => (b[1] > a[1] ? b : a));

  const started = performance.now();
  const trained = await pool.train({
    model: TEXT_MODEL,
    optimizer: { kind: "adam" },
    params: createModel(TEXT_MODEL).init(1),
    data: data.train,
    options: { epochs: rounds, batchSize: 32, learningRate: LOCAL_LR, seed: 1 },
  });
  const central = await pool.evaluate(TEXT_MODEL, trained.params, data.test);
  rows.push({
    run: `transformer centralized (${rounds} epochs, same compute)`,
    rounds,
    finalAccuracy: central.accuracy,
    bestAccuracy: central.accuracy,
    roundsToTarget: -1,
    seconds: (performance.now() - started) / 1000,
  });
  const bestFederated = Math.max(fedAvg, bestAccuracy);
  return {
    rows,
    metrics: {
      textTrainTokens: tokens,
      textFedAvgAccuracy: fedAvg,
      textBestServerAccuracy: bestAccuracy,
      textCentralizedAccuracy: central.accuracy,
      textGapPoints: (central.accuracy - bestFederated) * 100,
    },
  };
}
