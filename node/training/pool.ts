/**
 * A pool of training worker threads sized to the machine. Training requests queue for a free worker;
 * cancellation (AbortSignal) is seen by the worker between batches through a shared flag, so the node's
 * event loop stays responsive while training runs.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

import type { Dataset } from "./data/dataset.ts";
import type { OptimizerState, TrainResult } from "./engine.ts";
import type { ModelSpec } from "./architectures.ts";
import type { OptimizerSpec } from "./train-graph.ts";
import { siblingModule } from "../runtime/assets.ts";
import { POOL_CLOSE_DRAIN_MS } from "./constants.ts";

export interface PoolTrainOptions {
  readonly epochs?: number;
  readonly steps?: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed?: number;
  /** Return the optimizer state after training (a simulated node keeps it for its next round). */
  readonly keepState?: boolean;
}

export type WorkerRequest =
  | {
      id: number;
      kind: "train";
      model: ModelSpec;
      optimizer: OptimizerSpec;
      proxMu: number;
      params: Float32Array;
      globalParams?: Float32Array;
      state?: OptimizerState;
      data: Dataset;
      options: PoolTrainOptions;
      cancel: SharedArrayBuffer;
    }
  | {
      id: number;
      kind: "evaluate";
      model: ModelSpec;
      optimizer: OptimizerSpec;
      proxMu: number;
      params: Float32Array;
      data: Dataset;
    };

export type WorkerResponse =
  | { id: number; kind: "progress"; step: number; totalSteps: number; loss: number }
  | { id: number; kind: "trained"; result: TrainResult; rssBytes: number }
  | { id: number; kind: "evaluated"; accuracy: number; loss: number; rssBytes: number }
  | { id: number; kind: "error"; message: string };

/** Training failed inside a worker. */
export class TrainingWorkerError extends Error {
  override readonly name = "TrainingWorkerError";
  readonly code = "TRAINING_WORKER";
}

/** The pool was stopped. */
export class PoolClosedError extends Error {
  override readonly name = "PoolClosedError";
  readonly code = "POOL_CLOSED";
}

interface Job {
  readonly request: WorkerRequest;
  readonly resolve: (response: WorkerResponse) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress?: (progress: { step: number; totalSteps: number; loss: number }) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  /** Called once the worker has answered its last job (or died): a closing pool may terminate it then. */
  onIdle?: () => void;
}

export interface TrainingPoolOptions {
  /** Worker threads; defaults to the machine's available parallelism. */
  readonly size?: number;
}

export interface TrainJob {
  readonly model: ModelSpec;
  readonly optimizer?: OptimizerSpec;
  readonly proxMu?: number;
  readonly params: Float32Array;
  readonly globalParams?: Float32Array;
  /** Optimizer state to continue from (`TrainResult.state` of this node's previous job). */
  readonly state?: OptimizerState;
  readonly data: Dataset;
  readonly options: PoolTrainOptions;
}

/** Worker threads running local training and evaluation. */
export class TrainingPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];

  /** Jobs running or waiting: the node is training (capacity attestation is refused meanwhile, see p2p/attest/service.ts). */
  get pending(): number {
    return this.slots.filter((slot) => slot.job !== undefined).length + this.queue.length;
  }
  private nextId = 1;
  private closed = false;
  /** Largest resident set size a worker reported (the whole process's RSS as seen from that thread). */
  peakRssBytes = 0;

  constructor(options: TrainingPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(siblingModule(import.meta.url, "./worker"));
    const slot: Slot = { worker, job: undefined };
    worker.on("message", (response: WorkerResponse) => {
      const job = slot.job;
      if (job === undefined || response.id !== job.request.id) return;
      if (response.kind === "progress") {
        job.onProgress?.(response);
        return;
      }
      slot.job = undefined;
      slot.onIdle?.();
      if (response.kind !== "error") this.peakRssBytes = Math.max(this.peakRssBytes, response.rssBytes);
      if (response.kind === "error") job.reject(new TrainingWorkerError(response.message));
      else job.resolve(response);
      this.dispatch();
    });
    worker.on("error", (error) => {
      slot.job?.reject(new TrainingWorkerError(`training worker crashed: ${error.message}`));
      slot.job = undefined;
      slot.onIdle?.();
      const index = this.slots.indexOf(slot);
      if (!this.closed && index >= 0) {
        this.slots[index] = this.spawn();
        this.dispatch();
      }
    });
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job !== undefined) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
    for (const slot of this.slots) if (slot.job === undefined) slot.worker.unref();
  }

  private submit(request: WorkerRequest, onProgress?: Job["onProgress"]): Promise<WorkerResponse> {
    if (this.closed) return Promise.reject(new PoolClosedError("training pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject, onProgress });
      this.dispatch();
    });
  }

  /** Trains in a worker. Aborting stops training between batches and resolves with the partial result. */
  async train(
    job: TrainJob,
    options: { signal?: AbortSignal; onProgress?: Job["onProgress"] } = {},
  ): Promise<TrainResult> {
    options.signal?.throwIfAborted();
    const cancel = new SharedArrayBuffer(4);
    const flag = new Int32Array(cancel);
    const onAbort = () => Atomics.store(flag, 0, 1);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.submit(
        {
          id: this.nextId++,
          kind: "train",
          model: job.model,
          optimizer: job.optimizer ?? { kind: "sgd" },
          proxMu: job.proxMu ?? 0,
          params: job.params,
          globalParams: job.globalParams,
          state: job.state,
          data: job.data,
          options: job.options,
          cancel,
        },
        options.onProgress,
      );
      if (response.kind !== "trained") throw new TrainingWorkerError(`unexpected response ${response.kind}`);
      return response.result;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Evaluates parameters in a worker. */
  async evaluate(
    model: ModelSpec,
    params: Float32Array,
    data: Dataset,
  ): Promise<{ accuracy: number; loss: number }> {
    const response = await this.submit({
      id: this.nextId++,
      kind: "evaluate",
      model,
      optimizer: { kind: "sgd" },
      proxMu: 0,
      params,
      data,
    });
    if (response.kind !== "evaluated") throw new TrainingWorkerError(`unexpected response ${response.kind}`);
    return { accuracy: response.accuracy, loss: response.loss };
  }

  /**
   * Stops every worker; queued and running jobs are rejected at once. A worker inside a job is told to stop
   * between batches and terminated once it has answered (at most POOL_CLOSE_DRAIN_MS later): terminating it
   * inside onnxruntime's native run aborts the process.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new PoolClosedError("training pool closed"));
    await Promise.all(
      this.slots.map(async (slot) => {
        const job = slot.job;
        if (job !== undefined) {
          if (job.request.kind === "train") Atomics.store(new Int32Array(job.request.cancel), 0, 1);
          job.reject(new PoolClosedError("training pool closed"));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POOL_CLOSE_DRAIN_MS);
            slot.onIdle = () => {
              clearTimeout(timer);
              resolve();
            };
            if (slot.job === undefined) slot.onIdle();
          });
        }
        await slot.worker.terminate();
      }),
    );
  }
}
