/**
 * FedAdam and FedYogi: Reddi et al., "Adaptive Federated Optimization", ICLR 2021 (Algorithm 2), the two
 * registry entries of one adaptive server.
 */
import {
  ADAPTIVE_SERVER_BETA1,
  ADAPTIVE_SERVER_BETA2,
  ADAPTIVE_SERVER_LR,
  ADAPTIVE_SERVER_TAU,
} from "../constants.ts";
import type { ServerOptimizer, ServerOptimizerDescriptor } from "./types.ts";

const CITATION = "Reddi et al., Adaptive Federated Optimization, ICLR 2021";

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
    this.lr = options.lr ?? ADAPTIVE_SERVER_LR;
    this.beta1 = options.beta1 ?? ADAPTIVE_SERVER_BETA1;
    this.beta2 = options.beta2 ?? ADAPTIVE_SERVER_BETA2;
    this.tau = options.tau ?? ADAPTIVE_SERVER_TAU;
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

  /** [first moment, second moment] after a step. */
  state(): Float32Array[] {
    return this.m === undefined || this.v === undefined ? [] : [this.m.slice(), this.v.slice()];
  }

  restore(state: readonly Float32Array[]): void {
    if (state.length !== 0 && state.length !== 2) throw new RangeError(`${this.name} state has 2 vectors`);
    this.m = state[0]?.slice();
    this.v = state[1]?.slice();
  }
}

export const fedAdamOptimizer: ServerOptimizerDescriptor<"fedadam"> = {
  name: "fedadam",
  citation: CITATION,
  taskOption: true,
  stateVectors: 2,
  create: (options = {}) => new AdaptiveServer("fedadam", options),
};

export const fedYogiOptimizer: ServerOptimizerDescriptor<"fedyogi"> = {
  name: "fedyogi",
  citation: CITATION,
  taskOption: true,
  stateVectors: 2,
  create: (options = {}) => new AdaptiveServer("fedyogi", options),
};
