/** Public API of the training engine. */
export { GraphBuilder, GraphBuildError } from "./graph/autodiff.ts";
export type { Tensor } from "./graph/autodiff.ts";
export { createModel, modelSpecSchema } from "./architectures.ts";
export type { Model, ModelSpec } from "./architectures.ts";
export { buildInferenceGraph, buildTrainStepGraph, optimizerSpecSchema } from "./train-graph.ts";
export type { OptimizerSpec } from "./train-graph.ts";
export { LocalTrainer } from "./engine.ts";
export type { OptimizerState, TrainOptions, TrainResult } from "./engine.ts";
export { OptimizerStateMismatchError, averageOptimizerStates } from "./optimizer-state-average.ts";
export { PoolClosedError, TrainingPool, TrainingWorkerError } from "./pool.ts";
export type { TrainJob } from "./pool.ts";
export { DataValidationError, subset, validateDataset } from "./data/dataset.ts";
export type { Dataset } from "./data/dataset.ts";
export { loadMnist, loadMnistAll } from "./data/mnist.ts";
export { WORDNET_TOPICS, loadWordnetGlosses, loadWordnetTask } from "./data/wordnet.ts";
export type { WordnetTaskOptions } from "./data/wordnet.ts";
export { loadCsv, loadDataDirectory, loadIdx } from "./data/files.ts";
export { PartitionError, partition, partitionIndices } from "./data/partition.ts";
export type { PartitionScheme } from "./data/partition.ts";
export {
  AdaptiveServer,
  DiLoCoServer,
  FedAvgServer,
  SERVER_OPTIMIZERS,
  SERVER_OPTIMIZER_NAMES,
  createServerOptimizer,
  reptileServer,
} from "./server/index.ts";
export type { ServerOptimizer, ServerOptimizerDescriptor, ServerOptimizerName } from "./server/index.ts";
export { personalize, runSimulation } from "./simulator.ts";
export type { RoundRecord, SimulationConfig, SimulationHooks, SimulationResult } from "./simulator.ts";
