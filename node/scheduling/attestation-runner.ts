/**
 * Runs attestation workloads in one worker thread. The workload is CPU-bound and synchronous, so it must
 * never run on the event loop of a node that is also serving the mesh. One job at a time (callers queue): a
 * node proves for one verifier at a time, and a measurement taken while another runs would be skewed.
 * Cancellation terminates the worker (the workload has no await points); the next job starts a fresh one.
 */
import { Worker } from "node:worker_threads";

import type { AttestationChallenge, AttestationResponse } from "./attestation.ts";
import { SchedulingError } from "./errors.ts";
import { siblingModule } from "../runtime/assets.ts";

export interface AttestationWorkerRequest {
  readonly id: number;
  readonly challenge: AttestationChallenge;
}

export type AttestationWorkerResponse =
  | { readonly id: number; readonly ok: true; readonly response: AttestationResponse }
  | { readonly id: number; readonly ok: false; readonly message: string };

export class AttestationRunner {
  private worker: Worker | undefined;
  private nextId = 1;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Runs `challenge` when the worker is free; rejects with a typed error on abort, crash or close. */
  run(challenge: AttestationChallenge, signal?: AbortSignal): Promise<AttestationResponse> {
    const job = this.tail.then(() => this.execute(challenge, signal));
    this.tail = job.catch(() => undefined);
    return job;
  }

  /** Stops the worker; pending and later jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private spawn(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(siblingModule(import.meta.url, "./attestation-worker"));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private execute(challenge: AttestationChallenge, signal?: AbortSignal): Promise<AttestationResponse> {
    if (this.closed) return Promise.reject(new SchedulingError("ATTESTATION_MALFORMED", "runner closed"));
    if (signal?.aborted === true)
      return Promise.reject(new SchedulingError("ATTESTATION_MALFORMED", "attestation cancelled"));
    const worker = this.spawn();
    const id = this.nextId++;
    return new Promise<AttestationResponse>((resolve, reject) => {
      const cleanup = (): void => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        signal?.removeEventListener("abort", onAbort);
      };
      const onMessage = (message: AttestationWorkerResponse): void => {
        if (message.id !== id) return;
        cleanup();
        if (message.ok) resolve(message.response);
        else reject(new SchedulingError("ATTESTATION_MALFORMED", message.message));
      };
      const onError = (error: Error): void => {
        cleanup();
        this.worker = undefined;
        reject(new SchedulingError("ATTESTATION_MALFORMED", `attestation worker failed: ${error.message}`));
      };
      const onExit = (): void => {
        cleanup();
        if (this.worker === worker) this.worker = undefined;
        reject(new SchedulingError("ATTESTATION_MALFORMED", "attestation worker stopped"));
      };
      const onAbort = (): void => {
        cleanup();
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        reject(new SchedulingError("ATTESTATION_MALFORMED", "attestation cancelled"));
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.postMessage({ id, challenge } satisfies AttestationWorkerRequest);
    });
  }
}
