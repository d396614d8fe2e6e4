/**
 * FedAvg of the nodes' local optimizer states: the row-weighted mean of each state tensor (Adam's m and v,
 * SGD's velocity), so every node continues the next round from the same state instead of its own. This is the
 * state "Local Adam" analyses assume, and with only the first moment averaged it is close to Mime-lite's
 * shared momentum (Karimireddy et al. 2020). On bench:simulate's text task it is what lets FedAvg with short
 * rounds (10 local steps) match one worker (docs/transformer.md): a node's own second moment, estimated from
 * one topic's gradients, scales its steps differently from its neighbours', and the averaged one does not.
 */
import type { OptimizerState } from "./engine.ts";

/** States whose tensor counts or lengths differ (different optimizers or models) cannot be averaged. */
export class OptimizerStateMismatchError extends Error {
  constructor(detail: string) {
    super(`cannot average optimizer states: ${detail}`);
    this.name = "OptimizerStateMismatchError";
  }
}

/**
 * The row-weighted mean of `states` (weights: each node's rows, as its parameters are weighted), one copy per
 * node. Tensor k is averaged only where `which[k]` is true (default: every tensor); a node keeps its own copy of
 * the others. The step count, which sets Adam's bias correction, is the weighted mean rounded to an integer.
 */
export function averageOptimizerStates(
  states: readonly OptimizerState[],
  weights: readonly number[],
  which?: readonly boolean[],
): OptimizerState[] {
  const first = states[0];
  if (first === undefined) return [];
  if (weights.length !== states.length)
    throw new OptimizerStateMismatchError(`${states.length} states, ${weights.length} weights`);
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new OptimizerStateMismatchError("the weights do not sum to a positive number");
  for (const state of states) {
    if (state.tensors.length !== first.tensors.length)
      throw new OptimizerStateMismatchError(
        `${state.tensors.length} tensors against ${first.tensors.length}`,
      );
    state.tensors.forEach((tensor, k) => {
      if (tensor.length !== first.tensors[k]!.length)
        throw new OptimizerStateMismatchError(
          `tensor ${k} has ${tensor.length} values, not ${first.tensors[k]!.length}`,
        );
    });
  }
  const averaged = first.tensors.map((tensor, k) => {
    if (which !== undefined && which[k] !== true) return undefined;
    const mean = new Float32Array(tensor.length);
    states.forEach((state, i) => {
      const w = weights[i]! / total;
      const t = state.tensors[k]!;
      for (let j = 0; j < mean.length; j++) mean[j]! += w * t[j]!;
    });
    return mean;
  });
  const anyAveraged = averaged.some((t) => t !== undefined);
  const steps = Math.round(states.reduce((a, state, i) => a + (weights[i]! / total) * state.steps, 0));
  return states.map((state) => ({
    steps: anyAveraged ? steps : state.steps,
    tensors: state.tensors.map((own, k) => averaged[k]?.slice() ?? own),
  }));
}
