/**
 * `npm run bench:compression -- --only task [--rounds R]` (#22): the node's default task in simulation, dense
 * fp32 FedAvg against the task's default compression (the `taskSpecSchema` defaults: top-k share, QSGD bits,
 * error feedback, local SGD), on the demo network's data (MNIST split seed 7, 8 IID trainers), from the same
 * initial model and local training. It answers how many rounds the compressed default needs to come within a
 * point of dense, which bench:round (real network, ~1-2 min a round) cannot run that long; `--server`,
 * `--server-lr` and `--server-momentum` try another server step on the compressed run, `--rule` the node's
 * aggregation rule (guarded-mean), `--seed` another seed.
 */
import {
  decodeUpdate,
  densify,
  encodeUpdate,
  taskCompressor,
  topKIndices,
} from "../../node/compression/index.ts";
import { taskSpecSchema } from "../../node/protocol/task-spec.ts";
import type { TaskSpec } from "../../node/protocol/task-spec.ts";
import type { TopKOptions } from "../../node/compression/index.ts";
import { TrainingPool, createModel, loadMnist, partition, runSimulation } from "../../node/training/index.ts";
import type { SimulationConfig } from "../../node/training/index.ts";
import type { Row } from "./common.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

/** Trainers of the demo network's flat rounds (the circuit's fan-in). */
const TRAINERS = 8;
/** Rounds whose accuracies are averaged for the gap at the end (one round moves accuracy by ±0.3 pt). */
const TAIL_ROUNDS = 3;

export interface TaskCompressionOptions {
  readonly rounds: number;
  /**
   * Overrides of the task's server step on the compressed run (`--server`, `--server-lr`, `--server-momentum`;
   * default the task's own, FedAvg lr 2); dense fp32 stays McMahan's FedAvg (lr 1), the goal's baseline.
   */
  readonly server?: Partial<TaskSpec["server"]>;
  /** The simulation's seed (initial model, IID split, local shuffles; `--seed`), shared by both runs. */
  readonly seed?: number;
  /**
   * The compressed run's aggregation rule by registry name (`--rule`, e.g. the node's guarded-mean, which may
   * reject honest updates); default the plain weighted mean.
   */
  readonly rule?: string;
  /**
   * Overrides of the task's compression and local epochs (`--ratio`, `--bits`, `--epochs`), to screen a candidate
   * default before the real network runs it; local epochs apply to dense fp32 too (the same local training).
   */
  readonly compression?: Partial<TaskSpec["compression"]>;
  readonly epochs?: number;
  /**
   * bench:round's data for seed S (`--network-split`): MNIST split by seed 6 + S and 8 IID shards by the same
   * seed, as its network's nodes hold them (round-bytes.ts), instead of split 7 and shards by S. The initial model
   * is S's either way; local shuffles stay the simulator's.
   */
  readonly networkSplit?: boolean;
  /** The compressor's age bounds (`--sent-cap`, `--residual-cap`; topk.ts); default the node's (constants.ts). */
  readonly age?: Pick<TopKOptions, "sentNormCap" | "residualNormCap">;
}

function norm(v: Float32Array): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Math.sqrt(sum);
}
const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;

export async function taskCompressionRows(
  options: TaskCompressionOptions,
): Promise<{ rows: Row[]; metrics: Record<string, number> }> {
  const { rounds } = options;
  const spec = taskSpecSchema.parse({
    model: { kind: "mlp" },
    ...(options.server === undefined ? {} : { server: options.server }),
    ...(options.compression === undefined ? {} : { compression: options.compression }),
    ...(options.epochs === undefined ? {} : { train: { epochs: options.epochs } }),
  });
  const { optimizer: server, ...serverOptions } = spec.server;
  const { ratio, quantizeBits, warmupRatios } = spec.compression;
  const warmup =
    warmupRatios.length === 0 ? "" : ` after ${warmupRatios.map((r) => `${r * 100}%`).join(", ")}`;
  const label =
    `top-k ${ratio * 100}%${warmup}, ${quantizeBits}-bit, ${spec.train.epochs} epoch(s), ` +
    `${server}${serverOptions.lr === undefined ? "" : ` lr ${serverOptions.lr}`}${options.rule === undefined ? "" : `, ${options.rule}`}`;
  const pool = new TrainingPool();
  const seed = options.seed ?? spec.initSeed;
  const dataSeed = options.networkSplit === true ? 6 + seed : 7;
  const data = loadMnist({ seed: dataSeed, testFraction: 0.2 });
  const networkShards =
    options.networkSplit === true ? partition(data.train, TRAINERS, { kind: "iid" }, dataSeed) : undefined;
  const config: SimulationConfig = {
    model: spec.model,
    server: "fedavg",
    nodes: TRAINERS,
    rounds,
    partition: { kind: "iid" },
    localEpochs: spec.train.epochs,
    batchSize: spec.train.batchSize,
    learningRate: spec.train.learningRate,
    seed,
  };
  const denseBytes = createModel(spec.model).layout.size * 4;
  const run = async (compressed: boolean) => {
    const compressors = Array.from({ length: TRAINERS }, (_, i) =>
      taskCompressor(spec.compression, i + 1, options.age),
    );
    // Per round, each trainer's sent norm over what a trainer without a residual would send (the top-k of its
    // own update at the task's share): how much a trainer's age lifts its update against a fresh one's.
    const ageRatios: number[][] = [];
    const bytes: number[] = [];
    const aggregateEntries: number[] = [];
    const { history } = await runSimulation(
      pool,
      compressed
        ? { ...config, server, serverOptions, ...(options.rule === undefined ? {} : { rule: options.rule }) }
        : config,
      data,
      {
        ...(networkShards === undefined ? {} : { transformNodeData: () => networkShards }),
        transformUpdates: (_round, updates) => {
          if (!compressed) return updates;
          const union = new Set<number>();
          const ratios: number[] = [];
          const sent = updates.map((u, node) => {
            const wire = encodeUpdate(compressors[node]!.compress(u.update));
            bytes.push(wire.length);
            const decoded = decodeUpdate(wire);
            const own = topKIndices(u.update, Math.max(1, Math.round(u.update.length * ratio)));
            const update = densify(decoded);
            ratios.push(norm(update) / norm(mapFloat32(own, (i) => u.update[i]!)));
            for (const i of decoded.indices) union.add(i);
            return { update, weight: u.weight };
          });
          // The served aggregate lists the union of the trainers' supports (aggregate-wire.ts): its size sets
          // what every node downloads.
          aggregateEntries.push(union.size);
          ageRatios.push(ratios);
          return sent;
        },
        onRound: (r) =>
          process.stdout.write(
            `${compressed ? `default task (${label})` : "dense fp32"}: round ${r.round}/${rounds} ${(r.accuracy * 100).toFixed(2)}%\n`,
          ),
      },
    );
    const meanBytes = compressed ? bytes.reduce((a, b) => a + b, 0) / bytes.length : denseBytes;
    const meanEntries = aggregateEntries.reduce((a, b) => a + b, 0) / Math.max(1, aggregateEntries.length);
    return { accuracies: history.map((h) => h.accuracy), meanBytes, meanEntries, ageRatios };
  };
  try {
    const dense = await run(false);
    const task = await run(true);
    const tail = (a: readonly number[]) => a.slice(-TAIL_ROUNDS).reduce((s, v) => s + v, 0) / TAIL_ROUNDS;
    const rows: Row[] = [
      5,
      ...Array.from({ length: Math.floor(rounds / 10) }, (_, i) => (i + 1) * 10),
      rounds,
    ]
      .filter((r, i, all) => r <= rounds && all.indexOf(r) === i)
      .map((r) => ({
        rounds: r,
        "dense accuracy": dense.accuracies[r - 1]!,
        "default task accuracy": task.accuracies[r - 1]!,
        "gap pts": (dense.accuracies[r - 1]! - task.accuracies[r - 1]!) * 100,
        [`gap pts, mean of last ${TAIL_ROUNDS}`]:
          (tail(dense.accuracies.slice(0, r)) - tail(task.accuracies.slice(0, r))) * 100,
        "update bytes": Math.round(task.meanBytes),
        "update ×": denseBytes / task.meanBytes,
        "aggregate entries": Math.round(task.meanEntries),
        // From the second round on (the first is every trainer's warm-up): mean and largest.
        "sent / own top-k, mean": mean(task.ageRatios[r - 1]!),
        "sent / own top-k, max": Math.max(...task.ageRatios[r - 1]!),
      }));
    const last = rows.at(-1)!;
    return {
      rows,
      metrics: {
        taskUpdateRatio: denseBytes / task.meanBytes,
        taskGapPts: last["gap pts"] as number,
        taskGapPtsTail: last[`gap pts, mean of last ${TAIL_ROUNDS}`] as number,
        taskRounds: rounds,
      },
    };
  } finally {
    await pool.close();
  }
}
