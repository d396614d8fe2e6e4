/**
 * The commitment pool's queue alone (node/proofs/commit-pool.ts), as an aggregator of an N-node round in one
 * process meets it: 2N background commitments (each node's two replicas) are queued first, then the aggregator's N
 * urgent checks of the updates it aggregates, all of the MLP's size (101,770 parameters, ~0.35 s each on a
 * quiet core). Reports when the last urgent check finished (what the aggregator's post waits for) and when the
 * last of all did, for the session-11 queue (one worker, first come) and the pool (one worker per core,
 * urgent first), back to back in one process, so both see the same machine.
 *
 * Usage: node scripts/bench/commit-queue.ts [--nodes N] (default 64)
 */
import { commitWorkerCount, configureCommitPool } from "../../node/proofs/commit-pool.ts";
import { commitEncoded } from "../../node/proofs/commitment.ts";
import type { CommitPriority } from "../../node/proofs/commit-pool.ts";
import { numberOption, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";

/** Parameters of the task's MLP. */
const MLP_PARAMS = 101_770;
/** Replicas a trainer pushes (round-data.ts REPLICAS_PER_UPDATE): the background checks per node. */
const REPLICAS = 2;

function encodedUpdate(seed: number): Uint16Array {
  const out = new Uint16Array(MLP_PARAMS);
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    out[i] = x % 65_536;
  }
  return out;
}

async function measure(nodes: number, workers: number, prioritized: boolean): Promise<Row> {
  configureCommitPool({ workers, prioritized });
  const jobs: [CommitPriority, Uint16Array][] = [];
  for (let i = 0; i < REPLICAS * nodes; i++) jobs.push(["background", encodedUpdate(i + 1)]);
  for (let i = 0; i < nodes; i++) jobs.push(["urgent", encodedUpdate(100_000 + i)]);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let lastUrgent = 0;
  await Promise.all(
    jobs.map(async ([priority, encoded]) => {
      await commitEncoded(encoded, priority);
      if (priority === "urgent") lastUrgent = performance.now();
    }),
  );
  const all = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    queue: prioritized ? "urgent first" : "first come",
    workers,
    "background / urgent": `${REPLICAS * nodes} / ${nodes}`,
    "last urgent done s": (lastUrgent - started) / 1000,
    "all done s": all / 1000,
    "CPU s": (cpu.user + cpu.system) / 1e6,
  };
}

runBenchmark(async () => {
  const nodes = numberOption("nodes", 64);
  const rows = [await measure(nodes, 1, false), await measure(nodes, commitWorkerCount(), true)];
  printTable(rows);
  await writeResults(
    "commit-queue",
    {
      [`commit_queue_last_urgent_s_fifo_${nodes}`]: rows[0]!["last urgent done s"] as number,
      [`commit_queue_last_urgent_s_pool_${nodes}`]: rows[1]!["last urgent done s"] as number,
    },
    rows,
  );
});
