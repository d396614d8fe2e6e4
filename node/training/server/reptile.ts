/** Reptile's meta-update: Nichol et al., "On First-Order Meta-Learning Algorithms", 2018. */
import { FedAvgServer } from "./fedavg.ts";
import type { ServerOptimizer, ServerOptimizerDescriptor } from "./types.ts";

/**
 * Step size of the registry's Reptile: half-way towards the clients' adapted models, between Nichol et
 * al.'s small meta step sizes and FedAvg's full step (measured in bench:simulate's personalization row).
 */
export const REPTILE_EPSILON = 0.5;

/** Reptile meta-update: move the global model a fraction `epsilon` towards the clients' adapted models. */
export function reptileServer(epsilon: number): ServerOptimizer {
  return new FedAvgServer(epsilon, "reptile");
}

export const reptileOptimizer: ServerOptimizerDescriptor<"reptile"> = {
  name: "reptile",
  citation: "Nichol et al., On First-Order Meta-Learning Algorithms, 2018",
  // A personalization step for the simulator; a task's FedAvg with `lr` < 1 is the same step.
  taskOption: false,
  stateVectors: 0,
  create: (options = {}) => reptileServer(options.lr ?? REPTILE_EPSILON),
};
