/**
 * Builds the circuit input for one chunk from the aggregator's stored (encoded) updates and weights, and
 * the circuit's one public signal: the statement hash (docs/protocol.md §5), which the verifier contract
 * recomputes from what it opens on chain.
 */
import { CHUNK_SIZE, PROOF_TRAINERS, VALUE_OFFSET, WEIGHT_BITS } from "./constants.ts";
import { chunkValues, getPoseidon, hashChunk } from "./commitment.ts";
import { aggregateFixedPoint } from "./fixed-point.ts";

/** Raised for inputs the circuit cannot prove (too many trainers, zero weight, mismatched lengths). */
export class ProofInputError extends Error {
  override readonly name = "ProofInputError";
  readonly code = "PROOF_INPUT";
}

export interface ChunkStatement {
  readonly roundId: bigint;
  readonly chunkIndex: number;
  /**
   * Poseidon chunk hashes of the real trainers as the statement uses them: a weight-0 trainer takes the
   * padding hash (its values do not enter the sum, so the chain does not open its commitment); unused
   * slots are padded in `statementInputs`.
   */
  readonly trainerChunkHashes: readonly bigint[];
  readonly aggregateChunkHash: bigint;
  readonly weights: readonly number[];
}

/** Packs weights as the circuit and the verifier contract do: Σ w_k · 2^(16k). */
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

/** Weights packed WEIGHTS_PER_FIELD per element (one element for K <= 15). */
const WEIGHTS_PER_FIELD = Math.floor(253 / WEIGHT_BITS);

/**
 * The statement hash's inputs, as circuits/aggregate-chunk.circom `StatementHash` orders them:
 * trainer hashes (padded to K), the aggregate chunk hash, the packed weights, roundId · 2^32 + chunkIndex.
 */
export async function statementInputs(statement: ChunkStatement): Promise<bigint[]> {
  const padding = await paddingChunkHash();
  const hashes = [...statement.trainerChunkHashes];
  while (hashes.length < PROOF_TRAINERS) hashes.push(padding);
  const weights = [...statement.weights];
  while (weights.length < PROOF_TRAINERS) weights.push(0);
  const packed: bigint[] = [];
  for (let i = 0; i < weights.length; i += WEIGHTS_PER_FIELD)
    packed.push(packWeights(weights.slice(i, i + WEIGHTS_PER_FIELD)));
  return [
    ...hashes,
    statement.aggregateChunkHash,
    ...packed,
    roundChunk(statement.roundId, statement.chunkIndex),
  ];
}

/** Poseidon of the statement inputs (two levels past 16 inputs, as the circuit does). */
export async function statementHash(statement: ChunkStatement): Promise<bigint> {
  const poseidon = await getPoseidon();
  const hash = (values: readonly bigint[]) => poseidon.F.toObject(poseidon([...values])) as bigint;
  const inputs = await statementInputs(statement);
  if (inputs.length <= 16) return hash(inputs);
  return hash([hash(inputs.slice(0, PROOF_TRAINERS)), ...inputs.slice(PROOF_TRAINERS)]);
}

/** The circuit's public signals: the statement hash alone. */
export async function publicSignals(statement: ChunkStatement): Promise<bigint[]> {
  return [await statementHash(statement)];
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
  if (weights.every((w) => w === 0)) throw new ProofInputError("at least one weight must be positive");
  const paddingChunk = new Uint16Array(CHUNK_SIZE).fill(VALUE_OFFSET);
  // Weight-0 trainers are proven with the padding chunk: the chain does not open their commitments.
  const chunks = encodedUpdates.map((u, k) => (weights[k] === 0 ? paddingChunk : chunkValues(u, chunkIndex)));
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
  const input = {
    statement: String(await statementHash(statement)),
    roundChunk: String(roundChunk(roundId, chunkIndex)),
    u: padded.map((c) => Array.from(c, String)),
    w: paddedWeights.map(String),
    agg: Array.from(aggregate, String),
    rem: Array.from(remainders, String),
  };
  return { input, statement, aggregateChunk: aggregate };
}
