/**
 * Update commitments off the event loop. One commitment of the 101,770-parameter MLP is about 0.35 s of Poseidon
 * (circomlibjs' wasm field arithmetic), and a node commits often: its own update, every update it aggregates,
 * every replica it keeps, every update it recomputes as a watcher, every aggregate it derives a model from. On
 * the event loop each one stalled the node's round ticks, streams and admissions (bench:round --scale 64: 63% of
 * the main thread from the last commit to the lock, docs/scaling.md, session 11), so worker threads compute them.
 *
 * A pool of workers sized to the cores (`commitWorkerCount`), fed from one queue on this thread in two
 * priorities: a round waits on the `urgent` ones (a trainer's own commitment before it can commit on chain, the
 * aggregator's checks of the updates it aggregates and of its aggregate), not on the `background` ones (replicas
 * kept, watchers' recomputations, models derived). With one worker and a first-come queue, an aggregator's N
 * checks waited behind every replica check of the process (at 64 nodes a push's ack took 19 s, docs/scaling.md).
 * Each worker holds one job at a time, so a job queued later at higher priority overtakes everything not yet
 * started. The caller falls back to its own thread when there is no worker (inside a worker, or it failed).
 *
 * Jobs are content-addressed (sha256 of the encoded values): a commitment is a pure function of them, and one
 * process commits the same vector many times: a node's replica check and its watcher's recomputation of one update,
 * every node of a process recomputing the round's aggregate, a history replay. A vector asked while a job for it
 * waits or runs joins that job (raising it to `urgent` if the new caller's round waits on it), and the last
 * commitments computed are kept (`memoChunks`). One round of a 5-node test network committed ~30 vectors of which 6
 * were distinct: 21 of its 30 CPU s were Poseidon (2026-12-06).
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { isMainThread, Worker } from "node:worker_threads";

import { siblingModule } from "../runtime/assets.ts";
import type { UpdateCommitment } from "./commitment.ts";

/** Which queue a commitment waits in: `urgent` ones start before any `background` one still waiting. */
export type CommitPriority = "urgent" | "background";

/**
 * Most commitment workers in one process: each holds its own Poseidon tables and module graph (tens of MB), and
 * past a few the event loop that feeds them and handles their callers' streams is the bound, not the hashing.
 */
export const MAX_COMMIT_WORKERS = 4;

/**
 * Chunks of the commitments kept after they were computed (each chunk a hash and its share of the Merkle levels,
 * ~270 bytes): 65,536 chunks are ~17 MB, 41 commitments of the 101,770-parameter MLP (1,591 chunks), more than
 * a round of 16 trainers asks again. The oldest used are dropped first.
 */
export const COMMIT_MEMO_CHUNKS = 65_536;

/**
 * Workers for `cores` cores: one per core, at most MAX_COMMIT_WORKERS. Not cores − 1: on this project's 2-core
 * machines the aggregator's N checks are the round's critical path, and urgent jobs may use every worker. Jobs
 * the round does not wait on leave one core to the event loop (`backgroundLimit`).
 */
export function commitWorkerCount(cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(MAX_COMMIT_WORKERS, Math.floor(cores)));
}

/** A commitment asked of a worker. */
export interface CommitRequest {
  readonly id: number;
  readonly encoded: Uint16Array;
}

/** A worker's answer: the commitment, or why it has none. */
export type CommitResponse =
  | { readonly id: number; readonly commitment: UpdateCommitment }
  | { readonly id: number; readonly error: string };

interface Job {
  readonly id: number;
  readonly encoded: Uint16Array;
  /** sha256 of the encoded values: callers asking for the same vector share the job. */
  readonly key: string;
  /** Raised to `urgent` when an urgent caller joins a waiting background job. */
  priority: CommitPriority;
  /** Every caller waiting for this vector's commitment. */
  readonly waiters: Array<(commitment: UpdateCommitment | undefined) => void>;
}

interface PoolWorker {
  readonly thread: Worker;
  /** The job this worker computes now (one at a time: the queue, not the worker's inbox, orders the rest). */
  job: Job | undefined;
}

/** How the pool runs: its size, and whether priorities order the queue (false: first come, first served). */
export interface CommitPoolConfig {
  readonly workers: number;
  readonly prioritized: boolean;
  /** Chunks of computed commitments kept for callers asking again (0: none kept; joining a pending job still holds). */
  readonly memoChunks: number;
}

/** The pool's counters since the process started (bench:round prints them; the tests read them). */
export interface CommitPoolStats {
  /** Jobs finished by a worker, per priority. */
  readonly done: { urgent: number; background: number };
  /** The most jobs in workers at once. */
  readonly maxBusy: number;
  /** The most background jobs in workers at once. */
  readonly maxBackgroundBusy: number;
  /** Jobs in workers now, per priority. */
  readonly busy: { urgent: number; background: number };
  /** Workers started (a failed worker is replaced by the next job that finds none idle). */
  readonly spawned: number;
  /** Workers alive now. */
  readonly live: number;
  /** Callers that joined a job already waiting or running for the same vector. */
  readonly joined: number;
  /** Callers answered from the kept commitments, without a job. */
  readonly memoHits: number;
}

let config: CommitPoolConfig = {
  workers: commitWorkerCount(),
  prioritized: true,
  memoChunks: COMMIT_MEMO_CHUNKS,
};
const workers: PoolWorker[] = [];
const queues: Record<CommitPriority, Job[]> = { urgent: [], background: [] };
/** Jobs waiting or running, by content key. */
const pending = new Map<string, Job>();
/** Computed commitments by content key, least recently used first. */
const memo = new Map<string, UpdateCommitment>();
let memoChunks = 0;
const stats = {
  done: { urgent: 0, background: 0 },
  maxBusy: 0,
  maxBackgroundBusy: 0,
  spawned: 0,
  joined: 0,
  memoHits: 0,
};
let nextId = 1;

/**
 * Sets the pool's size and ordering for the jobs asked from now on (bench:round --commit-workers /
 * --commit-fifo measures the old single first-come worker against the pool in one checkout); a smaller size
 * retires the workers beyond it, idle ones at once, busy ones when their job is done.
 */
export function configureCommitPool(next: Partial<CommitPoolConfig>): CommitPoolConfig {
  config = {
    workers: next.workers === undefined ? config.workers : Math.max(1, Math.floor(next.workers)),
    prioritized: next.prioritized ?? config.prioritized,
    memoChunks: next.memoChunks === undefined ? config.memoChunks : Math.max(0, Math.floor(next.memoChunks)),
  };
  trimMemo();
  for (const w of workers.filter((w) => w.job === undefined)) if (workers.length > config.workers) retire(w);
  return config;
}

export function commitPoolStats(): CommitPoolStats {
  const { maxBusy, maxBackgroundBusy, spawned, joined, memoHits } = stats;
  const urgent = workers.filter((w) => w.job?.priority === "urgent").length;
  const busy = { urgent, background: backgroundBusy() };
  return {
    done: { ...stats.done },
    maxBusy,
    maxBackgroundBusy,
    busy,
    spawned,
    live: workers.length,
    joined,
    memoHits,
  };
}

/** Drops the least recently used commitments until the kept ones fit `memoChunks`. */
function trimMemo(): void {
  for (const [key, commitment] of memo) {
    if (memoChunks <= config.memoChunks) break;
    memo.delete(key);
    memoChunks -= commitment.chunkHashes.length;
  }
}

function remember(key: string, commitment: UpdateCommitment): void {
  if (commitment.chunkHashes.length > config.memoChunks || memo.has(key)) return;
  memo.set(key, commitment);
  memoChunks += commitment.chunkHashes.length;
  trimMemo();
}

/** Answers every caller of `job` and forgets it as pending (a commitment is kept for callers asking again). */
function settle(job: Job, commitment: UpdateCommitment | undefined): void {
  pending.delete(job.key);
  if (commitment !== undefined) remember(job.key, commitment);
  for (const resolve of job.waiters) resolve(commitment);
}

function retire(w: PoolWorker): void {
  const i = workers.indexOf(w);
  if (i >= 0) workers.splice(i, 1);
  void w.thread.terminate();
}

/** A worker failed or exited: its job falls back to its caller, and with no worker left so does every queued one. */
function lost(w: PoolWorker): void {
  const i = workers.indexOf(w);
  if (i < 0) return;
  workers.splice(i, 1);
  if (w.job !== undefined) settle(w.job, undefined);
  w.job = undefined;
  if (workers.length === 0) abandonQueued();
}

/** Every queued job falls back to its caller (no worker is left to take it; the next job tries to start one). */
function abandonQueued(): void {
  for (const queue of Object.values(queues)) for (const job of queue.splice(0)) settle(job, undefined);
}

function spawn(): PoolWorker {
  const thread = new Worker(siblingModule(import.meta.url, "./commit-worker"), {
    // circomlibjs loads the `web-worker` package, which takes any worker thread for one of its own and loads
    // `workerData.mod`: an empty data URL keeps it quiet (as for the prover's worker, prover.ts).
    workerData: { mod: "data:text/javascript,", name: "vain-commit" },
  });
  const w: PoolWorker = { thread, job: undefined };
  thread.on("message", (response: CommitResponse) => {
    const job = w.job;
    if (job === undefined || job.id !== response.id) return;
    w.job = undefined;
    stats.done[job.priority] += 1;
    settle(job, "commitment" in response ? response.commitment : undefined);
    // A pool made smaller while this worker was busy retires it now.
    if (workers.length > config.workers) retire(w);
    dispatch();
  });
  thread.on("error", () => lost(w));
  thread.on("exit", () => lost(w));
  // An idle worker does not hold the process open; one with a job does (its caller is waiting).
  thread.unref();
  stats.spawned += 1;
  return w;
}

/**
 * Most background jobs in workers at once: one worker fewer than the pool (at least one). With every worker on
 * background jobs (replica checks: two a trainer) the event loop had no core of its own: at 256 nodes in one
 * process it ran on 0.41 of a core and 3,497 delivery dials timed out at 5 s (docs/scaling.md, session 12). The
 * first-come mode (the session-11 reference) has no such limit.
 */
function backgroundLimit(): number {
  return Math.max(1, config.workers - 1);
}

function backgroundBusy(): number {
  return workers.filter((w) => w.job?.priority === "background").length;
}

/** Whether a queued job may start now (an urgent one always; a background one within `backgroundLimit`). */
function startable(): boolean {
  if (queues.urgent.length > 0) return true;
  return queues.background.length > 0 && (!config.prioritized || backgroundBusy() < backgroundLimit());
}

/** The next job to start: the oldest urgent one, else the oldest background one (or the oldest of all, FIFO). */
function nextJob(): Job | undefined {
  if (config.prioritized)
    return (
      queues.urgent.shift() ?? (backgroundBusy() < backgroundLimit() ? queues.background.shift() : undefined)
    );
  const [u, b] = [queues.urgent[0], queues.background[0]];
  if (u === undefined || b === undefined) return queues.urgent.shift() ?? queues.background.shift();
  return u.id < b.id ? queues.urgent.shift() : queues.background.shift();
}

/** Starts queued jobs on idle workers, starting workers up to the pool's size. */
function dispatch(): void {
  for (;;) {
    if (!startable()) break;
    let w = workers.find((candidate) => candidate.job === undefined);
    if (w === undefined) {
      if (workers.length >= config.workers) break;
      try {
        w = spawn();
      } catch {
        if (workers.length === 0) abandonQueued();
        break;
      }
      workers.push(w);
    }
    const job = nextJob()!;
    w.job = job;
    w.thread.ref();
    w.thread.postMessage({ id: job.id, encoded: job.encoded } satisfies CommitRequest);
    stats.maxBusy = Math.max(stats.maxBusy, workers.filter((x) => x.job !== undefined).length);
    stats.maxBackgroundBusy = Math.max(stats.maxBackgroundBusy, backgroundBusy());
  }
  for (const w of workers) if (w.job === undefined) w.thread.unref();
}

/**
 * The commitment of `encoded`, computed in the process's commitment pool at `priority`; undefined when there is
 * no worker to ask (called from a worker thread, or none could start or it failed), and the caller computes it
 * itself.
 */
export async function commitOffThread(
  encoded: Uint16Array,
  priority: CommitPriority = "background",
): Promise<UpdateCommitment | undefined> {
  if (!isMainThread) return undefined;
  const key = createHash("sha256")
    .update(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength))
    .digest("base64");
  const kept = memo.get(key);
  if (kept !== undefined) {
    // Most recently used last: the trim drops the oldest first.
    memo.delete(key);
    memo.set(key, kept);
    stats.memoHits += 1;
    return kept;
  }
  return new Promise((resolve) => {
    const joined = pending.get(key);
    if (joined !== undefined) {
      stats.joined += 1;
      joined.waiters.push(resolve);
      // A round now waits on a job still queued as background: it moves to the urgent queue, in its order.
      const at = queues.background.indexOf(joined);
      if (priority === "urgent" && at >= 0) {
        queues.background.splice(at, 1);
        joined.priority = "urgent";
        queues.urgent.push(joined);
        queues.urgent.sort((a, b) => a.id - b.id);
        dispatch();
      }
      return;
    }
    const job: Job = { id: nextId++, encoded, key, priority, waiters: [resolve] };
    pending.set(key, job);
    queues[priority].push(job);
    dispatch();
  });
}
