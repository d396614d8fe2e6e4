/** FedAvg's server step: McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017. */
import type { ServerOptimizer, ServerOptimizerDescriptor } from "./types.ts";

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

  /** Stateless: a step depends on the model and the update only. */
  state(): Float32Array[] {
    return [];
  }

  restore(): void {}
}

export const fedAvgOptimizer: ServerOptimizerDescriptor<"fedavg"> = {
  name: "fedavg",
  citation: "McMahan et al., Communication-Efficient Learning of Deep Networks from Decentralized Data, 2017",
  taskOption: true,
  stateVectors: 0,
  create: (options = {}) => new FedAvgServer(options.lr ?? 1),
};
