/**
 * DiLoCo's outer step: Douillard et al., "DiLoCo: Distributed Low-Communication Training", 2023 (Nesterov
 * momentum on the pseudo-gradient).
 */
import { DILOCO_OUTER_LR, DILOCO_OUTER_MOMENTUM } from "../constants.ts";
import type { ServerOptimizer, ServerOptimizerDescriptor } from "./types.ts";

/** DiLoCo outer optimizer: Nesterov momentum on the outer gradient (−averaged update). */
export class DiLoCoServer implements ServerOptimizer {
  readonly name = "diloco";
  private readonly lr: number;
  private readonly momentum: number;
  private velocity: Float32Array | undefined;

  constructor(options: { lr?: number; momentum?: number } = {}) {
    this.lr = options.lr ?? DILOCO_OUTER_LR;
    this.momentum = options.momentum ?? DILOCO_OUTER_MOMENTUM;
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

  /** [velocity] after a step. */
  state(): Float32Array[] {
    return this.velocity === undefined ? [] : [this.velocity.slice()];
  }

  restore(state: readonly Float32Array[]): void {
    if (state.length > 1) throw new RangeError("diloco state has 1 vector");
    this.velocity = state[0]?.slice();
  }
}

export const dilocoOptimizer: ServerOptimizerDescriptor<"diloco"> = {
  name: "diloco",
  citation: "Douillard et al., DiLoCo: Distributed Low-Communication Training, 2023",
  taskOption: true,
  stateVectors: 1,
  create: (options = {}) => new DiLoCoServer(options),
};
