/**
 * Proves one aggregate chunk on the prover thread (progress events, AbortSignal cancellation), verifies
 * proofs off chain, and encodes a proof with its Merkle openings as the `bytes` that
 * `AggregationVerifier.verifyChunk` decodes.
 */
import type { Groth16Proof } from "snarkjs";
import { concatHex } from "viem";
import type { Hex } from "viem";

import { ARTIFACTS_DIR, loadProofArtifacts } from "./artifacts.ts";
import { fieldToBytes32, merklePath } from "./commitment.ts";
import type { UpdateCommitment } from "./commitment.ts";
import { MAX_WEIGHT, PROOF_TRAINERS, WEIGHT_BITS } from "./constants.ts";
import { buildChunkWitness, publicSignals } from "./witness.ts";
import { ProvingCancelledError, ProvingError, proverThread } from "./prover-thread.ts";
import type { ChunkStatement } from "./witness.ts";

export { ProvingCancelledError, ProvingError } from "./prover-thread.ts";

export type ProofProgress = { stage: "witness" | "proving" | "done"; elapsedMs: number };

export interface ChunkProof {
  readonly proof: Groth16Proof;
  readonly publicSignals: readonly string[];
  readonly statement: ChunkStatement;
  readonly aggregateChunk: Uint16Array;
  readonly proveMs: number;
}

/**
 * Proves that chunk `chunkIndex` of the floor-weighted average of `encodedUpdates` (weights = accepted
 * sample counts) is what it is. Runs snarkjs on the prover thread (prover-thread.ts); aborting terminates it.
 */
export async function proveChunk(
  roundId: bigint,
  chunkIndex: number,
  encodedUpdates: readonly Uint16Array[],
  weights: readonly number[],
  options: { signal?: AbortSignal; onProgress?: (p: ProofProgress) => void } = {},
): Promise<ChunkProof> {
  const started = performance.now();
  const cancelled = () => new ProvingCancelledError("proving cancelled");
  if (options.signal?.aborted) throw cancelled();
  await loadProofArtifacts(); // integrity check of wasm + zkey before using them
  options.onProgress?.({ stage: "witness", elapsedMs: 0 });
  const { input, statement, aggregateChunk } = await buildChunkWitness(
    roundId,
    chunkIndex,
    encodedUpdates,
    weights,
  );
  if (options.signal?.aborted) throw cancelled(); // aborted while the witness was built: no thread touched
  const result = await proverThread.prove(
    {
      kind: "prove",
      input,
      wasmPath: `${ARTIFACTS_DIR}aggregate.wasm`,
      zkeyPath: `${ARTIFACTS_DIR}aggregate.zkey`,
    },
    {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onProgress: () => options.onProgress?.({ stage: "proving", elapsedMs: performance.now() - started }),
    },
  );
  const proveMs = performance.now() - started;
  options.onProgress?.({ stage: "done", elapsedMs: proveMs });
  return { ...result, statement, aggregateChunk, proveMs };
}

/** Off-chain verification (what validators run before deciding to challenge), on the prover thread. */
export async function verifyChunkProof(proof: Groth16Proof, statement: ChunkStatement): Promise<boolean> {
  const { verificationKey } = await loadProofArtifacts();
  const signals = (await publicSignals(statement)).map(String);
  return proverThread.verify({ kind: "verify", verificationKey, publicSignals: signals, proof });
}

/** Groth16 proof points as the Solidity verifier expects them (pB coordinates swapped). */
export function proofPoints(proof: Groth16Proof): {
  a: [bigint, bigint];
  b: [[bigint, bigint], [bigint, bigint]];
  c: [bigint, bigint];
} {
  const n = (s: string | undefined) => BigInt(s ?? "0");
  return {
    a: [n(proof.pi_a[0]), n(proof.pi_a[1])],
    b: [
      [n(proof.pi_b[0]?.[1]), n(proof.pi_b[0]?.[0])],
      [n(proof.pi_b[1]?.[1]), n(proof.pi_b[1]?.[0])],
    ],
    c: [n(proof.pi_c[0]), n(proof.pi_c[1])],
  };
}

/**
 * The `proof` bytes for `TrainingRounds.answerChallenge` → `AggregationVerifier.verifyChunk`, as packed
 * 32-byte words (no ABI offsets or lengths: calldata is most of the answer's gas): the Groth16 points, the
 * statement hash H (the proof's one public signal), the aggregate chunk hash, the claimed chunk hashes of the
 * trainers with weight > 0, then the aggregate's Merkle path. The trainers' hashes are not opened on chain:
 * each trainer (or anyone holding its update) disputes a wrong one with `encodeTrainerOpening` (docs §5).
 */
export function encodeChunkProofCalldata(chunk: ChunkProof, aggregateCommitment: UpdateCommitment): Hex {
  const { a, b, c } = proofPoints(chunk.proof);
  const { chunkIndex, weights, trainerChunkHashes } = chunk.statement;
  const words: Hex[] = [
    ...[...a, ...b.flat(), ...c].map(fieldToBytes32),
    fieldToBytes32(statementHashOf(chunk)),
    fieldToBytes32(chunk.statement.aggregateChunkHash),
    ...weights.flatMap((w, k) => (w > 0 ? [fieldToBytes32(trainerChunkHashes[k] ?? 0n)] : [])),
    ...merklePath(aggregateCommitment.levels, chunkIndex),
  ];
  return concatHex(words);
}

/** An accepted answer's statement (`ChallengeAnswered.statement`), decoded. */
export interface AnswerStatement {
  /** The proof's public input H. */
  readonly statementHash: bigint;
  /** The chunk hash claimed for each of the PROOF_TRAINERS slots (the padding hash for weight-0 slots). */
  readonly trainerChunkHashes: readonly bigint[];
  readonly aggregateChunkHash: bigint;
  /** Each slot's weight (0: the slot claims nothing). */
  readonly weights: readonly number[];
  readonly roundId: bigint;
  readonly chunkIndex: number;
}

/** Decodes `AggregationVerifier`'s statement bytes: H, then the 11 statement inputs (docs §5). */
export function decodeAnswerStatement(statement: Hex): AnswerStatement {
  const words = (statement.length - 2) / 64;
  if (words !== PROOF_TRAINERS + 4)
    throw new RangeError(`a statement has ${PROOF_TRAINERS + 4} words, got ${words}`);
  const word = (i: number): bigint => BigInt(`0x${statement.slice(2 + 64 * i, 2 + 64 * (i + 1))}`);
  const packed = word(PROOF_TRAINERS + 2);
  const roundChunk = word(PROOF_TRAINERS + 3);
  return {
    statementHash: word(0),
    trainerChunkHashes: Array.from({ length: PROOF_TRAINERS }, (_, k) => word(1 + k)),
    aggregateChunkHash: word(PROOF_TRAINERS + 1),
    weights: Array.from({ length: PROOF_TRAINERS }, (_, k) =>
      Number((packed >> BigInt(WEIGHT_BITS * k)) & BigInt(MAX_WEIGHT)),
    ),
    roundId: roundChunk >> 32n,
    chunkIndex: Number(roundChunk & 0xffffffffn),
  };
}

/**
 * Dispute evidence that trainer `trainerIndex` (its position in the round) committed `commitment`'s chunk
 * hash at `chunkIndex`: the index, the hash and its Merkle path, for `TrainingRounds.disputeStatement`
 * against a statement that claims another hash for this trainer.
 */
export function encodeTrainerOpening(
  trainerIndex: number,
  commitment: UpdateCommitment,
  chunkIndex: number,
): Hex {
  const hash = commitment.chunkHashes[chunkIndex];
  if (hash === undefined)
    throw new RangeError(
      `chunk ${chunkIndex} is outside the update's ${commitment.chunkHashes.length} chunks`,
    );
  return concatHex([
    fieldToBytes32(BigInt(trainerIndex)),
    fieldToBytes32(hash),
    ...merklePath(commitment.levels, chunkIndex),
  ]);
}

/** The proof's one public signal, the statement hash H. Throws `ProvingError` if snarkjs returned none. */
function statementHashOf(chunk: ChunkProof): bigint {
  const signal = chunk.publicSignals[0];
  if (chunk.publicSignals.length !== 1 || signal === undefined) {
    throw new ProvingError(`expected one public signal, got ${chunk.publicSignals.length}`);
  }
  return BigInt(signal);
}
