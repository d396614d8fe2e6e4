/**
 * An in-process federated simulation: N virtual nodes train locally in the worker pool each round, and the
 * server aggregates and applies a server optimizer. Hooks let compression, attacks and robust aggregation
 * plug in without copying the loop.
 */
import type { Dataset } from "./data/dataset.ts";
import { partition } from "./data/partition.ts";
import type { PartitionScheme } from "./data/partition.ts";
import { difference, fedAvg } from "../core/updates.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { createServerOptimizer } from "./server/index.ts";
import type { ServerOptimizerName, ServerOptimizerOptions } from "./server/index.ts";
import { createModel } from "./architectures.ts";
import type { ModelSpec } from "./architectures.ts";
import type { TrainingPool } from "./pool.ts";
import type { OptimizerState } from "./engine.ts";
import { averageOptimizerStates } from "./optimizer-state-average.ts";
import type { OptimizerSpec } from "./train-graph.ts";
import { DEFAULT_SEED, PERSONALIZATION_HOLDOUT_SHARE } from "./constants.ts";
import { holdOutSplit } from "./personalization.ts";
import { inputGroups } from "../aggregation/coordinate-groups.ts";
import { aggregationRule } from "../aggregation/rules/index.ts";

export interface SimulationConfig {
  readonly model: ModelSpec;
  readonly optimizer?: OptimizerSpec;
  /** FedProx proximal coefficient (0 = plain local SGD). */
  readonly proxMu?: number;
  readonly server: ServerOptimizerName;
  /** The server optimizer's lr and momentum (default: its own, node/training/constants.ts). */
  readonly serverOptions?: ServerOptimizerOptions;
  readonly nodes: number;
  readonly rounds: number;
  readonly partition: PartitionScheme;
  /** Local epochs per round, or exact local steps (`localSteps: 1` is FedSGD). */
  readonly localEpochs?: number;
  readonly localSteps?: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed?: number;
  /**
   * Aggregation rule by registry name (node/aggregation/rules), one instance for the run so rules with
   * trainer history keep it (trainers are the node indices); FedAvg when absent. The `aggregate` hook wins.
   */
  readonly rule?: string;
  /**
   * Each node keeps its local optimizer state (Adam moments, SGD momentum) from round to round instead of
   * restarting it, as a node of the network does between its rounds.
   */
  readonly keepLocalState?: boolean;
  /**
   * With `keepLocalState`: the server also averages the nodes' optimizer states (row-weighted, as the
   * parameters) and every node starts the next round from the average (optimizer-state-average.ts). A network
   * node does not do this: its update would carry the state too (3x the bytes for Adam).
   */
  readonly averageLocalState?: boolean;
}

export interface RoundRecord {
  readonly round: number;
  readonly accuracy: number;
  readonly loss: number;
  /** Dense float32 uplink bytes per node this round (the baseline compression is measured against). */
  readonly uplinkBytesPerNode: number;
  readonly seconds: number;
}

export interface SimulationHooks {
  /** Alters nodes' local data once, before training (data poisoning in evaluations). */
  readonly transformNodeData?: (nodeData: Dataset[]) => Dataset[];
  /** Replaces or alters updates before aggregation (compression, attacks, DP). */
  readonly transformUpdates?: (
    round: number,
    updates: WeightedUpdate[],
    global: Float32Array,
  ) => WeightedUpdate[] | Promise<WeightedUpdate[]>;
  /** Aggregation rule; FedAvg by default. */
  readonly aggregate?: (updates: readonly WeightedUpdate[], round: number) => Float32Array;
  /** Uplink bytes per node this round, when a hook compresses (defaults to dense float32). */
  readonly uplinkBytesPerNode?: (round: number) => number;
  readonly onRound?: (record: RoundRecord) => void;
}

export interface SimulationResult {
  readonly history: readonly RoundRecord[];
  readonly params: Float32Array;
  readonly nodeData: readonly Dataset[];
}

/** Runs a federated simulation on `train`, evaluating the global model on `test` after every round. */
export async function runSimulation(
  pool: TrainingPool,
  config: SimulationConfig,
  data: { train: Dataset; test: Dataset },
  hooks: SimulationHooks = {},
  signal?: AbortSignal,
): Promise<SimulationResult> {
  if (config.averageLocalState === true && config.keepLocalState !== true)
    throw new RangeError("averageLocalState averages the kept local states: set keepLocalState too");
  const model = createModel(config.model);
  const seed = config.seed ?? DEFAULT_SEED;
  const partitioned = partition(data.train, config.nodes, config.partition, seed);
  const nodeData = hooks.transformNodeData?.(partitioned) ?? partitioned;
  const server = createServerOptimizer(config.server, config.serverOptions);
  const rule =
    config.rule === undefined
      ? undefined
      : aggregationRule(config.rule).create({
          n: config.nodes,
          f: 0,
          seed,
          groups: inputGroups(model.layout),
        });
  const trainers = Array.from({ length: config.nodes }, (_, i) => `node-${i}`);
  let global = model.init(seed);
  const localStates: (OptimizerState | undefined)[] = nodeData.map(() => undefined);
  const history: RoundRecord[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    signal?.throwIfAborted();
    const started = performance.now();
    const results = await Promise.all(
      nodeData.map((local, node) =>
        pool.train(
          {
            model: config.model,
            optimizer: config.optimizer,
            proxMu: config.proxMu,
            params: global,
            globalParams: (config.proxMu ?? 0) > 0 ? global : undefined,
            state: localStates[node],
            data: local,
            options: {
              epochs: config.localEpochs,
              steps: config.localSteps,
              batchSize: config.batchSize,
              learningRate: config.learningRate,
              seed: seed * 1_000_003 + round * 1009 + node,
              keepState: config.keepLocalState,
            },
          },
          { signal },
        ),
      ),
    );
    results.forEach((r, node) => (localStates[node] = r.state));
    if (config.averageLocalState === true) {
      const averaged = averageOptimizerStates(
        results.map((r) => r.state!),
        nodeData.map((local) => local.count),
      );
      averaged.forEach((state, node) => (localStates[node] = state));
    }
    let updates: WeightedUpdate[] = results.map((r, node) => ({
      update: difference(r.params, global),
      weight: nodeData[node]!.count,
    }));
    if (hooks.transformUpdates !== undefined) updates = await hooks.transformUpdates(round, updates, global);
    const aggregated =
      hooks.aggregate?.(updates, round) ??
      rule?.aggregate(updates, { trainers, round }).aggregate ??
      fedAvg(updates);
    global = server.step(global, aggregated);
    const metrics = await pool.evaluate(config.model, global, data.test);
    const record: RoundRecord = {
      round,
      ...metrics,
      uplinkBytesPerNode: hooks.uplinkBytesPerNode?.(round) ?? global.length * 4,
      seconds: (performance.now() - started) / 1000,
    };
    history.push(record);
    hooks.onRound?.(record);
  }
  return { history, params: global, nodeData };
}

/**
 * Per-node personalization: each node fine-tunes the global model for `steps` on a random 80% of its data and
 * is evaluated on its own held-out 20%. Returns the mean global and personalized accuracy over nodes.
 */
export async function personalize(
  pool: TrainingPool,
  config: Pick<SimulationConfig, "model" | "optimizer" | "batchSize" | "learningRate">,
  global: Float32Array,
  nodeData: readonly Dataset[],
  steps: number,
): Promise<{ globalAccuracy: number; personalizedAccuracy: number }> {
  let globalSum = 0;
  let personalSum = 0;
  let counted = 0;
  for (const local of nodeData) {
    if (local.count < 2) continue;
    // A random 20% held out: the first 80% of a Dirichlet shard (ordered by class) held out its last classes.
    const { fit, held } = holdOutSplit(local, PERSONALIZATION_HOLDOUT_SHARE, counted + 1);
    const tuned = await pool.train({
      model: config.model,
      optimizer: config.optimizer,
      params: global,
      data: fit,
      options: { steps, batchSize: config.batchSize, learningRate: config.learningRate },
    });
    globalSum += (await pool.evaluate(config.model, global, held)).accuracy;
    personalSum += (await pool.evaluate(config.model, tuned.params, held)).accuracy;
    counted++;
  }
  return { globalAccuracy: globalSum / counted, personalizedAccuracy: personalSum / counted };
}
