/**
 * The job a trainer hands the training pool for a round: the task's model and local training settings from the
 * round's base model. A task that names its local optimizer (`TaskSpec.train.optimizer`, Adam for the
 * transformer) also continues this node's own optimizer state from its previous round, as the simulations'
 * nodes do; without one the pool's default SGD with momentum restarts every round, as before.
 */
import type { Dataset } from "../../training/data/dataset.ts";
import type { OptimizerState } from "../../training/engine.ts";
import type { TrainJob } from "../../training/pool.ts";
import type { TaskSpec } from "../task-spec.ts";

export function roundTrainingJob(
  spec: TaskSpec,
  base: Float32Array,
  data: Dataset,
  /** `steps` undefined: the task's full local work (`train.epochs`). */
  run: {
    readonly steps: number | undefined;
    readonly seed: number;
    readonly state: OptimizerState | undefined;
  },
): TrainJob {
  const { optimizer, proxMu, ...train } = spec.train;
  return {
    model: spec.model,
    params: base,
    data,
    ...(optimizer === undefined ? {} : { optimizer, state: run.state }),
    // FedProx: the proximal term pulls toward the round's base model, the one this job trains from.
    ...(proxMu === undefined || proxMu === 0 ? {} : { proxMu, globalParams: base }),
    options: {
      ...train,
      ...(run.steps === undefined ? {} : { steps: run.steps }),
      seed: run.seed,
      keepState: optimizer !== undefined,
    },
  };
}
