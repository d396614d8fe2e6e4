/**
 * The model a round makes (docs/protocol.md §3): the chain names it `modelRefOf(base, aggregateCommitment,
 * roundId)`, never the aggregator; every node computes its weights with the task's server step
 * (server-step.ts; FedAvg: `base + lr · decode(aggregate)`) from the round's base model and the encoded aggregate whose commitment was posted (and proven or watched), and keeps
 * them under that ref. A model is thus checked by recomputation, not by a name its aggregator chose.
 */
import { encodeAbiParameters, keccak256 } from "viem";
import type { Hex } from "viem";

import { decodeSparseCodes, isSparseCodes } from "../../compression/aggregate-wire.ts";
import { UpdateDecodeError } from "../../compression/errors.ts";
import { decodeFixedPoint } from "../../proofs/index.ts";
import { mapFloat32 } from "../../core/vectors.ts";

const LOW_64 = (1n << 64n) - 1n;

/**
 * The ref the contract derives (RoundsBase._modelRefOf): keccak256(abi.encode(base, aggregateCommitment,
 * roundId)) with its low 64 bits replaced by `roundId`.
 */
export function modelRefOf(baseModelRef: Hex, aggregateCommitment: Hex, roundId: bigint): Hex {
  const hash = BigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
        [baseModelRef, aggregateCommitment, roundId],
      ),
    ),
  );
  return `0x${((hash & ~LOW_64) | (roundId & LOW_64)).toString(16).padStart(64, "0")}`;
}

/**
 * The round a derived ref names (its low 64 bits), or undefined for a ref that cannot be one (zero). A task's
 * initial model is named by its content hash instead: a caller checks the round's `modelRef` equals `ref`.
 */
export function roundOfModelRef(ref: Hex): bigint | undefined {
  const roundId = BigInt(ref) & LOW_64;
  return roundId === 0n ? undefined : roundId;
}

/** The server rule of every task: the new weights are the base plus the decoded fixed-point aggregate. */
export function nextModel(base: Float32Array, aggregate: Uint16Array): Float32Array {
  const delta = decodeFixedPoint(aggregate);
  return mapFloat32(base, (value, i) => value + delta[i]!);
}

/**
 * An encoded aggregate from its served bytes (the sparse form of compression/aggregate-wire.ts, or paramSize ×
 * u16 little-endian), or undefined if they are neither for this model's size. Callers still check the decoded
 * codes against the posted commitment.
 */
export function aggregateFromBytes(bytes: Uint8Array, paramSize: number): Uint16Array | undefined {
  if (isSparseCodes(bytes) && bytes.length < paramSize * 2) {
    try {
      return decodeSparseCodes(bytes, paramSize);
    } catch (error) {
      if (error instanceof UpdateDecodeError) return undefined;
      throw error;
    }
  }
  if (bytes.length !== paramSize * 2) return undefined;
  return new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
