/**
 * An aggregation rule run in a worker thread. The guarded mean of 254 updates of the 101,770-parameter model held
 * a 256-node bench's event loop for 47 s (docs/scaling.md, session 13): every node in that process, the
 * aggregator's own libp2p streams and chain loop included, stopped answering while it ran, and the aggregator
 * posted past its deadline. Here the rule runs on another thread and this one only copies the updates to it, a
 * batch at a time, yielding between batches.
 *
 * The worker holds the rule instance for as long as it lives, so a rule with history (the guarded mean's trainer
 * trust) keeps it between rounds. A worker that ends while holding it (a crash, an abort) takes that history with
 * it: `resets` counts those ends, and the next call starts a fresh worker with a fresh rule, as a node restart
 * would. A crash is a `RuleWorkerError` to the caller, never an exception in the node's process.
 */
import type { ResourceLimits } from "node:worker_threads";
import { Worker } from "node:worker_threads";
import { setImmediate as yieldToLoop } from "node:timers/promises";

import { AggregationInputError } from "../core/updates.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { siblingModule } from "../runtime/assets.ts";
import type { PublicRoundOutcome } from "./public-outcomes.ts";
import type { AggregationContext, AggregationResult, AggregationRuleOptions } from "./rules/types.ts";

/**
 * Updates per message to the worker. Posting copies them on this thread (structured clone): 16 updates of the
 * default model are 6.5 MB, a few ms; the 254 of the 256-node round in one message would be 103 MB at once.
 */
export const RULE_WORKER_BATCH = 16;

/** Which rule the worker runs, and how it is configured (`AggregationRule.create`'s options). */
export interface RuleWorkerSpec {
  readonly name: string;
  readonly options: AggregationRuleOptions;
}

/** A message to the worker: a past round's public outcome, a batch of a job's updates, or the job's run. */
export type RuleWorkerRequest =
  | { readonly kind: "observe"; readonly outcome: PublicRoundOutcome }
  | { readonly kind: "updates"; readonly id: number; readonly updates: readonly WeightedUpdate[] }
  | { readonly kind: "aggregate"; readonly id: number; readonly context: AggregationContext };

/** The worker's answer to a job: the rule's result, or the error it threw (by name, to rebuild typed ones). */
export type RuleWorkerResponse =
  | { readonly id: number; readonly result: AggregationResult }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

/** The rule's worker failed (crashed, ran out of memory, could not start) or the rule threw an untyped error. */
export class RuleWorkerError extends Error {
  override readonly name = "RuleWorkerError";
  readonly code = "RULE_WORKER_FAILED";
}

interface Job {
  readonly id: number;
  readonly resolve: (result: AggregationResult) => void;
  readonly reject: (error: unknown) => void;
}

/** One rule instance (one task's), in its own worker thread, started at first use. */
export class OffThreadRule {
  readonly spec: RuleWorkerSpec;
  private readonly resourceLimits: ResourceLimits | undefined;
  private worker: Worker | undefined;
  private job: Job | undefined;
  /** Jobs run one after another: each is its batches then its run, and the rule's history is ordered. */
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private ended = 0;

  /** `resourceLimits`: the worker's heap limits (a test makes one run out of memory for real). */
  constructor(spec: RuleWorkerSpec, resourceLimits?: ResourceLimits) {
    this.spec = spec;
    this.resourceLimits = resourceLimits;
  }

  /** How many workers ended holding this rule's history (crashed, aborted or closed): each lost it. */
  get resets(): number {
    return this.ended;
  }

  /** Whether a job is under way (its updates going to the worker, or the worker computing it). */
  get busy(): boolean {
    return this.job !== undefined;
  }

  /** Folds a round another node aggregated into the rule's history (ordered before every later job). */
  observeOutcome(outcome: PublicRoundOutcome): void {
    this.thread()?.postMessage({ kind: "observe", outcome } satisfies RuleWorkerRequest);
  }

  /**
   * The rule's result for `updates`, computed in the worker. Rejects with the rule's `AggregationInputError`
   * (e.g. every update rejected), with `RuleWorkerError` when the worker fails, and with `signal`'s reason when it
   * is aborted (the worker is then stopped at once, mid-computation).
   */
  aggregate(
    updates: readonly WeightedUpdate[],
    context: AggregationContext = {},
    signal?: AbortSignal,
  ): Promise<AggregationResult> {
    const run = this.queue.then(() => this.run(updates, context, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker (its history goes with it; a later call starts a fresh one). */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.lose(worker, new RuleWorkerError("the rule's worker was closed"));
    await worker.terminate();
  }

  private async run(
    updates: readonly WeightedUpdate[],
    context: AggregationContext,
    signal: AbortSignal | undefined,
  ): Promise<AggregationResult> {
    signal?.throwIfAborted();
    const worker = this.thread();
    if (worker === undefined)
      throw new RuleWorkerError(`the worker of rule "${this.spec.name}" did not start`);
    const id = this.nextId++;
    const result = new Promise<AggregationResult>((resolve, reject) => {
      this.job = { id, resolve, reject };
    });
    const onAbort = () => {
      this.lose(worker, signal?.reason);
      void worker.terminate();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.ref();
    try {
      for (let from = 0; from < updates.length && this.worker === worker; from += RULE_WORKER_BATCH) {
        if (from > 0) await yieldToLoop();
        const batch = updates.slice(from, from + RULE_WORKER_BATCH);
        worker.postMessage({ kind: "updates", id, updates: batch } satisfies RuleWorkerRequest);
      }
      worker.postMessage({ kind: "aggregate", id, context } satisfies RuleWorkerRequest);
      return await result;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (this.worker === worker) worker.unref();
    }
  }

  /** The live worker, started if there is none; undefined when it cannot start. */
  private thread(): Worker | undefined {
    if (this.worker !== undefined) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(siblingModule(import.meta.url, "./rule-worker-thread"), {
        workerData: this.spec satisfies RuleWorkerSpec,
        ...(this.resourceLimits === undefined ? {} : { resourceLimits: this.resourceLimits }),
      });
    } catch {
      return undefined;
    }
    worker.on("message", (response: RuleWorkerResponse) => {
      const job = this.job;
      if (job === undefined || job.id !== response.id) return;
      this.job = undefined;
      if ("result" in response) job.resolve(response.result);
      else job.reject(typedError(response.error));
    });
    const failed = (why: string) => this.lose(worker, new RuleWorkerError(why));
    worker.on("error", (error: Error) =>
      failed(`the worker of rule "${this.spec.name}" failed: ${error.message}`),
    );
    worker.on("exit", (code) => failed(`the worker of rule "${this.spec.name}" exited (code ${code})`));
    // Idle, it does not hold the process open; with a job it does (its caller is waiting).
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** `worker` is gone with the rule's history: its job (if any) fails with `error`. */
  private lose(worker: Worker, error: unknown): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ended += 1;
    const job = this.job;
    this.job = undefined;
    job?.reject(error);
  }
}

/** The rule's own typed refusal stays one (the aggregator posts all-zero weights on it); anything else is a failure. */
function typedError({ name, message }: { name: string; message: string }): Error {
  if (name === "AggregationInputError") return new AggregationInputError(message);
  return new RuleWorkerError(`the rule threw ${name}: ${message}`);
}
