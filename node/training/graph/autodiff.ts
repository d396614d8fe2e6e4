/**
 * A small reverse-mode automatic differentiation builder that emits ONNX nodes. Models are written as
 * forward code over `Tensor` handles; `gradients(loss, params)` appends the backward pass as more ONNX nodes,
 * so new models are a few lines and no backward pass is written by hand.
 *
 * Shapes are static except the batch dimension, written as -1.
 */
import { floatTensor, int64Tensor, node, valueInfo } from "./onnx.ts";
import type { OnnxNode, OnnxTensor, OnnxValueInfo } from "./onnx.ts";

/** A value in the graph. `shape` uses -1 for the batch dimension. */
export interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly requiresGrad: boolean;
}

/** Raised when a graph is built wrongly (shape mismatch, unsupported gradient). */
export class GraphBuildError extends Error {
  override readonly name = "GraphBuildError";
  readonly code = "GRAPH_BUILD";
}

export type Backward = (gradOut: Tensor) => readonly (Tensor | undefined)[];

interface TapeEntry {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly backward: Backward;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Builds an ONNX graph with a gradient tape. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  private readonly tape: TapeEntry[] = [];
  private counter = 0;

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  private tensor(name: string, shape: readonly number[], requiresGrad: boolean): Tensor {
    return { name, shape: [...shape], requiresGrad };
  }

  /** A graph input. Parameters are inputs with `requiresGrad`. */
  input(name: string, shape: readonly number[], requiresGrad = false): Tensor {
    this.inputs.push(
      valueInfo(
        name,
        shape.map((d) => (d === -1 ? "N" : d)),
      ),
    );
    return this.tensor(name, shape, requiresGrad);
  }

  /** Declares `t` as a graph output (optionally renamed through Identity). */
  output(t: Tensor, name?: string): Tensor {
    let out = t;
    if (name !== undefined && name !== t.name) {
      this.nodes.push(node("Identity", [t.name], [name]));
      out = this.tensor(name, t.shape, false);
    }
    this.outputs.push(
      valueInfo(
        out.name,
        out.shape.map((d) => (d === -1 ? "N" : d)),
      ),
    );
    return out;
  }

  /** A float constant. */
  constant(values: readonly number[] | Float32Array, shape: readonly number[]): Tensor {
    const name = this.fresh("const");
    this.initializers.push(floatTensor(name, shape, values));
    return this.tensor(name, shape, false);
  }

  /** An int64 constant (indices, shapes, axes). */
  constantInt64(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
    const name = this.fresh("i64");
    this.initializers.push(int64Tensor(name, shape, values));
    return this.tensor(name, shape, false);
  }

  private emit(
    op: string,
    inputs: readonly Tensor[],
    shape: readonly number[],
    attrs: Record<string, number | number[] | string> = {},
    backward?: Backward,
    tapeInputs: readonly Tensor[] = inputs,
  ): Tensor {
    const name = this.fresh(op.toLowerCase());
    this.nodes.push(
      node(
        op,
        inputs.map((t) => t.name),
        [name],
        attrs,
      ),
    );
    const requiresGrad = backward !== undefined && tapeInputs.some((t) => t.requiresGrad);
    const out = this.tensor(name, shape, requiresGrad);
    if (requiresGrad && backward !== undefined) this.tape.push({ inputs: tapeInputs, output: out, backward });
    return out;
  }

  /** Emits an op that is never differentiated (used inside backward passes and optimizers). */
  raw(
    op: string,
    inputs: readonly Tensor[],
    shape: readonly number[],
    attrs: Record<string, number | number[] | string> = {},
  ): Tensor {
    return this.emit(op, inputs, shape, attrs);
  }

  /**
   * Emits a differentiable op: `backward` maps the output's gradient to one gradient per tape input. Ops in
   * graph/ops/ use this; `tapeInputs` are the tensors the gradient flows to when they differ from `inputs`
   * (an op computed by several raw nodes and closed by this one).
   */
  op(
    op: string,
    inputs: readonly Tensor[],
    shape: readonly number[],
    attrs: Record<string, number | number[] | string>,
    backward: Backward,
    tapeInputs: readonly Tensor[] = inputs,
  ): Tensor {
    return this.emit(op, inputs, shape, attrs, backward, tapeInputs);
  }

  // ------------------------------------------------------------------ differentiable ops

  /** 2-D matrix product [m,k]·[k,n]. */
  matmul(a: Tensor, b: Tensor): Tensor {
    if (a.shape.length !== 2 || b.shape.length !== 2 || a.shape[1] !== b.shape[0]) {
      throw new GraphBuildError(`matmul shapes [${a.shape}]·[${b.shape}] do not fit`);
    }
    return this.emit("MatMul", [a, b], [a.shape[0] ?? -1, b.shape[1] ?? -1], {}, (g) => [
      a.requiresGrad
        ? this.raw("Gemm", [g, b], a.shape, { transB: 1 }) // Gemm's flag avoids a transposed copy
        : undefined,
      b.requiresGrad ? this.raw("Gemm", [a, g], b.shape, { transA: 1 }) : undefined,
    ]);
  }

  /**
   * Elementwise sum (residual connections); `b` may have the trailing shape of `a` and is then broadcast
   * over `a`'s leading axes (a bias vector, or a [T, C] position table over [N, T, C]).
   */
  add(a: Tensor, b: Tensor): Tensor {
    const broadcast = !sameShape(a.shape, b.shape);
    const lead = a.shape.length - b.shape.length;
    if (broadcast && (lead <= 0 || b.shape.some((d, i) => d !== a.shape[lead + i]))) {
      throw new GraphBuildError(`add shapes [${a.shape}] + [${b.shape}] do not broadcast`);
    }
    return this.emit("Add", [a, b], a.shape, {}, (g) => [
      a.requiresGrad ? g : undefined,
      b.requiresGrad
        ? broadcast
          ? this.raw("ReduceSum", [g, this.constantInt64(a.shape.slice(0, lead).map((_, i) => i))], b.shape, {
              keepdims: 0,
            })
          : g
        : undefined,
    ]);
  }

  /** Elementwise difference of same-shaped tensors. */
  sub(a: Tensor, b: Tensor): Tensor {
    if (!sameShape(a.shape, b.shape))
      throw new GraphBuildError(`sub shapes [${a.shape}] - [${b.shape}] differ`);
    return this.emit("Sub", [a, b], a.shape, {}, (g) => [
      a.requiresGrad ? g : undefined,
      b.requiresGrad ? this.raw("Neg", [g], b.shape) : undefined,
    ]);
  }

  /** Elementwise product of same-shaped tensors. */
  mul(a: Tensor, b: Tensor): Tensor {
    if (!sameShape(a.shape, b.shape))
      throw new GraphBuildError(`mul shapes [${a.shape}] * [${b.shape}] differ`);
    return this.emit("Mul", [a, b], a.shape, {}, (g) => [
      a.requiresGrad ? this.raw("Mul", [g, b], a.shape) : undefined,
      b.requiresGrad ? this.raw("Mul", [g, a], b.shape) : undefined,
    ]);
  }

  /** Rectified linear unit. */
  relu(x: Tensor): Tensor {
    const y = this.emit("Relu", [x], x.shape, {}, (g) => {
      const zero = this.constant([0], []);
      const mask = this.raw("Cast", [this.raw("Greater", [x, zero], x.shape)], x.shape, { to: 1 });
      return [this.raw("Mul", [g, mask], x.shape)];
    });
    return y;
  }

  /** Hyperbolic tangent. */
  tanh(x: Tensor): Tensor {
    const y: Tensor = this.emit("Tanh", [x], x.shape, {}, (g) => {
      const one = this.constant([1], []);
      const dy = this.raw("Sub", [one, this.raw("Mul", [y, y], x.shape)], x.shape);
      return [this.raw("Mul", [g, dy], x.shape)];
    });
    return y;
  }

  /** Reshape; at most one -1 (the batch). */
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    const target = this.constantInt64(shape);
    return this.emit("Reshape", [x, target], shape, {}, (g) => [
      this.raw("Reshape", [g, this.raw("Shape", [x], [x.shape.length])], x.shape),
    ]);
  }

  /** Gathers columns of a 2-D tensor with constant indices (im2col for convolutions). Not differentiable in `x`. */
  gatherColumns(x: Tensor, indices: readonly number[]): Tensor {
    if (x.requiresGrad) throw new GraphBuildError("gatherColumns has no gradient for its input");
    const idx = this.constantInt64(indices);
    return this.emit("Gather", [x, idx], [x.shape[0] ?? -1, indices.length], { axis: 1 });
  }

  /** Maximum over `axes` with kept dimensions (max pooling after a reshape). */
  reduceMax(x: Tensor, axes: readonly number[]): Tensor {
    const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const y: Tensor = this.emit("ReduceMax", [x], shape, { axes: [...axes], keepdims: 1 }, (g) => {
      const mask = this.raw("Cast", [this.raw("Equal", [x, y], x.shape)], x.shape, { to: 1 });
      return [this.raw("Mul", [mask, g], x.shape)];
    });
    return y;
  }

  /** Sum of all elements (scalar). */
  sum(x: Tensor): Tensor {
    return this.emit("ReduceSum", [x], [], { keepdims: 0 }, (g) => [
      this.raw("Expand", [g, this.raw("Shape", [x], [x.shape.length])], x.shape),
    ]);
  }

  /** Mean softmax cross-entropy of `logits` [N,C] against one-hot `targets` [N,C] (scalar). */
  softmaxCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
    const n = logits.shape;
    const logp = this.raw("LogSoftmax", [logits], n, { axis: 1 });
    const perSample = this.raw(
      "ReduceSum",
      [this.raw("Mul", [targets, logp], n), this.constantInt64([1])],
      [n[0] ?? -1],
      {
        keepdims: 0,
      },
    );
    const mean = this.raw("ReduceMean", [perSample], [], { keepdims: 0 });
    return this.emit(
      "Neg",
      [mean],
      [],
      {},
      (g) => {
        // d(loss)/d(logits) = (softmax(logits) - targets) / N
        const batch = this.raw(
          "Cast",
          [this.raw("Gather", [this.raw("Shape", [logits], [2]), this.constantInt64([0], [])], [])],
          [],
          {
            to: 1,
          },
        );
        const diff = this.raw("Sub", [this.raw("Softmax", [logits], n, { axis: 1 }), targets], n);
        return [this.raw("Mul", [this.raw("Div", [diff, batch], n), g], n)];
      },
      [logits],
    );
  }

  /**
   * Appends the backward pass of `loss` (a scalar) and returns the gradient of each parameter, in order.
   * Parameters the loss does not depend on get a zero gradient.
   */
  gradients(loss: Tensor, params: readonly Tensor[]): Tensor[] {
    const grads = new Map<string, Tensor>();
    grads.set(loss.name, this.constant([1], []));
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const entry = this.tape[i]!;
      const g = grads.get(entry.output.name);
      if (g === undefined) continue;
      const inputGrads = entry.backward(g);
      entry.inputs.forEach((input, j) => {
        const ig = inputGrads[j];
        if (ig === undefined || !input.requiresGrad) return;
        const prev = grads.get(input.name);
        grads.set(input.name, prev === undefined ? ig : this.raw("Add", [prev, ig], input.shape));
      });
    }
    return params.map(
      (p) =>
        grads.get(p.name) ?? this.constant(new Float32Array(p.shape.reduce((a, b) => a * b, 1)), p.shape),
    );
  }
}
