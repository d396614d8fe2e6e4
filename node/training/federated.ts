/**
 * Server-side federated algorithms as pure functions over flat parameter vectors.
 *
 * - FedAvg: McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017.
 * - FedAdam / FedYogi: Reddi et al., "Adaptive Federated Optimization", ICLR 2021.
 * - DiLoCo outer step: Douillard et al., "DiLoCo: Distributed Low-Communication Training", 2023 (Nesterov
 *   momentum on the pseudo-gradient).
 * - Reptile: Nichol et al., "On First-Order Meta-Learning Algorithms", 2018.
 * FedProx (Li et al. 2020) is a local objective: see `buildTrainStepGraph(…, proxMu)`.
 */

/** One client's contribution: its update (new local params minus the global params) and its weight. */
export interface WeightedUpdate {
  readonly update: Float32Array;
  readonly weight: number;
}

/** Raised for empty or mismatched inputs. */
export class AggregationInputError extends Error {
  override readonly name = "AggregationInputError";
  readonly code = "AGGREGATION_INPUT";
}

/** Weighted average of updates (FedAvg's aggregation step), weights usually sample counts. */
export function fedAvg(updates: readonly WeightedUpdate[]): Float32Array {
  if (updates.length === 0) throw new AggregationInputError("no updates to average");
  const size = updates[0]!.update.length;
  const total = updates.reduce((sum, u) => sum + u.weight, 0);
  if (!(total > 0)) throw new AggregationInputError("total weight must be positive");
  const out = new Float64Array(size);
  for (const { update, weight } of updates) {
    if (update.length !== size)
      throw new AggregationInputError(`update of length ${update.length}, expected ${size}`);
    if (!(weight >= 0)) throw new AggregationInputError(`negative weight ${weight}`);
    const w = weight / total;
    for (let i = 0; i < size; i++) out[i]! += w * update[i]!;
  }
  return Float32Array.from(out);
}

/** `a - b`, elementwise. */
export function difference(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

/** A server optimizer turns the aggregated update (pseudo-gradient, negated) into the next global model. */
export interface ServerOptimizer {
  readonly name: string;
  /** Returns the next global parameters from the current ones and the averaged client update. */
  step(global: Float32Array, averagedUpdate: Float32Array): Float32Array;
}

/** Plain FedAvg: global += serverLr · update (serverLr 1 is McMahan's FedAvg; < 1 is Reptile's step size). */
export class FedAvgServer implements ServerOptimizer {
  readonly name: string;
  private readonly serverLr: number;

  constructor(serverLr = 1, name = "fedavg") {
    this.serverLr = serverLr;
    this.name = name;
  }

  step(global: Float32Array, update: Float32Array): Float32Array {
    const out = new Float32Array(global.length);
    for (let i = 0; i < global.length; i++) out[i] = global[i]! + this.serverLr * update[i]!;
    return out;
  }
}

/** Reptile meta-update: move the global model a fraction `epsilon` towards the clients' adapted models. */
export function reptileServer(epsilon: number): ServerOptimizer {
  return new FedAvgServer(epsilon, "reptile");
}

/** FedAdam and FedYogi (Reddi et al. 2021, Algorithm 2). */
export class AdaptiveServer implements ServerOptimizer {
  readonly name: "fedadam" | "fedyogi";
  private readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly tau: number;
  private m: Float32Array | undefined;
  private v: Float32Array | undefined;

  constructor(
    kind: "fedadam" | "fedyogi",
    options: { lr?: number; beta1?: number; beta2?: number; tau?: number } = {},
  ) {
    this.name = kind;
    this.lr = options.lr ?? 0.01;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.99;
    // tau bounds the adaptivity; Reddi et al. tune it in [1e-3, 1e-1] for image tasks.
    this.tau = options.tau ?? 1e-3;
  }

  step(global: Float32Array, update: Float32Array): Float32Array {
    const n = global.length;
    this.m ??= new Float32Array(n);
    this.v ??= new Float32Array(n).fill(this.tau * this.tau);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d = update[i]!;
      const m = (this.m[i] = this.beta1 * this.m[i]! + (1 - this.beta1) * d);
      const d2 = d * d;
      const v =
        this.name === "fedadam"
          ? this.beta2 * this.v[i]! + (1 - this.beta2) * d2
          : this.v[i]! - (1 - this.beta2) * d2 * Math.sign(this.v[i]! - d2);
      this.v[i] = v;
      out[i] = global[i]! + (this.lr * m) / (Math.sqrt(v) + this.tau);
    }
    return out;
  }
}

/** DiLoCo outer optimizer: Nesterov momentum on the outer gradient (−averaged update). */
export class DiLoCoServer implements ServerOptimizer {
  readonly name = "diloco";
  private readonly lr: number;
  private readonly momentum: number;
  private velocity: Float32Array | undefined;

  constructor(options: { lr?: number; momentum?: number } = {}) {
    // Douillard et al. use outer lr 0.7 and Nesterov momentum 0.9.
    this.lr = options.lr ?? 0.7;
    this.momentum = options.momentum ?? 0.9;
  }

  step(global: Float32Array, update: Float32Array): Float32Array {
    this.velocity ??= new Float32Array(global.length);
    const out = new Float32Array(global.length);
    for (let i = 0; i < global.length; i++) {
      const grad = -update[i]!;
      const v = (this.velocity[i] = this.momentum * this.velocity[i]! + grad);
      out[i] = global[i]! - this.lr * (grad + this.momentum * v);
    }
    return out;
  }
}

export type ServerOptimizerName = "fedavg" | "fedadam" | "fedyogi" | "diloco" | "reptile";

/** A server optimizer by name with its defaults. */
export function createServerOptimizer(name: ServerOptimizerName): ServerOptimizer {
  switch (name) {
    case "fedavg":
      return new FedAvgServer();
    case "fedadam":
      return new AdaptiveServer("fedadam");
    case "fedyogi":
      return new AdaptiveServer("fedyogi");
    case "diloco":
      return new DiLoCoServer();
    case "reptile":
      return reptileServer(0.5);
  }
}
