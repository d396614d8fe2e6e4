/**
 * The deployment choice for the real (Groth16) aggregation verifier. proofs/ defines it and chain/deploy.ts
 * accepts it, so the dependency points one way (chain → proofs).
 */
import { loadProofArtifacts } from "./artifacts.ts";
import { zeroSumsHash } from "./link-proof.ts";
import { paddingChunkHash } from "./witness.ts";

/** The generated Groth16 verifier behind the `AggregationVerifier` adapter, with the circuit's padding hash. */
export interface Groth16VerifierChoice {
  readonly kind: "groth16";
  readonly paddingChunkHash: bigint;
  /**
   * Set: the deployment also chains proofs (LinkAggregationVerifier, with the link circuit's zero running
   * sums hash), so proven rounds take more than 8 trainers. Unset: proven rounds stay at the flat fan-in.
   */
  readonly zeroSumsHash?: bigint;
}

/**
 * Checks the proving artifacts and returns the verifier choice for `deployProtocol`; `chained` adds the
 * link verifier (its nodes must prove links: rounds above 8 trainers post a link root).
 */
export async function groth16VerifierChoice(
  options: { chained?: boolean } = {},
): Promise<Groth16VerifierChoice> {
  await loadProofArtifacts();
  const choice = { kind: "groth16" as const, paddingChunkHash: await paddingChunkHash() };
  return options.chained === true ? { ...choice, zeroSumsHash: await zeroSumsHash() } : choice;
}
