/**
 * Builds the circuit input for one chunk from the aggregator's stored (encoded) updates and weights, and
 * the public signals in the circuit's order.
 */
import { CHUNK_SIZE, PROOF_TRAINERS, VALUE_OFFSET, WEIGHT_BITS } from "./constants.ts";
import { chunkValues, hashChunk } from "./commitment.ts";
import { aggregateFixedPoint } from "./fixed-point.ts";

/** Raised for inputs the circuit cannot prove (too many trainers, zero weight, mismatched lengths). */
export class ProofInputError extends Error {
  override readonly name = "ProofInputError";
  readonly code = "PROOF_INPUT";
}

export interface ChunkStatement {
  readonly roundId: bigint;
  readonly chunkIndex: number;
  /** Poseidon chunk hashes of the real trainers (padding slots are added here). */
  readonly trainerChunkHashes: readonly bigint[];
  readonly aggregateChunkHash: bigint;
  readonly weights: readonly number[];
}

/** Packs weights as the circuit's single public `weightsPacked` element. */
export function packWeights(weights: readonly number[]): bigint {
  return weights.reduce((acc, w, k) => acc + (BigInt(w) << BigInt(WEIGHT_BITS * k)), 0n);
}

/** roundId · 2^32 + chunkIndex. */
export function roundChunk(roundId: bigint, chunkIndex: number): bigint {
  return (roundId << 32n) + BigInt(chunkIndex);
}

/** The hash of a padding slot: a chunk of encoded zeros. */
export async function paddingChunkHash(): Promise<bigint> {
  return hashChunk(new Uint16Array(CHUNK_SIZE).fill(VALUE_OFFSET));
}

/** Public signals, in the order the circuit declares them. */
export async function publicSignals(statement: ChunkStatement): Promise<bigint[]> {
  const padding = await paddingChunkHash();
  const hashes = [...statement.trainerChunkHashes];
  while (hashes.length < PROOF_TRAINERS) hashes.push(padding);
  const weights = [...statement.weights];
  while (weights.length < PROOF_TRAINERS) weights.push(0);
  return [
    ...hashes,
    statement.aggregateChunkHash,
    packWeights(weights),
    roundChunk(statement.roundId, statement.chunkIndex),
  ];
}

/** Everything needed to prove chunk `chunkIndex`: circuit input and the statement it proves. */
export async function buildChunkWitness(
  roundId: bigint,
  chunkIndex: number,
  encodedUpdates: readonly Uint16Array[],
  weights: readonly number[],
): Promise<{ input: Record<string, unknown>; statement: ChunkStatement; aggregateChunk: Uint16Array }> {
  if (encodedUpdates.length === 0 || encodedUpdates.length > PROOF_TRAINERS) {
    throw new ProofInputError(`a proof covers 1..${PROOF_TRAINERS} trainers, got ${encodedUpdates.length}`);
  }
  if (weights.length !== encodedUpdates.length) throw new ProofInputError("one weight per trainer");
  const chunks = encodedUpdates.map((u) => chunkValues(u, chunkIndex));
  const padded = [...chunks];
  const paddedWeights = [...weights];
  while (padded.length < PROOF_TRAINERS) {
    padded.push(new Uint16Array(CHUNK_SIZE).fill(VALUE_OFFSET));
    paddedWeights.push(0);
  }
  const { aggregate, remainders } = aggregateFixedPoint(padded, paddedWeights);
  const trainerChunkHashes = await Promise.all(chunks.map(hashChunk));
  const statement: ChunkStatement = {
    roundId,
    chunkIndex,
    trainerChunkHashes,
    aggregateChunkHash: await hashChunk(aggregate),
    weights,
  };
  const signals = await publicSignals(statement);
  const input = {
    trainerHash: signals.slice(0, PROOF_TRAINERS).map(String),
    aggregateHash: String(signals[PROOF_TRAINERS]),
    weightsPacked: [String(signals[PROOF_TRAINERS + 1])],
    roundChunk: String(signals[PROOF_TRAINERS + 2]),
    u: padded.map((c) => Array.from(c, String)),
    w: paddedWeights.map(String),
    agg: Array.from(aggregate, String),
    rem: Array.from(remainders, String),
  };
  return { input, statement, aggregateChunk: aggregate };
}
