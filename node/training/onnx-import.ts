/**
 * Standard ONNX in: a user's ONNX classifier becomes a trainable model when every op of its graph is one
 * the engine differentiates (the MLP / CNN / transformer op set below; vAIn's own exports of all three import).
 * Its float initializers are the parameters (their values are the initial model); `Constant` nodes and int64
 * initializers are constants (masks, scalars, shapes, indices); the one other graph input is `x`
 * [N, features], the output logits [N, classes]. A final Softmax / LogSoftmax is dropped: training takes
 * logits. The first op outside the set raises `UnsupportedOnnxOpError` naming it.
 *
 * A task spec carries the graph without its weights (`splitOnnxWeights`): the float initializers keep their
 * names, types and dims (the layout) but no values, and the weights travel as a model blob named by their
 * content hash, so the spec stays small whatever the model's size.
 */
import onnxProto from "onnx-proto";

import { createLayout } from "../core/params.ts";
import type { ParamLayout } from "../core/params.ts";
import { GraphBuildError } from "./graph/autodiff.ts";
import type { GraphBuilder, Tensor } from "./graph/autodiff.ts";
import {
  batchedMatmul,
  embedding,
  erf,
  gelu,
  layerNorm,
  select,
  softmax,
  transpose,
} from "./graph/ops/index.ts";
import { OnnxModelError, readOnnxModel } from "./onnx-model.ts";

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;

/** Ops an imported graph may use (each maps to a differentiable builder op). */
export const IMPORTABLE_OPS = [
  "MatMul",
  "Gemm",
  "Add",
  "Sub",
  "Mul",
  "Relu",
  "Tanh",
  "Gelu",
  "Identity",
  "Reshape",
  "Flatten",
  "Transpose",
  "LayerNormalization",
  "Constant",
  "Cast",
  "Gather",
  "Softmax",
  "Erf",
  "ReduceMax",
] as const;

/** The graph uses an op the engine cannot differentiate. */
export class UnsupportedOnnxOpError extends Error {
  override readonly name = "UnsupportedOnnxOpError";
  readonly code = "ONNX_UNSUPPORTED_OP";
  readonly op: string;
  readonly node: string;
  constructor(op: string, node: string, index: number) {
    super(
      `ONNX op ${op} (node ${index}${node === "" ? "" : ` "${node}"`}) cannot be trained: supported ops are ${IMPORTABLE_OPS.join(", ")}`,
    );
    this.op = op;
    this.node = node;
  }
}

/** What the engine needs of an imported graph. */
export interface ImportedOnnx {
  readonly layout: ParamLayout;
  /** The file's weights in layout order; undefined for a graph whose weights were split off. */
  readonly initial: Float32Array | undefined;
  readonly inputSize: number;
  readonly classes: number;
  forward(g: GraphBuilder, x: Tensor, params: ReadonlyMap<string, Tensor>): Tensor;
}

function attr(node: NodeProto, name: string): number | number[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (a == null) return undefined;
  if (a.ints != null && a.ints.length > 0) return a.ints.map(Number);
  if (a.type === onnx.AttributeProto.AttributeType.FLOAT) return a.f ?? 0;
  return Number(a.i ?? 0);
}

/** A constant tensor's values (float or int64), from its typed field or its raw bytes. */
function tensorValues(t: onnxProto.onnx.ITensorProto): { float: boolean; values: number[] } {
  const float = t.dataType === onnx.TensorProto.DataType.FLOAT;
  if (float && (t.floatData?.length ?? 0) > 0) return { float, values: t.floatData!.map(Number) };
  if (!float && (t.int64Data?.length ?? 0) > 0) return { float, values: t.int64Data!.map(Number) };
  const raw = t.rawData ?? new Uint8Array(0);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const width = float ? 4 : 8;
  return {
    float,
    values: Array.from({ length: raw.byteLength / width }, (_, i) =>
      float ? view.getFloat32(i * 4, true) : Number(view.getBigInt64(i * 8, true)),
    ),
  };
}

function staticDims(info: ValueInfo): number[] {
  return (info.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1,
  );
}

/** Parses and checks a user's ONNX model; throws `UnsupportedOnnxOpError` at the first unsupported op. */
export function importOnnx(bytes: Uint8Array): ImportedOnnx {
  const decoded = onnx.ModelProto.decode(bytes);
  const graph = decoded.graph;
  if (graph == null) throw new OnnxModelError("the ONNX file has no graph");
  const { initializers: floats } = readOnnxModel(bytes);
  const ints = new Map<string, number[]>();
  const dimsOf = new Map<string, number[]>();
  const paramNames: string[] = [];
  for (const t of graph.initializer ?? []) {
    dimsOf.set(t.name ?? "", (t.dims ?? []).map(Number));
    if (t.dataType === onnx.TensorProto.DataType.INT64)
      ints.set(t.name ?? "", (t.int64Data ?? []).map(Number));
    if (t.dataType === onnx.TensorProto.DataType.FLOAT) paramNames.push(t.name ?? "");
  }
  const layout = createLayout(paramNames.map((name) => ({ name, shape: dimsOf.get(name)! })));
  const initial = floats.size === 0 ? undefined : new Float32Array(layout.size);
  for (const slot of initial === undefined ? [] : layout.tensors) {
    const values = floats.get(slot.name);
    // All weights or none (a split graph): a graph with some of them would train from zeros unnoticed.
    if (values?.length !== slot.size)
      throw new OnnxModelError(`initializer ${slot.name} has ${values?.length ?? 0} of ${slot.size} values`);
    initial!.set(values, slot.offset);
  }
  const inputs = (graph.input ?? []).filter((i) => !dimsOf.has(i.name ?? ""));
  if (inputs.length !== 1) throw new OnnxModelError(`expected one data input, found ${inputs.length}`);
  const inputDims = staticDims(inputs[0]!);
  if (inputDims.length !== 2 || inputDims[1]! < 1) {
    throw new OnnxModelError(`the data input must be [N, features], found [${inputDims}]`);
  }
  let nodes = [...(graph.node ?? [])];
  const last = nodes.at(-1);
  if (last !== undefined && (last.opType === "Softmax" || last.opType === "LogSoftmax"))
    nodes = nodes.slice(0, -1);
  const logitsName = nodes.at(-1)?.output?.[0];
  nodes.forEach((n, i) => {
    if (!(IMPORTABLE_OPS as readonly string[]).includes(n.opType ?? ""))
      throw new UnsupportedOnnxOpError(n.opType ?? "?", n.name ?? "", i);
  });
  const constants = new Map<string, { dims: number[]; float: boolean; values: number[] }>();
  nodes.forEach((n, i) => {
    if (n.opType !== "Constant") return;
    const value = n.attribute?.find((a) => a.name === "value")?.t;
    const kind = value?.dataType;
    if (
      value == null ||
      (kind !== onnx.TensorProto.DataType.FLOAT && kind !== onnx.TensorProto.DataType.INT64)
    )
      throw new UnsupportedOnnxOpError("Constant other than a float or int64 tensor", n.name ?? "", i);
    const { float, values } = tensorValues(value);
    const out = n.output?.[0] ?? "";
    constants.set(out, { dims: (value.dims ?? []).map(Number), float, values });
    if (!float) ints.set(out, values);
  });
  const outDims = staticDims((graph.output ?? [])[0] ?? {});
  const classes = outDims.at(-1) ?? -1;
  const inputName = inputs[0]!.name ?? "";

  const forward = (g: GraphBuilder, x: Tensor, params: ReadonlyMap<string, Tensor>): Tensor => {
    const values = new Map<string, Tensor>([[inputName, x], ...params]);
    const get = (name: string) => {
      const t = values.get(name);
      if (t === undefined) throw new GraphBuildError(`ONNX value ${name} is not computed before use`);
      return t;
    };
    const intConstant = (name: string, dims: readonly number[]) => {
      const made = g.constantInt64(ints.get(name)!, dims);
      values.set(name, made);
      return made;
    };
    nodes.forEach((n, i) => {
      const ins = (n.input ?? []).filter((name) => name !== "");
      const out = n.output?.[0] ?? "";
      const op = n.opType ?? "";
      const unsupported = (what: string) => new UnsupportedOnnxOpError(`${op} ${what}`, n.name ?? "", i);
      let y: Tensor;
      if (op === "Constant") {
        const c = constants.get(out)!;
        y = c.float ? g.constant(c.values, c.dims) : g.constantInt64(c.values, c.dims);
      } else if (op === "Cast") {
        // Only of the data (token ids to int64, as a language model's input): a cast value has no gradient.
        const source = get(ins[0]!);
        if (source.requiresGrad) throw unsupported("of a trained value");
        y = g.raw("Cast", [source], source.shape, { to: Number(attr(n, "to") ?? 1) });
      } else if (op === "Gather") {
        const axis = Number(attr(n, "axis") ?? 0);
        const indexDims = dimsOf.get(ins[1]!) ?? constants.get(ins[1]!)?.dims;
        const source = get(ins[0]!);
        if (!source.requiresGrad) {
          // Columns of the data (a CNN's im2col): constant indices, nothing to differentiate.
          const index = values.get(ins[1]!) ?? intConstant(ins[1]!, indexDims ?? []);
          const r = source.shape.length;
          const a = axis < 0 ? axis + r : axis;
          y = g.raw(
            "Gather",
            [source, index],
            [...source.shape.slice(0, a), ...index.shape, ...source.shape.slice(a + 1)],
            {
              axis: a,
            },
          );
        } else if (ints.has(ins[1]!) && indexDims?.length === 0)
          y = select(g, source, axis, ints.get(ins[1]!)![0]!);
        else if (axis === 0 && source.shape.length === 2 && !ints.has(ins[1]!))
          y = embedding(g, source, get(ins[1]!));
        else throw unsupported("of a trained value other than an embedding lookup or one constant index");
      } else if (op === "Softmax") {
        const rank = get(ins[0]!).shape.length;
        const axis = Number(attr(n, "axis") ?? -1);
        if (axis !== -1 && axis !== rank - 1) throw unsupported("over an axis other than the last");
        y = softmax(g, get(ins[0]!));
      } else if (op === "Erf") y = erf(g, get(ins[0]!));
      else if (op === "ReduceMax") {
        if (Number(attr(n, "keepdims") ?? 1) !== 1) throw unsupported("without keepdims");
        y = g.reduceMax(get(ins[0]!), attr(n, "axes") as number[]);
      } else if (op === "MatMul") {
        const [a, b] = [get(ins[0]!), get(ins[1]!)];
        y = a.shape.length === 2 ? g.matmul(a, b) : batchedMatmul(g, a, b);
      } else if (op === "Gemm") {
        if ((attr(n, "alpha") ?? 1) !== 1 || (attr(n, "beta") ?? 1) !== 1 || (attr(n, "transA") ?? 0) !== 0) {
          throw new UnsupportedOnnxOpError("Gemm with alpha/beta ≠ 1 or transA", n.name ?? "", i);
        }
        let b = get(ins[1]!);
        if (attr(n, "transB") === 1) b = transpose(g, b, [1, 0]);
        y = g.matmul(get(ins[0]!), b);
        if (ins[2] !== undefined) y = g.add(y, get(ins[2]));
      } else if (op === "Add" || op === "Mul") {
        const [a, b] = [get(ins[0]!), get(ins[1]!)];
        if (a.shape.length === b.shape.length && a.shape.every((d, j) => d === b.shape[j]))
          y = op === "Add" ? g.add(a, b) : g.mul(a, b);
        else {
          // Broadcasting, as exporters write a bias, a position table, an attention mask or a scalar: the
          // smaller side is trailing-shaped; a trained one is only ever added (a bias), so g.add sums its
          // gradient over the leading axes, and a constant one takes none.
          const [big, small] = a.shape.length >= b.shape.length ? [a, b] : [b, a];
          if (op === "Add" && small.requiresGrad) y = g.add(big, small);
          else if (small.requiresGrad) throw unsupported("broadcasting a trained value");
          else
            y = g.op(op, [big, small], big.shape, {}, (grad) => [
              op === "Add" ? grad : g.raw("Mul", [grad, small], big.shape),
              undefined,
            ]);
        }
      } else if (op === "Sub") y = g.sub(get(ins[0]!), get(ins[1]!));
      else if (op === "Relu") y = g.relu(get(ins[0]!));
      else if (op === "Tanh") y = g.tanh(get(ins[0]!));
      else if (op === "Gelu") y = gelu(g, get(ins[0]!));
      else if (op === "Identity") y = get(ins[0]!);
      else if (op === "Transpose") y = transpose(g, get(ins[0]!), attr(n, "perm") as number[]);
      else if (op === "LayerNormalization") y = layerNorm(g, get(ins[0]!), get(ins[1]!), get(ins[2]!));
      else if (op === "Flatten") {
        const s = get(ins[0]!).shape;
        y = g.reshape(get(ins[0]!), [-1, s.slice(1).reduce((a, b) => a * b, 1)]);
      } else {
        // Reshape: the target shape must be a constant; 0 copies the input's dimension.
        const shape = ints.get(ins[1] ?? "");
        if (shape === undefined)
          throw new UnsupportedOnnxOpError("Reshape with a computed shape", n.name ?? "", i);
        const source = get(ins[0]!);
        y = g.reshape(
          source,
          shape.map((d, j) => (d === 0 ? (source.shape[j] ?? -1) : d)),
        );
      }
      values.set(out, y);
    });
    return get(logitsName ?? inputName);
  };
  return { layout, initial, inputSize: inputDims[1]!, classes, forward };
}

/**
 * A user's ONNX model split for a task spec: the graph with every float initializer emptied (name, type and
 * dims kept, so the layout is the same) and the weights as one parameter vector in layout order. Checks the
 * model first (`importOnnx`), so an unsupported op is refused before anything is written.
 */
export function splitOnnxWeights(bytes: Uint8Array): { graph: Uint8Array; initial: Float32Array } {
  const imported = importOnnx(bytes);
  if (imported.initial === undefined) throw new OnnxModelError("the ONNX file has no weights to split off");
  const decoded = onnx.ModelProto.decode(bytes);
  for (const t of decoded.graph?.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    t.floatData = [];
    t.rawData = new Uint8Array(0);
  }
  return { graph: onnx.ModelProto.encode(decoded).finish(), initial: imported.initial };
}
