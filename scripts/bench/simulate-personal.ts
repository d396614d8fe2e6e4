/**
 * bench:simulate's personalization rows (#22): where fine-tuning the global model on a node's own data helps.
 * For each Dirichlet α (smaller: each node holds fewer classes), FedAvg trains the MLP on 10 nodes for R rounds;
 * then every node fine-tunes the final global model for `steps` local steps on 80% of its shard (personalize(),
 * node/training/simulator.ts) and both models are scored on its other 20%. The gain is the mean over nodes of
 * personalized minus global accuracy on the node's own held-out rows, in points.
 */
import { personalize, runSimulation } from "../../node/training/index.ts";
import type { Dataset, SimulationConfig, TrainingPool } from "../../node/training/index.ts";
import type { Row } from "./common.ts";

/** From nearly one class per node to nearly IID. */
export const PERSONALIZATION_ALPHAS = [0.05, 0.1, 0.5, 10] as const;
/** Local fine-tuning steps (the node's `--personalize-steps` default, node/training/constants.ts). */
const STEPS = 20;

export async function personalizationRows(
  pool: TrainingPool,
  data: { train: Dataset; test: Dataset },
  rounds: number,
): Promise<{ rows: Row[]; metrics: Record<string, number> }> {
  const rows: Row[] = [];
  const metrics: Record<string, number> = {};
  for (const alpha of PERSONALIZATION_ALPHAS) {
    const config: SimulationConfig = {
      model: { kind: "mlp" },
      optimizer: { kind: "sgd", momentum: 0 },
      server: "fedavg",
      nodes: 10,
      rounds,
      partition: { kind: "dirichlet", alpha },
      localEpochs: 1,
      batchSize: 32,
      learningRate: 0.1,
      seed: 1,
    };
    const result = await runSimulation(pool, config, data);
    const personal = await personalize(pool, config, result.params, result.nodeData, STEPS);
    const gain = (personal.personalizedAccuracy - personal.globalAccuracy) * 100;
    process.stdout.write(
      `personalization α=${alpha}: global ${(personal.globalAccuracy * 100).toFixed(2)}%, ` +
        `personalized ${(personal.personalizedAccuracy * 100).toFixed(2)}% (${gain.toFixed(2)} pts)\n`,
    );
    rows.push({
      run: `personalized (${STEPS} local steps) after FedAvg, Dirichlet α=${alpha}`,
      rounds,
      "global accuracy (own rows)": personal.globalAccuracy,
      "personalized accuracy (own rows)": personal.personalizedAccuracy,
      "gain pts": gain,
      "global test accuracy": result.history.at(-1)!.accuracy,
    });
    metrics[`personalizationGainPts_alpha${String(alpha).replace(".", "_")}`] = gain;
  }
  return { rows, metrics };
}
