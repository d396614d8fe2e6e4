/**
 * Thin helpers over onnx-proto to write ONNX models from TypeScript (opset 17, IR 8).
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** The ONNX opset the builder targets. */
export const OPSET_VERSION = 17;
/** ONNX IR version matching opset 17 (onnxruntime 1.30 accepts it). */
export const IR_VERSION = 8;

export type AttributeValue = number | number[] | string;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** A graph input or output: float tensor with a (possibly symbolic) shape. */
export function valueInfo(
  name: string,
  shape: readonly (number | string)[],
  elemType: "float" | "int64" = "float",
) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: elemType === "float" ? FLOAT : INT64,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** A constant float tensor (initializer). */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array | readonly number[]) {
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: FLOAT, floatData: Array.from(values) });
}

/** A constant int64 tensor (initializer). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]) {
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: INT64, int64Data: [...values] });
}

function attribute(name: string, value: AttributeValue) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === "string") return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
  return Number.isInteger(value) ? { name, type: A.INT, i: value } : { name, type: A.FLOAT, f: value };
}

/** One ONNX node. Float attributes that happen to be integers must be passed via `floatAttrs`. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Record<string, AttributeValue> = {},
  floatAttrs: Record<string, number> = {},
) {
  const A = onnx.AttributeProto.AttributeType;
  return onnx.NodeProto.create({
    opType,
    input: [...inputs],
    output: [...outputs],
    attribute: [
      ...Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      ...Object.entries(floatAttrs).map(([k, f]) => ({ name: k, type: A.FLOAT, f })),
    ],
  });
}

export type OnnxNode = ReturnType<typeof node>;
export type OnnxTensor = ReturnType<typeof floatTensor>;
export type OnnxValueInfo = ReturnType<typeof valueInfo>;

/** Serializes a graph into ONNX model bytes. */
export function encodeModel(graph: {
  name: string;
  nodes: readonly OnnxNode[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  initializers: readonly OnnxTensor[];
  /** Key/value strings stored in the model's metadata_props (what the file is, how to feed it). */
  metadata?: Readonly<Record<string, string>>;
}): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: "vain",
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    metadataProps: Object.entries(graph.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: [...graph.nodes],
      input: [...graph.inputs],
      output: [...graph.outputs],
      initializer: [...graph.initializers],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
