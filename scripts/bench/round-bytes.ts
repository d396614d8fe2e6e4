/**
 * bench:round's compression table (#22): R rounds of a task on the real network (chain, libp2p over TCP,
 * proofs), with the bytes every node moved on the blob protocol (updates, replicas, the aggregate it derives
 * the next model from, and the copies watchers recompute from), against dense fp32 FedAvg: each node uploads
 * its dense update and downloads the dense model (2 × 4 bytes per parameter per round). Dense FedAvg's accuracy
 * is measured in the same run, in process, from the same initial model, shards and local training.
 *
 * Gossip (announcements, heartbeats) and chain RPC are not counted: both are per message, not per parameter.
 */
import pino from "pino";

import { fedAvg } from "../../node/core/updates.ts";
import { setAggregators, startLocalVainNetwork } from "../../node/demo/network.ts";
import type { LocalVainNetwork } from "../../node/demo/network.ts";
import { runRound } from "../../node/demo/rounds.ts";
import { freePort } from "../../node/demo/demo.ts";
import type { TaskSpecInput } from "../../node/protocol/task-spec.ts";
import { createModel } from "../../node/training/architectures.ts";
import type { Row } from "./common.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

export interface CompressionConfig {
  readonly name: string;
  /** Overrides of the default task spec (none: the node's default task). */
  readonly spec: Partial<TaskSpecInput>;
}

/** The node's default task, and bench:compression's most compressed scheme within a point of dense. */
export const COMPRESSION_CONFIGS: readonly CompressionConfig[] = [
  { name: "default task", spec: {} },
  {
    name: "top-k 0.25%, 2-bit, 3 epochs",
    spec: {
      compression: { ratio: 0.0025, quantizeBits: 2, momentum: 0 },
      train: { epochs: 3, batchSize: 32, learningRate: 0.1 },
    },
  },
];

/**
 * Dense FedAvg over the same trainers' shards for `rounds` rounds, from the task's initial model: its accuracy
 * after each round (computed before the network's rounds, so a run cut by its time cap still compares).
 */
async function denseFedAvgAccuracies(net: LocalVainNetwork, rounds: number): Promise<number[]> {
  const model = createModel(net.spec.model);
  let params = model.init(net.spec.initSeed);
  const accuracies: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const base = params;
    const trained = await Promise.all(
      net.nodes.slice(0, net.trainers).map((node) =>
        net.pool.train({
          model: net.spec.model,
          params: base,
          data: node.participant.dataset,
          options: { ...net.spec.train, seed: round + net.spec.initSeed },
        }),
      ),
    );
    const mean = fedAvg(
      trained.map((t) => ({
        update: mapFloat32(t.params, (v, i) => v - base[i]!),
        weight: t.samples,
      })),
    );
    params = mapFloat32(base, (v, i) => v + mean[i]!);
    accuracies.push((await net.pool.evaluate(net.spec.model, params, net.test)).accuracy);
  }
  return accuracies;
}

const blobBytes = (net: LocalVainNetwork) =>
  net.nodes.map((node) => ({
    sent: node.mesh.blobs.stats.bytesSent,
    received: node.mesh.blobs.stats.bytesReceived,
  }));

/**
 * Second copies, summed over the nodes: updates watchers fetched because the aggregator's push had not come
 * within the grace, and pushes declined before their body because the receiver held the bytes by then (push
 * 2.0.0). Late fetches minus declined pushes bounds the updates a node still downloaded twice.
 */
const copies = (net: LocalVainNetwork) => ({
  lateFetches: net.nodes.reduce((sum, node) => sum + node.participant.stats.lateFetches, 0),
  declinedHeld: net.nodes.reduce((sum, node) => sum + node.mesh.blobs.stats.declinedHeld, 0),
  /** Encoded aggregates handed out (pushed or served): in a proven round every one is a node that did not recompute. */
  aggregatesServed: net.nodes.reduce((sum, node) => sum + node.participant.stats.aggregatesServed, 0),
  aggregatesFetched: net.nodes.reduce((sum, node) => sum + node.participant.stats.aggregatesFetched, 0),
});

/**
 * One row: R rounds of `config` on `nodes` real nodes (the first round also warms up JIT and proof artifacts).
 * `seed` S sets the task's initSeed (initial model, every local training's shuffles) to S and the data split's
 * seed to 6 + S, so seed 1 is the run the earlier figures came from (initSeed 1, split 7).
 */
export async function measureCompression(
  config: CompressionConfig,
  nodes: number,
  rounds: number,
  progress: (line: string) => void,
  seed = 1,
): Promise<Row> {
  const net = await startLocalVainNetwork({
    nodes,
    port: await freePort(),
    log: pino({ level: process.env["VAIN_BENCH_LOG"] ?? "silent" }, pino.destination(2)),
    spec: { ...config.spec, initSeed: seed },
    dataSeed: 6 + seed,
    pollIntervalMs: 300,
    // Phases long enough for a loaded machine (the driver moves the clock past each once its work is done).
    windowS: 120n,
  });
  try {
    await setAggregators(net, [0]);
    const dense = await denseFedAvgAccuracies(net, rounds);
    const paramSize = createModel(net.spec.model).layout.size;
    const updateBytes: number[] = [];
    let sent = 0;
    let received = 0;
    let finalized = 0;
    let accuracy = 0;
    for (let round = 1; round <= rounds; round++) {
      const before = blobBytes(net);
      const report = await runRound(net, round, 300_000, 180_000);
      const after = blobBytes(net);
      // Bytes of round 1 include no model download either (every node builds the initial model from its seed).
      sent += after.reduce((sum, b, i) => sum + b.sent - before[i]!.sent, 0);
      received += after.reduce((sum, b, i) => sum + b.received - before[i]!.received, 0);
      for (const node of net.nodes) {
        const own = node.participant.ownUpdate(report.roundId);
        if (own !== undefined) updateBytes.push(own.length);
      }
      if (report.state === "finalized") finalized += 1;
      accuracy = report.accuracy;
      const twice = copies(net);
      // Bytes so far on each line, so a run cut by its time cap still reports them.
      progress(
        `${config.name}: round ${round}/${rounds} ${report.state}, accuracy ${(report.accuracy * 100).toFixed(2)}%, ` +
          `mean update ${Math.round(updateBytes.reduce((a, b) => a + b, 0) / Math.max(1, updateBytes.length))} B, ` +
          `per node per round: received ${Math.round(received / (nodes * round))} B, ` +
          `sent + received ${Math.round((sent + received) / (nodes * round))} B; ` +
          `late fetches ${twice.lateFetches}, held pushes declined ${twice.declinedHeld}, ` +
          `aggregates served ${twice.aggregatesServed}, fetched ${twice.aggregatesFetched} (all nodes, so far); ` +
          `dense FedAvg after ${round} rounds ${(dense[round - 1]! * 100).toFixed(2)}%`,
      );
    }
    const denseAccuracy = dense[rounds - 1]!;
    const denseUpdate = paramSize * 4;
    const meanUpdate = updateBytes.reduce((a, b) => a + b, 0) / Math.max(1, updateBytes.length);
    const perNodeRound = (sent + received) / (nodes * rounds);
    const downPerNodeRound = received / (nodes * rounds);
    const twice = copies(net);
    return {
      config: config.name,
      seed,
      nodes,
      rounds,
      finalized,
      "update bytes": Math.round(meanUpdate),
      "update ×": denseUpdate / Math.max(1, meanUpdate),
      "download bytes/node": Math.round(downPerNodeRound),
      "total bytes/node": Math.round(perNodeRound),
      "dense FedAvg bytes/node": 2 * denseUpdate,
      "total ×": (2 * denseUpdate) / Math.max(1, perNodeRound),
      "late fetches": twice.lateFetches,
      "held pushes declined": twice.declinedHeld,
      "aggregates served": twice.aggregatesServed,
      "aggregates fetched": twice.aggregatesFetched,
      accuracy,
      "dense FedAvg accuracy": denseAccuracy,
      "loss pts": (denseAccuracy - accuracy) * 100,
    };
  } finally {
    await net.stop();
  }
}
