/**
 * bench:simulate's asynchronous rows (#22): synchronous FedAvg against FedBuff (node/training/fedbuff.ts) on
 * nodes of heterogeneous speed, in virtual time; every local training and evaluation is real (the worker pool).
 * Node i is 8^(i/(N−1)) times slower than the fastest (the speeds are shuffled against the Dirichlet shards, so
 * a slow node's classes are not a fixed subset); a local epoch takes its samples / speed plus a fixed exchange.
 * - sync, wait for all: a round lasts as long as its slowest node; every node's work counts.
 * - sync, deadline: a round closes at 1.5 × the median node's time (node/scheduling's deadline slack); nodes
 *   slower than that are dropped and their epoch is wasted.
 * - FedBuff: each node trains from the latest model whenever it finishes; the server steps every K arrivals with
 *   staleness weights.
 * Reported: virtual seconds to the target accuracy, accuracy at the horizon, the share of nodes with any update
 * counted, and the share of local epochs trained that counted.
 */
import { Rng } from "../../node/core/rng.ts";
import { difference, fedAvg } from "../../node/core/updates.ts";
import { FedBuffServer } from "../../node/training/fedbuff.ts";
import { createModel, partition } from "../../node/training/index.ts";
import type { Dataset, ModelSpec, TrainingPool } from "../../node/training/index.ts";
import type { Row } from "./common.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

const NODES = 10;
/** Slowest node's slowdown against the fastest (an order of magnitude is common across phones and laptops). */
const SPEED_SPREAD = 8;
/** Fastest node's speed, samples per virtual second: about one second per local epoch of its shard. */
const FAST_SAMPLES_PER_S = 800;
/** Model download and update upload per local epoch, virtual seconds. */
const EXCHANGE_S = 0.2;
/** Round deadline as a multiple of the median node's time (node/scheduling's slack). */
const DEADLINE_FACTOR = 1.5;
const DIRICHLET_ALPHA = 0.5;
const MODEL: ModelSpec = { kind: "mlp" };
const TRAIN = { epochs: 1, batchSize: 32, learningRate: 0.05 } as const;

interface Trace {
  readonly points: { t: number; accuracy: number }[];
  /** Local epochs trained before the horizon, and those whose update entered the model. */
  finished: number;
  counted: number;
  readonly countedNodes: Set<number>;
}

interface World {
  readonly pool: TrainingPool;
  readonly shards: readonly Dataset[];
  readonly test: Dataset;
  /** Virtual seconds node i needs for one local epoch and its exchange. */
  readonly duration: readonly number[];
  readonly horizonS: number;
}

async function trainFrom(
  world: World,
  node: number,
  base: Float32Array,
  seed: number,
): Promise<Float32Array> {
  const result = await world.pool.train({
    model: MODEL,
    params: base,
    data: world.shards[node]!,
    options: { ...TRAIN, seed },
  });
  return difference(result.params, base);
}

async function evaluate(world: World, trace: Trace, t: number, params: Float32Array): Promise<void> {
  const { accuracy } = await world.pool.evaluate(MODEL, params, world.test);
  trace.points.push({ t, accuracy });
}

/** Synchronous FedAvg; `deadline` drops the nodes slower than DEADLINE_FACTOR × the median node. */
async function synchronous(world: World, deadline: boolean, init: Float32Array): Promise<Trace> {
  const trace: Trace = { points: [], finished: 0, counted: 0, countedNodes: new Set() };
  const sorted = [...world.duration].sort((a, b) => a - b);
  const median = (sorted[(NODES - 1) >> 1]! + sorted[NODES >> 1]!) / 2;
  const cut = deadline ? DEADLINE_FACTOR * median : Infinity;
  const included = world.duration.flatMap((d, i) => (d <= cut ? [i] : []));
  const roundS = deadline ? cut : Math.max(...world.duration);
  let params = init;
  let t = 0;
  for (let round = 1; t + roundS <= world.horizonS * (1 + 1e-9); round++) {
    const base = params;
    const updates = await Promise.all(
      included.map(async (i) => ({
        update: await trainFrom(world, i, base, round * 1009 + i),
        weight: world.shards[i]!.count,
      })),
    );
    const mean = fedAvg(updates);
    params = mapFloat32(base, (v, j) => v + mean[j]!);
    t += Math.min(roundS, Math.max(...included.map((i) => world.duration[i]!)));
    // Every node trained an epoch this round; a dropped node's arrives after the cut and never counts.
    trace.finished += NODES;
    trace.counted += included.length;
    for (const i of included) trace.countedNodes.add(i);
    await evaluate(world, trace, t, params);
  }
  return trace;
}

/** FedBuff: every node trains back to back from the latest model; the server steps every K arrivals. */
async function fedBuff(world: World, init: Float32Array): Promise<Trace> {
  const trace: Trace = { points: [], finished: 0, counted: 0, countedNodes: new Set() };
  const server = new FedBuffServer(init);
  let job = 0;
  const start = async (node: number, t: number) => ({
    node,
    finish: t + world.duration[node]!,
    base: server.version,
    update: await trainFrom(world, node, server.model(), ++job * 1009 + node),
  });
  const running = await Promise.all(Array.from({ length: NODES }, (_, i) => start(i, 0)));
  for (;;) {
    running.sort((a, b) => a.finish - b.finish);
    const next = running.shift()!;
    if (next.finish > world.horizonS) break;
    trace.finished += 1;
    trace.counted += 1;
    trace.countedNodes.add(next.node);
    if (server.receive(next.update, next.base)) await evaluate(world, trace, next.finish, server.model());
    running.push(await start(next.node, next.finish));
  }
  return trace;
}

/** The three policies on one heterogeneous population, `rounds` slowest-node rounds long. */
export async function fedBuffRows(
  pool: TrainingPool,
  data: { train: Dataset; test: Dataset },
  options: { rounds: number; target: number; seed: number },
): Promise<Row[]> {
  const rng = new Rng(options.seed);
  const shards = partition(data.train, NODES, { kind: "dirichlet", alpha: DIRICHLET_ALPHA }, options.seed);
  const slowdowns = Array.from({ length: NODES }, (_, i) => SPEED_SPREAD ** (i / (NODES - 1)));
  for (let i = slowdowns.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [slowdowns[i], slowdowns[j]] = [slowdowns[j]!, slowdowns[i]!];
  }
  const duration = shards.map((s, i) => (s.count * slowdowns[i]!) / FAST_SAMPLES_PER_S + EXCHANGE_S);
  const world: World = {
    pool,
    shards,
    test: data.test,
    duration,
    horizonS: options.rounds * Math.max(...duration),
  };
  const init = createModel(MODEL).init(options.seed);
  const runs: [string, Trace][] = [
    ["sync FedAvg, wait for all", await synchronous(world, false, init)],
    [`sync FedAvg, deadline ${DEADLINE_FACTOR}× median`, await synchronous(world, true, init)],
    ["FedBuff K=3, staleness 1/sqrt(1+τ)", await fedBuff(world, init)],
  ];
  return runs.map(([policy, trace]) => ({
    run: `${policy} (${NODES} nodes, speeds 1-${SPEED_SPREAD}×, Dirichlet α=${DIRICHLET_ALPHA})`,
    horizonS: world.horizonS,
    updates: trace.points.length,
    secondsToTarget: trace.points.find((p) => p.accuracy >= options.target)?.t ?? -1,
    target: options.target,
    finalAccuracy: trace.points.at(-1)?.accuracy ?? 0,
    bestAccuracy: Math.max(0, ...trace.points.map((p) => p.accuracy)),
    nodesCounted: trace.countedNodes.size / NODES,
    epochsCounted: trace.counted / Math.max(1, trace.finished),
  }));
}
