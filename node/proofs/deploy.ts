/**
 * The deployment choice for the real (Groth16) aggregation verifier. proofs/ defines it and chain/deploy.ts
 * accepts it, so the dependency points one way (chain → proofs).
 */
import { loadProofArtifacts } from "./artifacts.ts";
import { paddingChunkHash } from "./witness.ts";

/** The generated Groth16 verifier behind the `AggregationVerifier` adapter, with the circuit's padding hash. */
export interface Groth16VerifierChoice {
  readonly kind: "groth16";
  readonly paddingChunkHash: bigint;
}

/** Checks the proving artifacts and returns the verifier choice for `deployProtocol`. */
export async function groth16VerifierChoice(): Promise<Groth16VerifierChoice> {
  await loadProofArtifacts();
  return { kind: "groth16", paddingChunkHash: await paddingChunkHash() };
}
