/**
 * Batched matrix product over equal leading axes, [..., m, k]·[..., k, n] (attention's Q·Kᵀ and P·V, where
 * both operands depend on the batch). Gradients: dA = G·Bᵀ, dB = Aᵀ·G, batched the same way.
 */
import { GraphBuildError } from "../autodiff.ts";
import type { GraphBuilder, Tensor } from "../autodiff.ts";

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return perm;
}

function swappedShape(shape: readonly number[]): number[] {
  const s = [...shape];
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1]!, s[s.length - 2]!];
  return s;
}

/** [..., m, k]·[..., k, n] → [..., m, n]; both operands have the same rank (≥ 3) and leading axes. */
export function batchedMatmul(g: GraphBuilder, a: Tensor, b: Tensor): Tensor {
  const rank = a.shape.length;
  const fits =
    rank >= 3 &&
    b.shape.length === rank &&
    a.shape.slice(0, -2).every((d, i) => d === b.shape[i]) &&
    a.shape[rank - 1] === b.shape[rank - 2];
  if (!fits) throw new GraphBuildError(`batchedMatmul shapes [${a.shape}]·[${b.shape}] do not fit`);
  const perm = swapLast(rank);
  const shape = [...a.shape.slice(0, -1), b.shape[rank - 1]!];
  return g.op("MatMul", [a, b], shape, {}, (grad) => [
    a.requiresGrad
      ? g.raw("MatMul", [grad, g.raw("Transpose", [b], swappedShape(b.shape), { perm })], a.shape)
      : undefined,
    b.requiresGrad
      ? g.raw("MatMul", [g.raw("Transpose", [a], swappedShape(a.shape), { perm }), grad], b.shape)
      : undefined,
  ]);
}
