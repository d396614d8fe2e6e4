/**
 * Standard ONNX out: a model's inference graph with its parameters as initializers, loadable by any ONNX
 * runtime with no vAIn code. Input `x` float32 [N, inputSize] (for the transformer: N rows of `context`
 * token ids, see text/alphabet.ts), output `logits` float32 [N, classes]. The task spec, modelRef and task
 * id ride in metadata_props, so `readOnnxModel` gets the exact parameter vector back (and checks it).
 */
import onnxProto from "onnx-proto";

import { GraphBuilder } from "./graph/autodiff.ts";
import type { Tensor } from "./graph/autodiff.ts";
import { encodeModel, floatTensor } from "./graph/onnx.ts";
import type { Model } from "./architectures.ts";

const { onnx } = onnxProto;

/** Metadata keys vAIn writes; other tools ignore them. */
export const ONNX_METADATA = {
  spec: "vain.task_spec",
  modelRef: "vain.model_ref",
  taskId: "vain.task_id",
  inputs: "vain.input",
} as const;

/** An ONNX file is not one vAIn can read back (not ONNX, no vAIn metadata, parameters missing). */
export class OnnxModelError extends Error {
  override readonly name = "OnnxModelError";
  readonly code = "ONNX_MODEL";
}

/** Describes the input for people opening the file elsewhere. */
function inputNote(model: Model): string {
  return model.spec.kind === "transformer"
    ? `x: float32 [N, ${model.inputSize}] character ids (vAIn alphabet, 0 = padding), logits of the next character`
    : `x: float32 [N, ${model.inputSize}] features in [0, 1]`;
}

/** ONNX bytes of the inference graph of `model` with `params` baked in as initializers `param/<name>`. */
export function exportOnnx(
  model: Model,
  params: Float32Array,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  if (params.length !== model.layout.size) {
    throw new OnnxModelError(`expected ${model.layout.size} parameters, got ${params.length}`);
  }
  const g = new GraphBuilder();
  const x = g.input("x", [-1, model.inputSize]);
  const named = new Map<string, Tensor>();
  for (const slot of model.layout.tensors) {
    const name = `param/${slot.name}`;
    g.initializers.push(floatTensor(name, slot.shape, params.subarray(slot.offset, slot.offset + slot.size)));
    named.set(slot.name, { name, shape: slot.shape, requiresGrad: false });
  }
  g.output(model.forward(g, x, named), "logits");
  // Float constants (an attention mask, GELU's ½ and 1/√2) become Constant nodes, so the file's float
  // initializers are exactly the parameters: what an importer, vAIn's included, takes as trainable.
  const isConstant = (t: (typeof g.initializers)[number]) =>
    t.dataType === onnx.TensorProto.DataType.FLOAT && !(t.name ?? "").startsWith("param/");
  const constants = g.initializers.filter(isConstant).map((t) =>
    onnx.NodeProto.create({
      opType: "Constant",
      output: [t.name ?? ""],
      attribute: [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t }],
    }),
  );
  return encodeModel({
    name: `vain-${model.spec.kind}`,
    nodes: [...constants, ...g.nodes],
    inputs: g.inputs,
    outputs: g.outputs,
    initializers: g.initializers.filter((t) => !isConstant(t)),
    metadata: { [ONNX_METADATA.inputs]: inputNote(model), ...metadata },
  });
}

/** The metadata and `param/<name>` initializers of an ONNX file written by `exportOnnx`. */
export function readOnnxModel(bytes: Uint8Array): {
  metadata: Record<string, string>;
  initializers: Map<string, Float32Array>;
} {
  let decoded: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    decoded = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new OnnxModelError(`not an ONNX model: ${(error as Error).message}`);
  }
  const metadata: Record<string, string> = {};
  for (const p of decoded.metadataProps ?? []) if (p.key != null) metadata[p.key] = p.value ?? "";
  const initializers = new Map<string, Float32Array>();
  for (const t of decoded.graph?.initializer ?? []) {
    if (t.name == null || t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    if (t.floatData != null && t.floatData.length > 0)
      initializers.set(t.name, Float32Array.from(t.floatData));
    else if (t.rawData != null && t.rawData.length > 0) {
      const raw = t.rawData;
      initializers.set(
        t.name,
        new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
      );
    }
  }
  return { metadata, initializers };
}

/** The parameter vector of `model` from an ONNX file's initializers; names the first missing tensor. */
export function paramsFromOnnx(model: Model, initializers: ReadonlyMap<string, Float32Array>): Float32Array {
  const params = new Float32Array(model.layout.size);
  for (const slot of model.layout.tensors) {
    const values = initializers.get(`param/${slot.name}`);
    if (values === undefined) throw new OnnxModelError(`initializer param/${slot.name} is missing`);
    if (values.length !== slot.size) {
      throw new OnnxModelError(
        `param/${slot.name} has ${values.length} values, the model needs ${slot.size}`,
      );
    }
    params.set(values, slot.offset);
  }
  return params;
}
