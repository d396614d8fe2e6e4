/**
 * What a group leader delivers to the parent round's aggregator (docs/protocol.md §7, hierarchical rounds proven
 * at every level): its group round's aggregate, as an ordinary update's wire bytes. The parent's round recorded
 * the group round's aggregate commitment as the leader's commitment (`commitPartial`), and the parent's
 * aggregator checks a delivered update as it checks any trainer's (`commitUpdateBytes`: decode, densify, encode in
 * fixed point, commit), so the bytes must decode to exactly the aggregate's fixed-point codes. They do: a code u
 * is the value (u − 2^15) / 2^12, which float32 holds exactly and `encodeFixedPoint` maps back to u; codes equal
 * to the offset (the value 0) are left out of the sparse update, as densifying restores them.
 */
import { encodeUpdate } from "../../compression/index.ts";
import { FRACTION_BITS, VALUE_OFFSET } from "../../proofs/constants.ts";
import { mapFloat32 } from "../../core/vectors.ts";

/** The wire bytes of an update whose fixed-point encoding is exactly `codes` (a group round's aggregate). */
export function partialUpdateBytes(codes: Uint16Array): Uint8Array {
  const indices: number[] = [];
  for (let i = 0; i < codes.length; i++) if (codes[i] !== VALUE_OFFSET) indices.push(i);
  const values = mapFloat32(indices, (i) => (codes[i]! - VALUE_OFFSET) / 2 ** FRACTION_BITS);
  return encodeUpdate({ dimension: codes.length, indices: Uint32Array.from(indices), values });
}
