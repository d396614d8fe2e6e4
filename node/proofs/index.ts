/** zk proofs of aggregation correctness: encoding, commitments, witness, prover, verifier, calldata. */
export * from "./constants.ts";
export { FixedPointError, aggregateFixedPoint, decodeFixedPoint, encodeFixedPoint } from "./fixed-point.ts";
export {
  chunkCount,
  chunkValues,
  commitEncoded,
  fieldToBytes32,
  getPoseidon,
  hashChunk,
  merkleLevels,
  merklePath,
  merkleRootFromPath,
  packChunk,
} from "./commitment.ts";
export type { UpdateCommitment } from "./commitment.ts";
export type { CommitPriority } from "./commit-pool.ts";
export {
  DEFAULT_CIRCUIT_SHAPE,
  ProofInputError,
  buildChunkWitness,
  checkCircuitShape,
  packWeights,
  paddingChunkHash,
  publicSignals,
  roundChunk,
  statementHash,
  statementInputs,
} from "./witness.ts";
export type { ChunkStatement, CircuitShape } from "./witness.ts";
export { ArtifactIntegrityError, loadProofArtifacts } from "./artifacts.ts";
export { PROOF_SLOTS, ProofQueue, proofQueue } from "./proof-queue.ts";
export type { ProofSlotOptions } from "./proof-queue.ts";
export {
  ProvingCancelledError,
  ProvingError,
  encodeChunkProofCalldata,
  decodeAnswerStatement,
  encodeTrainerOpening,
  proofPoints,
  proveChunk,
  verifyChunkProof,
} from "./prover.ts";
export type { AnswerStatement, ChunkProof, ProofProgress } from "./prover.ts";
export {
  LINK_SHAPE,
  buildLinkTree,
  buildRoundChains,
  encodeLinkProofCalldata,
  encodeLinkStatement,
  linkCount,
  proveLink,
  zeroSumsHash,
} from "./link-proof.ts";
export type { LinkProof, LinkTree } from "./link-proof.ts";
export type { ChainLink, LinkStatement } from "./chain-witness.ts";
