/**
 * One federated (or one-worker) variant on bench:simulate's quick text task, for the search behind
 * docs/transformer.md's "closing the gap to one worker" table: the same model, data, partition by topic, seeds
 * and Adam state kept per node as `simulate.ts --only text --quick` (its FedAvg local-batch-4 arm and its
 * one-worker arm give the same accuracies to the digit), with the knobs that bench does not expose:
 *
 *   --server fedavg | fedexp | diloco | one-worker   (default fedavg)
 *     fedexp: FedAvg's step extrapolated by max(1, Σ‖Δᵢ‖² / (2·M·‖Δ̄‖²)) (Jhunjhunwala, Wang and Joshi,
 *       "FedExP", ICLR 2023); diloco: Nesterov outer step on −Δ̄ (Douillard et al. 2023), --server-lr
 *       (default 0.7) and --momentum (0.9); one-worker: the pooled data on one worker, one epoch per "round".
 *   --rounds R (20)  --batch B (4)  --lr (0.003)  --seed (1)  --server-lr (1; fedexp multiplies it)
 *   --steps S        local steps per round instead of one local epoch (more rounds for the same tokens)
 *   --glosses G      glosses per topic (default 40, the quick task; bench:simulate's full task is 200)
 *   --eval-every N   evaluate the held-out set after every N-th round and the last only (default 1): with
 *     short rounds the evaluations cost ~40% of the run
 *   --warmup W --cosine F   linear warmup over W rounds, then cosine decay to F × lr by the last round
 *   --reset-first-moment    zero each node's Adam first moment between rounds (the second is kept)
 *   --moments average | average-second | average-first
 *     the server averages the nodes' Adam moments (weighted by rows, as the parameters) and every node starts
 *     the next round from the averaged state instead of its own (FedAvg of the optimizer state, as "Local Adam"
 *     analyses assume); average-second / -first average one moment and leave the other local. The step count
 *     for the bias correction is the weighted mean of the nodes' counts.
 *
 * One thread (`nice -n 19`, no lock: 20 rounds take 3–5 minutes at load 8). Prints one JSON line.
 */
import { difference, fedAvg } from "../../node/core/updates.ts";
import type { WeightedUpdate } from "../../node/core/updates.ts";
import {
  TrainingPool,
  averageOptimizerStates,
  createModel,
  loadWordnetTask,
  partition,
} from "../../node/training/index.ts";
import type { ModelSpec, OptimizerState } from "../../node/training/index.ts";
import { flag, option } from "./common.ts";

/** bench:simulate's text model (simulate-text.ts TEXT_MODEL). */
const MODEL: ModelSpec = { kind: "transformer", width: 64, layers: 2, heads: 2, context: 32 };
const NODES = 10;
const SERVERS = ["fedavg", "fedexp", "diloco", "one-worker"] as const;
type Server = (typeof SERVERS)[number];

const number = (name: string, fallback: number): number => {
  const value = Number(option(name) ?? fallback);
  if (!Number.isFinite(value)) throw new RangeError(`--${name} must be a number`);
  return value;
};
const server = (option("server") ?? "fedavg") as Server;
if (!SERVERS.includes(server)) throw new RangeError(`--server: one of ${SERVERS.join(", ")}`);
const rounds = number("rounds", 20);
const batchSize = number("batch", 4);
const lr = number("lr", 0.003);
const seed = number("seed", 1);
const serverLr = number("server-lr", server === "diloco" ? 0.7 : 1);
const momentum = number("momentum", 0.9);
const warmup = number("warmup", 0);
const cosineFloor = number("cosine", 1);
const steps = option("steps") === undefined ? undefined : number("steps", 0);
const evalEvery = number("eval-every", 1);
const resetFirstMoment = flag("reset-first-moment");
const MOMENTS = ["local", "average", "average-second", "average-first"] as const;
const moments = (option("moments") ?? "local") as (typeof MOMENTS)[number];
if (!MOMENTS.includes(moments)) throw new RangeError(`--moments: one of ${MOMENTS.join(", ")}`);

/** The local learning rate of round r (1-based): warmup, then cosine to cosineFloor × lr (1: constant). */
function learningRate(r: number): number {
  if (r <= warmup) return (lr * r) / warmup;
  if (cosineFloor >= 1) return lr;
  const progress = (r - 1 - warmup) / Math.max(1, rounds - 1 - warmup);
  return lr * (cosineFloor + (1 - cosineFloor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** FedExP's server step size for these updates (≥ 1). */
function fedExpStep(updates: readonly WeightedUpdate[], mean: Float32Array): number {
  let spread = 0;
  for (const { update } of updates) for (const v of update) spread += v * v;
  let norm = 0;
  for (const v of mean) norm += v * v;
  return Math.max(1, spread / (2 * updates.length * Math.max(norm, 1e-30)));
}

const pool = new TrainingPool({ size: 1 });
const data = loadWordnetTask({ context: 32, maxGlossesPerTopic: number("glosses", 40), seed: 1 });
const nodes = server === "one-worker" ? [data.train] : partition(data.train, NODES, { kind: "group" }, seed);
let global = createModel(MODEL).init(seed);
const states: (OptimizerState | undefined)[] = nodes.map(() => undefined);
let velocity: Float32Array | undefined;
const curve: number[] = [];
/** The rounds `curve` was measured after. */
const evaluated: number[] = [];
const started = performance.now();
try {
  for (let r = 1; r <= rounds; r++) {
    const results = await Promise.all(
      nodes.map((local, i) =>
        pool.train({
          model: MODEL,
          optimizer: { kind: "adam" },
          params: global,
          state: states[i],
          data: local,
          options: {
            epochs: 1,
            ...(steps === undefined ? {} : { steps }),
            batchSize,
            learningRate: learningRate(r),
            // simulator.ts's local seeds, and simulate-text.ts's one-worker seeds for seed 1.
            seed: server === "one-worker" ? (seed - 1) * 1_000_003 + r : seed * 1_000_003 + r * 1009 + i,
            keepState: true,
          },
        }),
      ),
    );
    results.forEach((result, i) => {
      states[i] = result.state;
      if (resetFirstMoment) result.state?.tensors[0]?.fill(0);
    });
    if (moments !== "local") {
      // Adam's state tensors are [m, v] (train-graph.ts's optimizerStateNames).
      const which = [moments !== "average-second", moments !== "average-first"];
      const averaged = averageOptimizerStates(
        states.map((state) => state!),
        nodes.map((local) => local.count),
        which,
      );
      averaged.forEach((state, i) => (states[i] = state));
    }
    const updates = results.map((result, i) => ({
      update: difference(result.params, global),
      weight: nodes[i]!.count,
    }));
    const mean = fedAvg(updates);
    const step = server === "fedexp" ? serverLr * fedExpStep(updates, mean) : serverLr;
    const next = new Float32Array(global.length);
    if (server === "diloco") {
      velocity ??= new Float32Array(global.length);
      for (let i = 0; i < global.length; i++) {
        const v = (velocity[i] = momentum * velocity[i]! - mean[i]!);
        next[i] = global[i]! - serverLr * (-mean[i]! + momentum * v);
      }
    } else if (server === "one-worker") next.set(results[0]!.params);
    else for (let i = 0; i < global.length; i++) next[i] = global[i]! + step * mean[i]!;
    global = next;
    if (r % evalEvery !== 0 && r !== rounds) continue;
    curve.push((await pool.evaluate(MODEL, global, data.test)).accuracy);
    evaluated.push(r);
    process.stderr.write(
      `round ${r}/${rounds} ${(curve.at(-1)! * 100).toFixed(2)}% (server step ${step.toFixed(2)}, ` +
        `lr ${learningRate(r).toExponential(2)}, ${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
    );
  }
} finally {
  await pool.close();
}
const pct = (v: number) => Math.round(v * 10_000) / 100;
console.log(
  JSON.stringify({
    args: process.argv.slice(2).join(" "),
    finalAccuracyPct: pct(curve.at(-1)!),
    bestAccuracyPct: pct(Math.max(...curve)),
    atRound: Object.fromEntries(
      curve
        .map((v, i) => [evaluated[i]!, pct(v)])
        .filter(([r]) => evalEvery > 1 || Number(r) % 10 === 0 || r === rounds),
    ),
  }),
);
