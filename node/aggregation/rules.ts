/**
 * Aggregation rules over flat updates, each a pure function behind one `Aggregator` interface.
 *
 * - FedAvg: McMahan et al. 2017 (weighted mean).
 * - Coordinate-wise median and trimmed mean: Yin et al., "Byzantine-Robust Distributed Learning:
 *   Towards Optimal Statistical Rates", ICML 2018.
 * - Krum / Multi-Krum: Blanchard et al., "Machine Learning with Adversaries", NeurIPS 2017 (needs n >= 2f + 3).
 * - Norm clipping: Sun et al., "Can You Really Backdoor Federated Learning?", 2019.
 * - Centered clipping: Karimireddy et al., "Learning from History for Byzantine Robust Optimization", ICML 2021.
 */
import { AggregationInputError, fedAvg } from "../training/federated.ts";
import type { WeightedUpdate } from "../training/federated.ts";

export { AggregationInputError };
export type { WeightedUpdate };

/** The outcome of one aggregation: the aggregate and, per input, the weight it finally received. */
export interface AggregationResult {
  readonly aggregate: Float32Array;
  /** Effective weight of each update (0 = rejected); feeds rewards (on-chain weights) and reputation. */
  readonly acceptedWeights: readonly number[];
}

/** An aggregation rule. `provable` rules are covered by the zk circuit (weighted mean with clipping). */
export interface Aggregator {
  readonly name: string;
  readonly provable: boolean;
  aggregate(updates: readonly WeightedUpdate[]): AggregationResult;
}

function check(updates: readonly WeightedUpdate[]): number {
  if (updates.length === 0) throw new AggregationInputError("no updates to aggregate");
  const size = updates[0]!.update.length;
  for (const u of updates) {
    if (u.update.length !== size)
      throw new AggregationInputError(`update of length ${u.update.length}, expected ${size}`);
  }
  return size;
}

/** L2 norm. */
export function l2norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** Weighted mean (FedAvg). */
export const fedAvgAggregator: Aggregator = {
  name: "fedavg",
  provable: true,
  aggregate(updates) {
    check(updates);
    return { aggregate: fedAvg(updates), acceptedWeights: updates.map((u) => u.weight) };
  },
};

/** Coordinate-wise median (unweighted: a weight is a claim an attacker controls). */
export const medianAggregator: Aggregator = {
  name: "median",
  provable: false,
  aggregate(updates) {
    const size = check(updates);
    const n = updates.length;
    const out = new Float32Array(size);
    const column = new Float32Array(n);
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < n; i++) column[i] = updates[i]!.update[j]!;
      column.sort();
      out[j] = n % 2 === 1 ? column[(n - 1) / 2]! : (column[n / 2 - 1]! + column[n / 2]!) / 2;
    }
    return { aggregate: out, acceptedWeights: updates.map((u) => u.weight) };
  },
};

/** Coordinate-wise trimmed mean: drops the `trim` largest and smallest values of each coordinate. */
export function trimmedMeanAggregator(trimFraction: number): Aggregator {
  if (!(trimFraction >= 0 && trimFraction < 0.5))
    throw new AggregationInputError("trim fraction must be in [0, 0.5)");
  return {
    name: `trimmed-mean(${trimFraction})`,
    provable: false,
    aggregate(updates) {
      const size = check(updates);
      const n = updates.length;
      const trim = Math.floor(n * trimFraction);
      if (n - 2 * trim < 1)
        throw new AggregationInputError(`trimming ${trim} from each side of ${n} leaves nothing`);
      const out = new Float32Array(size);
      const column = new Float32Array(n);
      for (let j = 0; j < size; j++) {
        for (let i = 0; i < n; i++) column[i] = updates[i]!.update[j]!;
        column.sort();
        let s = 0;
        for (let i = trim; i < n - trim; i++) s += column[i]!;
        out[j] = s / (n - 2 * trim);
      }
      return { aggregate: out, acceptedWeights: updates.map((u) => u.weight) };
    },
  };
}

function pairwiseSquaredDistances(updates: readonly WeightedUpdate[]): Float64Array {
  const n = updates.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = updates[i]!.update;
      const b = updates[j]!.update;
      let s = 0;
      for (let k = 0; k < a.length; k++) s += (a[k]! - b[k]!) ** 2;
      d[i * n + j] = d[j * n + i] = s;
    }
  }
  return d;
}

/** Krum scores: sum of squared distances to the n - f - 2 nearest other updates. */
export function krumScores(updates: readonly WeightedUpdate[], f: number): number[] {
  const n = updates.length;
  if (n < 2 * f + 3) throw new AggregationInputError(`Krum needs n >= 2f + 3 (n = ${n}, f = ${f})`);
  const d = pairwiseSquaredDistances(updates);
  return updates.map((_, i) => {
    const row = Array.from({ length: n }, (_, j) => d[i * n + j]!).filter((_, j) => j !== i);
    row.sort((a, b) => a - b);
    return row.slice(0, n - f - 2).reduce((a, b) => a + b, 0);
  });
}

/** Multi-Krum: averages the `m` updates with the lowest Krum scores (m = 1 is Krum). */
export function multiKrumAggregator(f: number, m?: number): Aggregator {
  return {
    name: m === 1 ? `krum(f=${f})` : `multi-krum(f=${f})`,
    provable: false,
    aggregate(updates) {
      check(updates);
      const scores = krumScores(updates, f);
      const keep = m ?? updates.length - f;
      const chosen = new Set(
        scores
          .map((s, i) => [s, i] as const)
          .sort((a, b) => a[0] - b[0])
          .slice(0, keep)
          .map(([, i]) => i),
      );
      const selected = updates.filter((_, i) => chosen.has(i));
      return {
        aggregate: fedAvg(selected.map((u) => ({ update: u.update, weight: 1 }))),
        acceptedWeights: updates.map((u, i) => (chosen.has(i) ? u.weight : 0)),
      };
    },
  };
}

/** Scales `v` down to L2 norm at most `bound` (a copy). */
export function clipToNorm(v: Float32Array, bound: number): Float32Array {
  const norm = l2norm(v);
  if (norm <= bound || norm === 0) return Float32Array.from(v);
  const scale = bound / norm;
  return Float32Array.from(v, (x) => x * scale);
}

/**
 * Weighted mean of updates clipped to L2 norm `bound` (the rule the zk circuit proves). Without a fixed
 * bound, the median of the update norms is used.
 */
export function normClippingAggregator(bound?: number): Aggregator {
  return {
    name: bound === undefined ? "norm-clipping(median)" : `norm-clipping(${bound})`,
    provable: bound !== undefined,
    aggregate(updates) {
      check(updates);
      const norms = updates.map((u) => l2norm(u.update)).sort((a, b) => a - b);
      const tau = bound ?? norms[Math.floor(norms.length / 2)]!;
      return {
        aggregate: fedAvg(updates.map((u) => ({ update: clipToNorm(u.update, tau), weight: u.weight }))),
        acceptedWeights: updates.map((u) => u.weight),
      };
    },
  };
}

/**
 * Centered clipping: starting from a robust centre (coordinate-wise median), repeatedly moves the centre by
 * the mean of the clipped differences to each update.
 */
export function centeredClippingAggregator(tau?: number, iterations = 3): Aggregator {
  return {
    name: "centered-clipping",
    provable: false,
    aggregate(updates) {
      const size = check(updates);
      let centre = medianAggregator.aggregate(updates).aggregate;
      for (let it = 0; it < iterations; it++) {
        const diffs = updates.map((u) => Float32Array.from(u.update, (x, i) => x - centre[i]!));
        const norms = diffs.map(l2norm).sort((a, b) => a - b);
        const radius = tau ?? norms[Math.floor(norms.length / 2)]!;
        const step = new Float64Array(size);
        for (const d of diffs) {
          const clipped = clipToNorm(d, radius);
          for (let i = 0; i < size; i++) step[i]! += clipped[i]! / diffs.length;
        }
        centre = Float32Array.from(centre, (c, i) => c + step[i]!);
      }
      return { aggregate: centre, acceptedWeights: updates.map((u) => u.weight) };
    },
  };
}
