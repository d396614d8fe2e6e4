/** What a server optimizer is, and how the registry (index.ts) describes one. */

/** A server optimizer turns the aggregated update (pseudo-gradient, negated) into the next global model. */
export interface ServerOptimizer {
  readonly name: string;
  /** Returns the next global parameters from the current ones and the averaged client update. */
  step(global: Float32Array, averagedUpdate: Float32Array): Float32Array;
}

/** One entry of the server-optimizer registry: its name, its paper, and a factory with its defaults. */
export interface ServerOptimizerDescriptor<Name extends string = string> {
  readonly name: Name;
  /** The paper it follows. */
  readonly citation: string;
  /** A fresh optimizer (stateful ones keep moments per run). */
  create(): ServerOptimizer;
}
