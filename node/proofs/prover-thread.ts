/**
 * The process's prover thread: one long-lived worker running snarkjs (prover-worker.ts), which proves and
 * verifies one job after another.
 *
 * Why one thread kept between jobs: a thread started per proof (and per verification) and terminated after it
 * left memory behind in the process. Each thread had its own V8 isolate and built its own curve engine (a WASM
 * module and memory); glibc keeps the malloc arena a dead thread used, fragmented, and the spared node of the
 * 61-minute soak (session 17, aggregator of most rounds) grew 500 -> 1,079 MB RSS. One thread reuses one isolate
 * and one curve; it is replaced after PROVER_THREAD_MAX_JOBS jobs (so growth inside it stays bounded), after a
 * job fails (its state is unknown), and when it has been idle PROVER_THREAD_IDLE_MS.
 *
 * Cancellation: aborting a queued job removes it; aborting the running one terminates the thread and rejects
 * only once it has exited, so a cancelled proof holds no thread or memory (the next job starts a new thread).
 */
import { Worker } from "node:worker_threads";

import type { Groth16Proof } from "snarkjs";

import { PROVER_THREAD_IDLE_MS, PROVER_THREAD_MAX_JOBS } from "./constants.ts";
import { siblingModule } from "../runtime/assets.ts";

/** Proving failed or was cancelled. */
export class ProvingError extends Error {
  override readonly name: string = "ProvingError";
  readonly code: string = "PROVING";
}

/** Proving was cancelled through its AbortSignal (the worker has exited when this is raised). */
export class ProvingCancelledError extends ProvingError {
  override readonly name = "ProvingCancelledError";
  override readonly code = "PROVING_CANCELLED";
}

/** A job of the prover thread. */
export type ProverJob =
  | { kind: "prove"; input: Record<string, unknown>; wasmPath: string; zkeyPath: string }
  | { kind: "verify"; verificationKey: unknown; publicSignals: string[]; proof: Groth16Proof };

/** What the host posts to the thread. */
export interface ProverRequest {
  readonly id: number;
  readonly job: ProverJob;
}

/** What the thread posts back: progress of a proof, then one result or error per job. */
export type ProverReply =
  | { id: number; kind: "progress" }
  | { id: number; kind: "done"; proof: Groth16Proof; publicSignals: string[] }
  | { id: number; kind: "verified"; valid: boolean }
  | { id: number; kind: "error"; message: string };

/** A finished job's reply. */
export type ProverResult = Extract<ProverReply, { kind: "done" | "verified" }>;

export interface ProverJobOptions {
  readonly signal?: AbortSignal;
  /** Called when the thread starts proving (after the job waited for the thread). */
  readonly onProgress?: () => void;
}

interface Pending {
  readonly id: number;
  readonly job: ProverJob;
  readonly options: ProverJobOptions;
  readonly resolve: (reply: ProverResult) => void;
  readonly reject: (error: Error) => void;
  readonly onAbort: () => void;
}

/** Options of a prover thread (tests shorten them). */
export interface ProverThreadOptions {
  readonly maxJobs?: number;
  readonly idleMs?: number;
}

export class ProverThread {
  private worker: Worker | undefined;
  /** Jobs the current worker has finished. */
  private jobsRun = 0;
  private current: Pending | undefined;
  private readonly queue: Pending[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  /** Threads started over this host's life (a figure for tests and diagnostics). */
  started = 0;
  private readonly maxJobs: number;
  private readonly idleMs: number;

  constructor(options: ProverThreadOptions = {}) {
    this.maxJobs = options.maxJobs ?? PROVER_THREAD_MAX_JOBS;
    this.idleMs = options.idleMs ?? PROVER_THREAD_IDLE_MS;
  }

  /** Whether a thread is alive now (idle or busy). */
  get alive(): boolean {
    return this.worker !== undefined;
  }

  /** Runs `job` on the thread once every job before it is done; rejects with a ProvingError on failure. */
  run(job: ProverJob, options: ProverJobOptions = {}): Promise<ProverResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new ProvingCancelledError("proving cancelled"));
    return new Promise<ProverResult>((resolve, reject) => {
      const pending: Pending = {
        id: this.nextId++,
        job,
        options,
        resolve,
        reject,
        onAbort: () => this.cancel(pending),
      };
      signal?.addEventListener("abort", pending.onAbort, { once: true });
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Proves `job` on the thread: its proof and public signals. */
  async prove(
    job: Extract<ProverJob, { kind: "prove" }>,
    options: ProverJobOptions = {},
  ): Promise<{ proof: Groth16Proof; publicSignals: string[] }> {
    const reply = await this.run(job, options);
    if (reply.kind !== "done")
      throw new ProvingError("the prover thread answered a proof with a verification");
    return { proof: reply.proof, publicSignals: reply.publicSignals };
  }

  /** Verifies `job` on the thread: whether the proof holds. */
  async verify(job: Extract<ProverJob, { kind: "verify" }>): Promise<boolean> {
    const reply = await this.run(job);
    if (reply.kind !== "verified")
      throw new ProvingError("the prover thread answered a verification with a proof");
    return reply.valid;
  }

  /** Ends the thread (idle or not); a running job fails. The next job starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.retire();
    await worker.terminate();
  }

  private pump(): void {
    if (this.current !== undefined) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    clearTimeout(this.idleTimer);
    this.current = next;
    const worker = this.thread();
    worker.ref(); // a job's caller is waiting on it
    worker.postMessage({ id: next.id, job: next.job } satisfies ProverRequest);
  }

  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    // snarkjs loads the `web-worker` package, which treats any worker thread as one of its own and loads
    // `workerData.mod`: an empty data URL keeps it quiet.
    const worker = new Worker(siblingModule(import.meta.url, "./prover-worker"), {
      workerData: { mod: "data:text/javascript,", name: "vain-prover" },
    });
    this.worker = worker;
    this.jobsRun = 0;
    this.started += 1;
    worker.on("message", (reply: ProverReply) => {
      const pending = this.current;
      if (this.worker !== worker || pending === undefined || reply.id !== pending.id) return;
      if (reply.kind === "progress") {
        pending.options.onProgress?.();
        return;
      }
      this.finish(pending);
      this.jobsRun += 1;
      // After a failure the thread's state is unknown; after maxJobs it has run long enough.
      if (reply.kind === "error" || this.jobsRun >= this.maxJobs) void this.close();
      if (reply.kind === "error") pending.reject(new ProvingError(`proving failed: ${reply.message}`));
      else pending.resolve(reply);
      this.settle();
    });
    worker.on("error", (error) => this.lose(worker, `prover thread crashed: ${error.message}`));
    worker.on("exit", (code) => this.lose(worker, `prover thread exited (code ${code})`));
    return worker;
  }

  /** `worker` is gone: its job (if any) fails, and the next one starts a new thread. */
  private lose(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.retire();
    const pending = this.current;
    if (pending !== undefined) {
      this.finish(pending);
      pending.reject(new ProvingError(why));
    }
    this.settle();
  }

  private cancel(pending: Pending): void {
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      pending.reject(new ProvingCancelledError("proving cancelled"));
      return;
    }
    if (this.current !== pending) return;
    // Reject only once the thread has exited, so a cancelled proof holds no thread or memory.
    const worker = this.worker;
    this.finish(pending);
    this.retire();
    void (worker?.terminate() ?? Promise.resolve()).finally(() => {
      pending.reject(new ProvingCancelledError("proving cancelled"));
      this.settle();
    });
  }

  private finish(pending: Pending): void {
    pending.options.signal?.removeEventListener("abort", pending.onAbort);
    if (this.current === pending) this.current = undefined;
  }

  private retire(): void {
    this.worker = undefined;
    clearTimeout(this.idleTimer);
  }

  /** After a job: the next one runs, or an idle thread stops holding the process open and ends after idleMs. */
  private settle(): void {
    this.pump();
    const worker = this.worker;
    if (this.current !== undefined || worker === undefined) return;
    worker.unref();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.worker === worker && this.current === undefined) void this.close();
    }, this.idleMs);
    this.idleTimer.unref();
  }
}

/** The process's prover thread: proofs are already one at a time (proof-queue.ts); so are their threads. */
export const proverThread = new ProverThread();
