/**
 * Builds the circuit input for one chunk from the aggregator's stored (encoded) updates and weights, and
 * the circuit's one public signal: the statement hash (docs/protocol.md §5), which the verifier contract
 * recomputes from what it opens on chain.
 */
import { CHUNK_SIZE, PROOF_TRAINERS, VALUE_OFFSET, VALUES_PER_FIELD, WEIGHT_BITS } from "./constants.ts";
import { chunkValues, getPoseidon, hashChunk } from "./commitment.ts";
import { aggregateFixedPoint } from "./fixed-point.ts";

/** Raised for inputs the circuit cannot prove (too many trainers, zero weight, mismatched lengths). */
export class ProofInputError extends Error {
  override readonly name = "ProofInputError";
  readonly code = "PROOF_INPUT";
}

/**
 * The shape of an `AggregateChunk(K, C, 16, 16)` instance: fan-in K and chunk size C. The node proves with
 * DEFAULT_CIRCUIT_SHAPE (circuits/aggregate.circom, the one circuit with a ceremony); other shapes are
 * development variants that `npm run bench:zk` measures (circuits/build/variants, `zk:setup --variant`).
 */
export interface CircuitShape {
  /** K: trainer slots per proof. */
  readonly trainers: number;
  /** C: values per chunk. */
  readonly chunkSize: number;
}

export const DEFAULT_CIRCUIT_SHAPE: CircuitShape = { trainers: PROOF_TRAINERS, chunkSize: CHUNK_SIZE };

/** Poseidon's widest instance in circomlib / circomlibjs (16 inputs) bounds both K and the packed chunk. */
const POSEIDON_MAX_INPUTS = 16;

/**
 * Rejects shapes the templates cannot instantiate: the statement hash folds the K trainer hashes into one
 * Poseidon (K <= 16), and a chunk hash is one Poseidon over ceil(C / 15) packed elements (C <= 240).
 */
export function checkCircuitShape(shape: CircuitShape): void {
  const { trainers, chunkSize } = shape;
  if (!Number.isInteger(trainers) || trainers < 1 || trainers > POSEIDON_MAX_INPUTS)
    throw new ProofInputError(
      `circuit fan-in must be an integer in 1..${POSEIDON_MAX_INPUTS}, got ${trainers}`,
    );
  const maxChunk = POSEIDON_MAX_INPUTS * VALUES_PER_FIELD;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > maxChunk)
    throw new ProofInputError(`circuit chunk size must be an integer in 1..${maxChunk}, got ${chunkSize}`);
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

/** The hash of a padding slot: a chunk of `chunkSize` encoded zeros. */
export async function paddingChunkHash(chunkSize: number = CHUNK_SIZE): Promise<bigint> {
  return hashChunk(new Uint16Array(chunkSize).fill(VALUE_OFFSET));
}

/** Weights packed WEIGHTS_PER_FIELD per element (one element for K <= 15, two for K = 16). */
const WEIGHTS_PER_FIELD = Math.floor(253 / WEIGHT_BITS);

/**
 * The statement hash's inputs, as circuits/aggregate-chunk.circom `StatementHash` orders them:
 * trainer hashes (padded to K), the aggregate chunk hash, the packed weights, roundId · 2^32 + chunkIndex.
 */
export async function statementInputs(
  statement: ChunkStatement,
  shape: CircuitShape = DEFAULT_CIRCUIT_SHAPE,
): Promise<bigint[]> {
  checkCircuitShape(shape);
  if (statement.trainerChunkHashes.length > shape.trainers || statement.weights.length > shape.trainers)
    throw new ProofInputError(`a statement of this circuit covers at most ${shape.trainers} trainers`);
  const padding = await paddingChunkHash(shape.chunkSize);
  const hashes = [...statement.trainerChunkHashes];
  while (hashes.length < shape.trainers) hashes.push(padding);
  const weights = [...statement.weights];
  while (weights.length < shape.trainers) weights.push(0);
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

/**
 * Poseidon of the statement inputs. Past 16 inputs (K = 16: 16 hashes + aggregate + 2 weight elements +
 * roundChunk) the circuit hashes the K trainer hashes first and puts that digest in their place; so does this.
 */
export async function statementHash(
  statement: ChunkStatement,
  shape: CircuitShape = DEFAULT_CIRCUIT_SHAPE,
): Promise<bigint> {
  const poseidon = await getPoseidon();
  const hash = (values: readonly bigint[]) => poseidon.F.toObject(poseidon([...values])) as bigint;
  const inputs = await statementInputs(statement, shape);
  if (inputs.length <= POSEIDON_MAX_INPUTS) return hash(inputs);
  return hash([hash(inputs.slice(0, shape.trainers)), ...inputs.slice(shape.trainers)]);
}

/** The circuit's public signals: the statement hash alone. */
export async function publicSignals(
  statement: ChunkStatement,
  shape: CircuitShape = DEFAULT_CIRCUIT_SHAPE,
): Promise<bigint[]> {
  return [await statementHash(statement, shape)];
}

/**
 * Everything needed to prove chunk `chunkIndex` (chunks of `shape.chunkSize` values): circuit input and the
 * statement it proves. The node uses the default shape; `shape` selects a development variant's K and C.
 */
export async function buildChunkWitness(
  roundId: bigint,
  chunkIndex: number,
  encodedUpdates: readonly Uint16Array[],
  weights: readonly number[],
  shape: CircuitShape = DEFAULT_CIRCUIT_SHAPE,
): Promise<{ input: Record<string, unknown>; statement: ChunkStatement; aggregateChunk: Uint16Array }> {
  checkCircuitShape(shape);
  const { trainers, chunkSize } = shape;
  if (encodedUpdates.length === 0 || encodedUpdates.length > trainers) {
    throw new ProofInputError(`a proof covers 1..${trainers} trainers, got ${encodedUpdates.length}`);
  }
  if (weights.length !== encodedUpdates.length) throw new ProofInputError("one weight per trainer");
  if (weights.every((w) => w === 0)) throw new ProofInputError("at least one weight must be positive");
  const paddingChunk = new Uint16Array(chunkSize).fill(VALUE_OFFSET);
  // Weight-0 trainers are proven with the padding chunk: the chain does not open their commitments.
  const chunks = encodedUpdates.map((u, k) =>
    weights[k] === 0 ? paddingChunk : chunkValues(u, chunkIndex, chunkSize),
  );
  const padded = [...chunks];
  const paddedWeights = [...weights];
  while (padded.length < trainers) {
    padded.push(new Uint16Array(chunkSize).fill(VALUE_OFFSET));
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
    statement: String(await statementHash(statement, shape)),
    roundChunk: String(roundChunk(roundId, chunkIndex)),
    u: padded.map((c) => Array.from(c, String)),
    w: paddedWeights.map(String),
    agg: Array.from(aggregate, String),
    rem: Array.from(remainders, String),
  };
  return { input, statement, aggregateChunk: aggregate };
}
