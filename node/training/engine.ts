/**
 * Local training and evaluation with onnxruntime-node on the CPU. One `LocalTrainer` owns the sessions
 * for one model and optimizer; `train` runs epochs of mini-batch steps from given starting parameters.
 * `session.run` blocks its thread: the node calls this through the worker pool (pool.ts).
 */
import * as ort from "onnxruntime-node";

import type { Dataset } from "./data/dataset.ts";
import { createModel } from "./architectures.ts";
import type { Model, ModelSpec } from "./architectures.ts";
import { Rng } from "../core/rng.ts";
import { buildInferenceGraph, buildTrainStepGraph, optimizerSpecSchema } from "./train-graph.ts";
import type { OptimizerSpec, ResolvedOptimizerSpec, TrainStepGraph } from "./train-graph.ts";
import { DEFAULT_SEED } from "./constants.ts";

/** One thread per session: measured 2-3x faster than onnxruntime's default here (FACTS.md). */
export const SESSION_THREADS = 1;
/** Rows per evaluation batch. */
export const EVAL_BATCH = 1024;

export interface TrainOptions {
  readonly epochs?: number;
  /** Exact number of optimizer steps; overrides `epochs`. */
  readonly steps?: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed?: number;
  /** Parameters of the FedProx anchor (the global model) when the trainer was built with `proxMu > 0`. */
  readonly globalParams?: Float32Array;
  /** Checked between batches; return true to stop (cancellation). */
  readonly shouldStop?: () => boolean;
  readonly onProgress?: (progress: { step: number; totalSteps: number; loss: number }) => void;
  /**
   * Optimizer state to continue from (a node's own Adam moments or momentum from its previous round); fresh
   * zero state when absent. The state's step count continues Adam's bias correction.
   */
  readonly state?: OptimizerState;
  /** Return the optimizer state after training (`TrainResult.state`), to pass to the next call. */
  readonly keepState?: boolean;
}

/** An optimizer's state: one tensor per state name (layout-sized, in `stateNames` order) and its step count. */
export interface OptimizerState {
  readonly tensors: readonly Float32Array[];
  readonly steps: number;
}

export interface TrainResult {
  readonly params: Float32Array;
  readonly samples: number;
  readonly steps: number;
  readonly meanLoss: number;
  readonly cancelled: boolean;
  /** The optimizer state after the last step, when asked for (`keepState`). */
  readonly state?: OptimizerState;
}

function oneHot(labels: Uint8Array, rows: readonly number[], classes: number): Float32Array {
  const out = new Float32Array(rows.length * classes);
  rows.forEach((row, i) => (out[i * classes + labels[row]!] = 1));
  return out;
}

function gatherRows(dataset: Dataset, rows: readonly number[]): Float32Array {
  const size = dataset.featureSize;
  const out = new Float32Array(rows.length * size);
  rows.forEach((row, i) => out.set(dataset.features.subarray(row * size, (row + 1) * size), i * size));
  return out;
}

/** Trains and evaluates one model with onnxruntime. */
export class LocalTrainer {
  readonly model: Model;
  readonly optimizer: ResolvedOptimizerSpec;
  readonly proxMu: number;
  private readonly trainStep: TrainStepGraph;
  private readonly trainSession: ort.InferenceSession;
  private readonly inferSession: ort.InferenceSession;

  private constructor(
    model: Model,
    optimizer: ResolvedOptimizerSpec,
    proxMu: number,
    trainStep: TrainStepGraph,
    trainSession: ort.InferenceSession,
    inferSession: ort.InferenceSession,
  ) {
    this.model = model;
    this.optimizer = optimizer;
    this.proxMu = proxMu;
    this.trainStep = trainStep;
    this.trainSession = trainSession;
    this.inferSession = inferSession;
  }

  /** Builds the graphs and opens the sessions. */
  static async create(
    spec: ModelSpec,
    optimizer: OptimizerSpec = { kind: "sgd" },
    proxMu = 0,
  ): Promise<LocalTrainer> {
    const model = createModel(spec);
    const resolved = optimizerSpecSchema.parse(optimizer);
    const trainStep = buildTrainStepGraph(model, resolved, proxMu);
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: SESSION_THREADS,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    };
    const [trainSession, inferSession] = await Promise.all([
      ort.InferenceSession.create(trainStep.bytes, options),
      ort.InferenceSession.create(buildInferenceGraph(model), options),
    ]);
    return new LocalTrainer(model, resolved, proxMu, trainStep, trainSession, inferSession);
  }

  private paramFeeds(prefix: string, values: Float32Array): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const slot of this.model.layout.tensors) {
      feeds[`${prefix}/${slot.name}`] = new ort.Tensor(
        "float32",
        values.subarray(slot.offset, slot.offset + slot.size),
        slot.shape as number[],
      );
    }
    return feeds;
  }

  /** Runs local training from `initial` (not modified) and returns the new parameters. */
  async train(initial: Float32Array, data: Dataset, options: TrainOptions): Promise<TrainResult> {
    const { layout } = this.model;
    if (initial.length !== layout.size)
      throw new RangeError(`expected ${layout.size} parameters, got ${initial.length}`);
    if (data.featureSize !== this.model.inputSize) {
      throw new RangeError(`data has ${data.featureSize} features, model expects ${this.model.inputSize}`);
    }
    if (this.trainStep.proximal && options.globalParams === undefined) {
      throw new RangeError("FedProx trainer needs globalParams");
    }
    const batch = Math.min(options.batchSize, data.count);
    const stepsPerEpoch = Math.max(1, Math.floor(data.count / batch));
    const totalSteps = options.steps ?? stepsPerEpoch * (options.epochs ?? 1);
    const rng = new Rng(options.seed ?? DEFAULT_SEED);
    // Output tensors of one step feed the next step directly; parameters are copied out once at the end.
    let paramTensors = this.paramFeeds("param", Float32Array.from(initial));
    const names = this.trainStep.stateNames;
    if (options.state !== undefined && options.state.tensors.length !== names.length)
      throw new RangeError(
        `expected ${names.length} optimizer state tensors, got ${options.state.tensors.length}`,
      );
    let stateTensors: Record<string, ort.Tensor> = {};
    names.forEach((name, i) => {
      const initialState = options.state?.tensors[i];
      if (initialState !== undefined && initialState.length !== layout.size)
        throw new RangeError(
          `optimizer state ${name} has ${initialState.length} values, expected ${layout.size}`,
        );
      const values =
        initialState === undefined ? new Float32Array(layout.size) : Float32Array.from(initialState);
      Object.assign(stateTensors, this.paramFeeds(name, values));
    });
    const priorSteps = options.state?.steps ?? 0;
    const globalFeeds =
      options.globalParams === undefined ? {} : this.paramFeeds("global", options.globalParams);
    const lr = new ort.Tensor("float32", new Float32Array([options.learningRate]), []);
    let order: number[] = [];
    let lossSum = 0;
    let step = 0;
    for (; step < totalSteps; step++) {
      if (options.shouldStop?.() === true) break;
      const offset = (step % stepsPerEpoch) * batch;
      if (offset === 0) order = rng.shuffle(Array.from({ length: data.count }, (_, i) => i));
      const rows = order.slice(offset, offset + batch);
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor("float32", gatherRows(data, rows), [rows.length, data.featureSize]),
        y: new ort.Tensor("float32", oneHot(data.labels, rows, this.model.classes), [
          rows.length,
          this.model.classes,
        ]),
        lr,
        ...paramTensors,
        ...stateTensors,
        ...globalFeeds,
      };
      if (this.optimizer.kind === "adam") {
        const t = priorSteps + step + 1;
        const { beta1, beta2 } = this.optimizer;
        const lrT = (options.learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
        feeds["lr_t"] = new ort.Tensor("float32", new Float32Array([lrT]), []);
      }
      const out = await this.trainSession.run(feeds);
      const nextParams: Record<string, ort.Tensor> = {};
      const nextStates: Record<string, ort.Tensor> = {};
      for (const slot of layout.tensors) {
        nextParams[`param/${slot.name}`] = out[`new_param/${slot.name}`]!;
        for (const name of this.trainStep.stateNames)
          nextStates[`${name}/${slot.name}`] = out[`new_${name}/${slot.name}`]!;
      }
      paramTensors = nextParams;
      stateTensors = nextStates;
      const loss = (out["loss"]!.data as Float32Array)[0]!;
      lossSum += loss;
      options.onProgress?.({ step: step + 1, totalSteps, loss });
    }
    const params = new Float32Array(layout.size);
    for (const slot of layout.tensors)
      params.set(paramTensors[`param/${slot.name}`]!.data as Float32Array, slot.offset);
    const state =
      options.keepState === true
        ? {
            steps: priorSteps + step,
            tensors: names.map((name) => {
              const values = new Float32Array(layout.size);
              for (const slot of layout.tensors)
                values.set(stateTensors[`${name}/${slot.name}`]!.data as Float32Array, slot.offset);
              return values;
            }),
          }
        : undefined;
    return {
      params,
      state,
      samples: step * batch,
      steps: step,
      meanLoss: step === 0 ? Number.NaN : lossSum / step,
      cancelled: step < totalSteps,
    };
  }

  /** Logits for `count` rows of features. */
  async logits(params: Float32Array, features: Float32Array, count: number): Promise<Float32Array> {
    const out = await this.inferSession.run({
      x: new ort.Tensor("float32", features, [count, this.model.inputSize]),
      ...this.paramFeeds("param", params),
    });
    return out["logits"]!.data as Float32Array;
  }

  /** Accuracy and mean cross-entropy loss on a dataset. */
  async evaluate(params: Float32Array, data: Dataset): Promise<{ accuracy: number; loss: number }> {
    const classes = this.model.classes;
    let correct = 0;
    let lossSum = 0;
    for (let start = 0; start < data.count; start += EVAL_BATCH) {
      const count = Math.min(EVAL_BATCH, data.count - start);
      const features = data.features.subarray(start * data.featureSize, (start + count) * data.featureSize);
      const logits = await this.logits(params, features, count);
      for (let i = 0; i < count; i++) {
        const row = logits.subarray(i * classes, (i + 1) * classes);
        let best = 0;
        let max = -Infinity;
        for (let c = 0; c < classes; c++) if (row[c]! > max) [max, best] = [row[c]!, c];
        let sumExp = 0;
        for (let c = 0; c < classes; c++) sumExp += Math.exp(row[c]! - max);
        const label = data.labels[start + i]!;
        lossSum += Math.log(sumExp) - (row[label]! - max);
        if (best === label) correct++;
      }
    }
    return { accuracy: correct / data.count, loss: lossSum / data.count };
  }

  /** Releases the sessions. */
  async close(): Promise<void> {
    await Promise.all([this.trainSession.release(), this.inferSession.release()]);
  }
}
