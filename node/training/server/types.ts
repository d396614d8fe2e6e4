/** What a server optimizer is, and how the registry (index.ts) describes one. */

/** A server optimizer turns the aggregated update (pseudo-gradient, negated) into the next global model. */
export interface ServerOptimizer {
  readonly name: string;
  /** Returns the next global parameters from the current ones and the averaged client update. */
  step(global: Float32Array, averagedUpdate: Float32Array): Float32Array;
  /**
   * The vectors this optimizer carries from one step to the next (moments, velocity), `stateVectors` of them in
   * a fixed order after the first step; [] before it and for stateless optimizers. With `restore`, this makes a
   * step a pure function of (model, state, aggregate), which every node of a task recomputes.
   */
  state(): Float32Array[];
  /** Continues from an earlier `state()` ([]: from the start). */
  restore(state: readonly Float32Array[]): void;
}

/** Hyper-parameters a task may set; each optimizer reads the ones it has and keeps its defaults otherwise. */
export interface ServerOptimizerOptions {
  readonly lr?: number;
  readonly momentum?: number;
}

/** One entry of the server-optimizer registry: its name, its paper, and a factory with its defaults. */
export interface ServerOptimizerDescriptor<Name extends string = string> {
  readonly name: Name;
  /** The paper it follows. */
  readonly citation: string;
  /** A task may choose it as its server step (the node recomputes it each round, node/protocol/round/server-step.ts). */
  readonly taskOption: boolean;
  /** Length of `state()` after a step. */
  readonly stateVectors: number;
  /** A fresh optimizer (stateful ones keep moments per run). */
  create(options?: ServerOptimizerOptions): ServerOptimizer;
}
