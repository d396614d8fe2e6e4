/**
 * Builds the two ONNX graphs a model needs: inference (x → logits) and one training step (forward, loss,
 * backward, optimizer update) with weights and optimizer state as inputs and outputs.
 */
import { z } from "zod";

import { GraphBuilder } from "./graph/autodiff.ts";
import type { Tensor } from "./graph/autodiff.ts";
import { encodeModel } from "./graph/onnx.ts";
import type { Model } from "./architectures.ts";

export const optimizerSpecSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("sgd"),
    momentum: z.number().min(0).max(0.999).default(0.9),
    weightDecay: z.number().min(0).default(0),
  }),
  z.object({
    kind: z.literal("adam"),
    beta1: z.number().min(0).max(0.9999).default(0.9),
    beta2: z.number().min(0).max(0.99999).default(0.999),
    epsilon: z.number().positive().default(1e-8),
    /** Decoupled weight decay (AdamW). */
    weightDecay: z.number().min(0).default(0),
  }),
]);
export type OptimizerSpec = z.input<typeof optimizerSpecSchema>;
export type ResolvedOptimizerSpec = z.output<typeof optimizerSpecSchema>;

/** Names of the state tensors an optimizer keeps per parameter. */
export function optimizerStateNames(spec: ResolvedOptimizerSpec): readonly string[] {
  return spec.kind === "sgd" ? ["velocity"] : ["m", "v"];
}

export interface TrainStepGraph {
  readonly bytes: Uint8Array;
  readonly paramNames: readonly string[];
  readonly stateNames: readonly string[];
  /** Whether the graph takes `global/<param>` inputs for the FedProx proximal term. */
  readonly proximal: boolean;
}

/** The inference graph: input `x` [N, inputSize] → output `logits` [N, classes]. */
export function buildInferenceGraph(model: Model): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input("x", [-1, model.inputSize]);
  const params = new Map(model.layout.tensors.map((t) => [t.name, g.input(`param/${t.name}`, t.shape)]));
  g.output(model.forward(g, x, params), "logits");
  return encodeModel({ name: "inference", ...graphParts(g) });
}

function graphParts(g: GraphBuilder) {
  return { nodes: g.nodes, inputs: g.inputs, outputs: g.outputs, initializers: g.initializers };
}

/**
 * One training step. Inputs: `x`, `y` (one-hot), `lr` (scalar), for Adam also `lr_t` (bias-corrected step
 * size), `param/<name>`, `<state>/<name>`, and with `proxMu > 0` `global/<name>`. Outputs: `loss`,
 * `new_param/<name>`, `new_<state>/<name>`.
 */
export function buildTrainStepGraph(
  model: Model,
  optimizer: ResolvedOptimizerSpec,
  proxMu = 0,
): TrainStepGraph {
  const g = new GraphBuilder();
  const x = g.input("x", [-1, model.inputSize]);
  const y = g.input("y", [-1, model.classes]);
  const lr = g.input("lr", []);
  const lrT = optimizer.kind === "adam" ? g.input("lr_t", []) : undefined;
  const slots = model.layout.tensors;
  const params = slots.map((t) => g.input(`param/${t.name}`, t.shape, true));
  const paramMap = new Map(slots.map((t, i) => [t.name, params[i]!]));
  const stateNames = optimizerStateNames(optimizer);
  const states = stateNames.map((s) => slots.map((t) => g.input(`${s}/${t.name}`, t.shape)));
  const globals = proxMu > 0 ? slots.map((t) => g.input(`global/${t.name}`, t.shape)) : undefined;

  const loss =
    model.loss !== undefined
      ? model.loss(g, x, y, paramMap)
      : g.softmaxCrossEntropy(model.forward(g, x, paramMap), y);
  g.output(loss, "loss");
  const grads = g.gradients(loss, params);

  const scalar = (v: number) => g.constant([v], []);
  slots.forEach((slot, i) => {
    const w = params[i]!;
    let grad: Tensor = grads[i]!;
    if (globals !== undefined) {
      // FedProx: gradient of (mu/2)·||w - w_global||² is mu·(w - w_global).
      grad = g.raw(
        "Add",
        [grad, g.raw("Mul", [scalar(proxMu), g.raw("Sub", [w, globals[i]!], w.shape)], w.shape)],
        w.shape,
      );
    }
    if (optimizer.kind === "sgd") {
      if (optimizer.weightDecay > 0) {
        grad = g.raw("Add", [grad, g.raw("Mul", [scalar(optimizer.weightDecay), w], w.shape)], w.shape);
      }
      const v = g.raw(
        "Add",
        [g.raw("Mul", [scalar(optimizer.momentum), states[0]![i]!], w.shape), grad],
        w.shape,
      );
      const next = g.raw("Sub", [w, g.raw("Mul", [lr, v], w.shape)], w.shape);
      g.output(next, `new_param/${slot.name}`);
      g.output(v, `new_velocity/${slot.name}`);
    } else {
      const { beta1, beta2, epsilon, weightDecay } = optimizer;
      const m = g.raw(
        "Add",
        [
          g.raw("Mul", [scalar(beta1), states[0]![i]!], w.shape),
          g.raw("Mul", [scalar(1 - beta1), grad], w.shape),
        ],
        w.shape,
      );
      const v = g.raw(
        "Add",
        [
          g.raw("Mul", [scalar(beta2), states[1]![i]!], w.shape),
          g.raw("Mul", [scalar(1 - beta2), g.raw("Mul", [grad, grad], w.shape)], w.shape),
        ],
        w.shape,
      );
      const step = g.raw(
        "Div",
        [m, g.raw("Add", [g.raw("Sqrt", [v], w.shape), scalar(epsilon)], w.shape)],
        w.shape,
      );
      let next = g.raw("Sub", [w, g.raw("Mul", [lrT!, step], w.shape)], w.shape);
      if (weightDecay > 0)
        next = g.raw(
          "Sub",
          [next, g.raw("Mul", [g.raw("Mul", [lr, scalar(weightDecay)], []), w], w.shape)],
          w.shape,
        );
      g.output(next, `new_param/${slot.name}`);
      g.output(m, `new_m/${slot.name}`);
      g.output(v, `new_v/${slot.name}`);
    }
  });
  return {
    bytes: encodeModel({ name: "train_step", ...graphParts(g) }),
    paramNames: slots.map((t) => t.name),
    stateNames,
    proximal: globals !== undefined,
  };
}
