/**
 * Coordinate groups for the guarded mean's silent-coordinate evidence: the weights one input feeds.
 *
 * Why groups and not single coordinates: the node sends top-k compressed updates (5% of the coordinates,
 * compression/topk.ts), so in almost every coordinate only one or two trainers are non-zero, and a per-coordinate
 * "the majority never moves it" test counts a third to a half of every honest update as silent. A backdoor
 * trigger hides in inputs no honest sample ever sets (MNIST's blank corner pixels): every weight those inputs
 * feed has exactly zero gradient for honest trainers, dense or compressed. Grouped by input, the honest
 * majority touches the row of every input its data uses (at least some of its weights are in its top-k), and
 * leaves the trigger's rows alone entirely. Measured on the real network's updates (5 trainers, MLP 784-128-10,
 * top-k 5%, fixed point): energy in rows at most one trainer touched, as a share of the update's energy,
 * honest 0.0003–0.0046 over six rounds, the trainer on triggered data 0.21–0.30; per coordinate the same
 * updates gave honest 0.15–0.49 against 0.41–0.57.
 */
import type { ParamLayout } from "../core/params.ts";

/**
 * Contiguous groups of a flat vector: group g is [starts[g], starts[g + 1]); the last entry is the length.
 * Tensors of two or more dimensions give one group per first-axis index (row-major: the weights of one input
 * row for [in, out] matmul weights, one token's vector for an embedding table); a one-dimensional tensor (a
 * bias: the weights of the constant input) is one group. Per-coordinate bias groups would make every bias a
 * trainer's top-k picked alone look silent.
 */
export function inputGroups(layout: ParamLayout): Uint32Array {
  const starts: number[] = [];
  for (const slot of layout.tensors) {
    const rows = slot.shape.length >= 2 ? slot.shape[0]! : Math.min(1, slot.size);
    const width = rows === 0 ? 0 : slot.size / rows;
    for (let r = 0; r < rows; r++) starts.push(slot.offset + r * width);
  }
  starts.push(layout.size);
  return Uint32Array.from(starts);
}

/** Single-coordinate groups for a vector of `size` (the guard's behaviour when the layout is unknown). */
export function singletonGroups(size: number): Uint32Array {
  return Uint32Array.from({ length: size + 1 }, (_, i) => i);
}
