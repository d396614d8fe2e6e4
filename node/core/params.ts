/**
 * The shared vocabulary for model parameters: every model, update and aggregate in vAIn is one flat
 * `Float32Array` plus a layout that names its tensors. Compression, aggregation and proofs work on the
 * flat vector and never need to know the model.
 */

/** One named tensor inside a flat parameter vector. */
export interface TensorSlot {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset of the first element, in elements (not bytes). */
  readonly offset: number;
  /** Number of elements: the product of `shape`. */
  readonly size: number;
}

/** Names, shapes and offsets of the tensors in a flat parameter vector, in order, without gaps. */
export interface ParamLayout {
  readonly tensors: readonly TensorSlot[];
  /** Total number of elements. */
  readonly size: number;
}

/** A flat parameter vector with its layout. */
export interface ParamVector {
  readonly layout: ParamLayout;
  readonly values: Float32Array;
}

/** Raised when a vector, a layout or a tensor name does not fit. */
export class ParamLayoutError extends Error {
  override readonly name = "ParamLayoutError";
  readonly code = "PARAM_LAYOUT";
}

/** Builds a layout from tensor names and shapes, placing tensors back to back in the given order. */
export function createLayout(tensors: readonly { name: string; shape: readonly number[] }[]): ParamLayout {
  const seen = new Set<string>();
  const slots: TensorSlot[] = [];
  let offset = 0;
  for (const { name, shape } of tensors) {
    if (seen.has(name)) throw new ParamLayoutError(`duplicate tensor name "${name}"`);
    if (shape.some((dim) => !Number.isInteger(dim) || dim <= 0)) {
      throw new ParamLayoutError(`tensor "${name}" has an invalid shape [${shape.join(", ")}]`);
    }
    seen.add(name);
    const size = shape.reduce((product, dim) => product * dim, 1);
    slots.push({ name, shape: [...shape], offset, size });
    offset += size;
  }
  return { tensors: slots, size: offset };
}

/** A zero-filled vector of the given layout. */
export function zerosLike(layout: ParamLayout): ParamVector {
  return { layout, values: new Float32Array(layout.size) };
}

/** Wraps values in a layout after checking the length. */
export function toParamVector(layout: ParamLayout, values: Float32Array): ParamVector {
  if (values.length !== layout.size) {
    throw new ParamLayoutError(`vector has ${values.length} elements, layout expects ${layout.size}`);
  }
  return { layout, values };
}

/** A view (no copy) of one named tensor. */
export function tensorView(vector: ParamVector, name: string): Float32Array {
  const slot = vector.layout.tensors.find((tensor) => tensor.name === name);
  if (slot === undefined) throw new ParamLayoutError(`no tensor named "${name}" in layout`);
  return vector.values.subarray(slot.offset, slot.offset + slot.size);
}

/** True when two layouts describe the same tensors at the same offsets. */
export function sameLayout(a: ParamLayout, b: ParamLayout): boolean {
  if (a.size !== b.size || a.tensors.length !== b.tensors.length) return false;
  return a.tensors.every((slot, i) => {
    const other = b.tensors[i];
    return (
      other !== undefined &&
      slot.name === other.name &&
      slot.offset === other.offset &&
      slot.shape.length === other.shape.length &&
      slot.shape.every((dim, j) => dim === other.shape[j])
    );
  });
}
