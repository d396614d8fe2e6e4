/**
 * The task's server step (docs/protocol.md §3): the next model is a public function of the round's base model,
 * the server optimizer's state after the base, and the proven aggregate. Every node recomputes it; the chain
 * names the result `modelRefOf(base, aggregateCommitment, roundId)`, so a task's spec (which names the
 * optimizer, content-addressed on chain) and the chain's rounds fix every model. FedAvg is
 * `base + lr · decode(aggregate)` (lr 2 in a task that names none); FedAdam, FedYogi and DiLoCo's outer Nesterov step carry state (moments,
 * velocity), which starts empty at the task's initial model and is kept beside each model it belongs to.
 */
import { encodeAbiParameters, keccak256 } from "viem";
import type { Hex } from "viem";

import { decodeFixedPoint } from "../../proofs/index.ts";
import { createServerOptimizer, serverOptimizerDescriptor } from "../../training/server/index.ts";
import type { TaskSpec } from "../task-spec.ts";

/** A model with the server optimizer's state after it ([] for a task's initial model and stateless optimizers). */
export interface ModelState {
  readonly params: Float32Array;
  readonly server: readonly Float32Array[];
}

/** The next model and state from a base, its state and an encoded (fixed-point) aggregate. */
export function serverStep(spec: TaskSpec["server"], base: ModelState, aggregate: Uint16Array): ModelState {
  const { optimizer: name, ...options } = spec;
  const optimizer = createServerOptimizer(name, options);
  optimizer.restore(base.server);
  const params = optimizer.step(base.params, decodeFixedPoint(aggregate));
  return { params, server: optimizer.state() };
}

/** How many state vectors the task's optimizer keeps beside each model. */
export function serverStateVectors(spec: TaskSpec["server"]): number {
  return serverOptimizerDescriptor(spec.optimizer).stateVectors;
}

/**
 * The local name a model's k-th state vector is kept under (memory and disk, like a model). Never a round's
 * model ref: it is not announced or fetched; a node without it derives the model again.
 */
export function serverStateKey(modelRef: Hex, k: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "string" }, { type: "uint256" }],
      [modelRef, "vain/server-state", BigInt(k)],
    ),
  );
}
