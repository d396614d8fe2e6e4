/**
 * Chained aggregation proofs (circuits/aggregate-link.circom, docs/scaling.md "Chained proofs"): a chunk of a
 * round with any number of trainers N is proven in ceil(N / K) links of K trainers, in commit order. Link i
 * carries the running weighted sums Σ w·u of trainers [0, iK) in (by their Poseidon hash) and out, and the
 * running total weight; the last link's aggregate is exactly the flat floor-weighted average of all N. This
 * file builds every link's circuit input and statement from the aggregator's encoded updates and weights.
 */
import { VALUE_BITS, VALUE_OFFSET, WEIGHT_BITS } from "./constants.ts";
import { chunkValues, getPoseidon, hashChunk } from "./commitment.ts";
import { ProofInputError, checkCircuitShape, packWeights, roundChunk } from "./witness.ts";
import type { CircuitShape } from "./witness.ts";

/** The shape of an `AggregateLink(K, C, 16, 16, countBits)` instance. */
export interface LinkShape extends CircuitShape {
  /** The whole chain has fewer than 2^countBits trainers (bounds the running sums and total weight). */
  readonly countBits: number;
}

/** Bits of a running sum: Σ w·u over < 2^countBits trainers of 16-bit values and 16-bit weights. */
export function sumBits(shape: LinkShape): number {
  return VALUE_BITS + WEIGHT_BITS + shape.countBits;
}

/** What one link proves, as its statement hash binds it. */
export interface LinkStatement {
  readonly link: number;
  /** Poseidon chunk hashes of the link's K trainers (weight-0 and unused slots: the padding hash). */
  readonly trainerChunkHashes: readonly bigint[];
  readonly sumInHash: bigint;
  readonly sumOutHash: bigint;
  /** Hash of floor(sumOut / wOut): for the last link, the round's aggregate chunk hash. */
  readonly aggregateChunkHash: bigint;
  readonly weights: readonly number[];
  readonly wIn: bigint;
  readonly wOut: bigint;
  readonly statement: bigint;
}

export interface ChainLink {
  readonly input: Record<string, unknown>;
  readonly statement: LinkStatement;
}

/** Running sums packed as the circuit packs them: 253 \ SBITS per field element, little-endian slots. */
export function packSums(sums: readonly bigint[], shape: LinkShape): bigint[] {
  const bits = BigInt(sumBits(shape));
  const per = Math.floor(253 / sumBits(shape));
  const packed: bigint[] = [];
  for (let start = 0; start < sums.length; start += per) {
    let acc = 0n;
    for (let i = Math.min(sums.length, start + per) - 1; i >= start; i--) acc = (acc << bits) | sums[i]!;
    packed.push(acc);
  }
  return packed;
}

/**
 * A link's one public input: Poseidon(Poseidon(trainer hashes), sumInHash, sumOutHash, aggregateChunkHash,
 * packed weights, wIn, wOut, roundId · 2^32 + chunk, link), as circuits/aggregate-link.circom computes it.
 */
export async function linkStatementHash(
  parts: Omit<LinkStatement, "statement"> & { readonly roundChunk: bigint },
): Promise<bigint> {
  const poseidon = await getPoseidon();
  const hash = (values: readonly bigint[]) => poseidon.F.toObject(poseidon([...values])) as bigint;
  const weightsPer = Math.floor(253 / WEIGHT_BITS);
  const packedWeights: bigint[] = [];
  for (let i = 0; i < parts.weights.length; i += weightsPer)
    packedWeights.push(packWeights(parts.weights.slice(i, i + weightsPer)));
  return hash([
    hash(parts.trainerChunkHashes),
    parts.sumInHash,
    parts.sumOutHash,
    parts.aggregateChunkHash,
    ...packedWeights,
    parts.wIn,
    parts.wOut,
    parts.roundChunk,
    BigInt(parts.link),
  ]);
}

/** Poseidon of packed running sums (a link's sumIn / sumOut hash). */
export async function sumsHash(sums: readonly bigint[], shape: LinkShape): Promise<bigint> {
  const poseidon = await getPoseidon();
  return poseidon.F.toObject(poseidon(packSums(sums, shape))) as bigint;
}

/**
 * Every link of chunk `chunkIndex`: inputs for the wasm witness and the statements, in chain order. The
 * statements chain (link i's sumInHash and wIn are link i-1's sumOutHash and wOut; link 0 starts from zeros).
 */
export async function buildChainWitnesses(
  roundId: bigint,
  chunkIndex: number,
  encodedUpdates: readonly Uint16Array[],
  weights: readonly number[],
  shape: LinkShape,
): Promise<ChainLink[]> {
  checkCircuitShape(shape);
  const { trainers: K, chunkSize: C } = shape;
  const n = encodedUpdates.length;
  if (n === 0 || n >= 2 ** shape.countBits)
    throw new ProofInputError(`a chain covers 1..${2 ** shape.countBits - 1} trainers, got ${n}`);
  if (weights.length !== n) throw new ProofInputError("one weight per trainer");
  if (weights.some((w) => !Number.isInteger(w) || w < 0 || w >= 2 ** WEIGHT_BITS))
    throw new ProofInputError(`weights are integers in 0..${2 ** WEIGHT_BITS - 1}`);
  if (weights.every((w) => w === 0)) throw new ProofInputError("at least one weight must be positive");
  const padding = new Uint16Array(C).fill(VALUE_OFFSET);
  const paddingHash = await hashChunk(padding);
  let sums: bigint[] = new Array<bigint>(C).fill(0n);
  let wIn = 0n;
  const links: ChainLink[] = [];
  for (let link = 0; link * K < n; link++) {
    const chunks: Uint16Array[] = [];
    const w: number[] = [];
    const hashes: bigint[] = [];
    for (let k = 0; k < K; k++) {
      const t = link * K + k;
      const weight = t < n ? weights[t]! : 0;
      // Weight-0 and unused slots prove the padding chunk: their values do not enter the sums.
      const chunk = weight === 0 ? padding : chunkValues(encodedUpdates[t]!, chunkIndex, C);
      chunks.push(chunk);
      w.push(weight);
      hashes.push(weight === 0 ? paddingHash : await hashChunk(chunk));
    }
    const sumsIn = sums;
    sums = sumsIn.map((s, j) => chunks.reduce((acc, c, k) => acc + BigInt(w[k]!) * BigInt(c[j]!), s));
    const wOut = wIn + BigInt(w.reduce((a, b) => a + b, 0));
    const divisor = wOut === 0n ? 1n : wOut;
    const aggregate = sums.map((s) => s / divisor);
    const remainders = sums.map((s, j) => s - aggregate[j]! * divisor);
    const packedIn = packSums(sumsIn, shape);
    const sumInHash = await sumsHash(sumsIn, shape);
    const sumOutHash = await sumsHash(sums, shape);
    const aggregateChunkHash = await hashChunk(Uint16Array.from(aggregate, Number));
    const rc = roundChunk(roundId, chunkIndex);
    // What the link's statement commits to, shared by the hash and the statement kept beside the input.
    const committed = {
      trainerChunkHashes: hashes,
      sumInHash,
      sumOutHash,
      aggregateChunkHash,
      weights: w,
      wIn,
      wOut,
    };
    const statement = await linkStatementHash({ ...committed, roundChunk: rc, link });
    links.push({
      input: {
        statement: String(statement),
        roundChunk: String(rc),
        link: String(link),
        u: chunks.map((c) => Array.from(c, String)),
        w: w.map(String),
        wIn: String(wIn),
        sumInPacked: packedIn.map(String),
        sumOut: sums.map(String),
        agg: aggregate.map(String),
        rem: remainders.map(String),
      },
      statement: { link, ...committed, statement },
    });
    wIn = wOut;
  }
  return links;
}
