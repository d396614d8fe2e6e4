/**
 * Update commitments off the event loop. One commitment of the 101,770-parameter MLP is about 0.3 s of Poseidon
 * (circomlibjs' wasm field arithmetic), and a node commits often: its own update, every update it aggregates,
 * every replica it keeps, every aggregate it derives a model from. On the event loop each one stalled the node's
 * round ticks, streams and admissions: in bench:round --scale 64 commitments were 63% of the main thread from the
 * last commit to the lock (58 s, the lock waiting behind them), and at 128 nodes deliveries took 33 s and 469
 * dials or admissions timed out (docs/scaling.md, session 11). A worker thread computes them instead; the caller
 * falls back to its own thread when there is none (inside a worker, or the worker failed).
 */
import { isMainThread, Worker } from "node:worker_threads";

import { siblingModule } from "../runtime/assets.ts";
import type { UpdateCommitment } from "./commitment.ts";

/** A commitment asked of the worker. */
export interface CommitRequest {
  readonly id: number;
  readonly encoded: Uint16Array;
}

/** The worker's answer: the commitment, or why it has none. */
export type CommitResponse =
  | { readonly id: number; readonly commitment: UpdateCommitment }
  | { readonly id: number; readonly error: string };

interface Pending {
  readonly resolve: (commitment: UpdateCommitment | undefined) => void;
}

/**
 * One worker per process, shared by every node in it (bench:round runs hundreds in one process): the machines
 * this runs on have 2 cores, one of them the event loop's; the jobs queue in the worker, first come first served.
 */
let worker: Worker | undefined;
const pending = new Map<number, Pending>();
let nextId = 1;

/** Resolves every job still waiting with undefined (its caller commits on its own thread). */
function abandon(from: Worker): void {
  if (worker === from) worker = undefined;
  for (const job of pending.values()) job.resolve(undefined);
  pending.clear();
}

function spawn(): Worker {
  const spawned = new Worker(siblingModule(import.meta.url, "./commit-worker"), {
    // circomlibjs loads the `web-worker` package, which takes any worker thread for one of its own and loads
    // `workerData.mod`: an empty data URL keeps it quiet (as for the prover's worker, prover.ts).
    workerData: { mod: "data:text/javascript,", name: "vain-commit" },
  });
  spawned.on("message", (response: CommitResponse) => {
    const job = pending.get(response.id);
    if (job === undefined) return;
    pending.delete(response.id);
    // An idle worker does not hold the process open; one with jobs does (their callers are waiting).
    if (pending.size === 0) spawned.unref();
    job.resolve("commitment" in response ? response.commitment : undefined);
  });
  spawned.on("error", () => abandon(spawned));
  spawned.on("exit", () => abandon(spawned));
  spawned.unref();
  return spawned;
}

/**
 * The commitment of `encoded`, computed in the process's commitment worker; undefined when there is no worker to
 * ask (called from a worker thread, or it could not start or failed), and the caller computes it itself.
 */
export async function commitOffThread(encoded: Uint16Array): Promise<UpdateCommitment | undefined> {
  if (!isMainThread) return undefined;
  let target: Worker;
  try {
    target = worker ??= spawn();
  } catch {
    return undefined;
  }
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve });
    target.ref();
    target.postMessage({ id, encoded } satisfies CommitRequest);
  });
}
