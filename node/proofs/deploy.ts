/** The deployment choice for the real (Groth16) aggregation verifier. */
import type { VerifierChoice } from "../chain/deploy.ts";
import { loadProofArtifacts } from "./artifacts.ts";
import { paddingChunkHash } from "./witness.ts";

/** Checks the proving artifacts and returns the verifier choice for `deployProtocol`. */
export async function groth16VerifierChoice(): Promise<VerifierChoice> {
  await loadProofArtifacts();
  return { kind: "groth16", paddingChunkHash: await paddingChunkHash() };
}
