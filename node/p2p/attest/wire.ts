/**
 * The attestation protocol's frames (zod-bounded, read by frames.ts) and what a verifier learns from one
 * exchange. The frame sequence is described in service.ts.
 */
import type { PeerId } from "@libp2p/interface";
import { z } from "zod";

import { attestationChallengeSchema, attestationResponseSchema } from "../../scheduling/attestation.ts";
import { attestationReceiptSchema } from "../../scheduling/capacity-records.ts";
import type { AttestationReceipt } from "../../scheduling/capacity-records.ts";

const nonce = z.string().regex(/^[0-9a-f]{32}$/);
const refusedSchema = z
  .object({
    v: z.literal(1),
    type: z.literal("refused"),
    code: z.string().max(32),
    reason: z.string().max(256),
  })
  .strict();
export const probeSchema = z.object({ v: z.literal(1), type: z.literal("probe"), nonce }).strict();
/** The prover's echo carries its claim, so a verifier without its capacity record can still size the challenge. */
const probeEchoSchema = probeSchema
  .extend({ claimedSamplesPerSec: z.number().positive().finite().optional() })
  .strict();
const challengeFrameSchema = z
  .object({ v: z.literal(1), type: z.literal("challenge"), challenge: attestationChallengeSchema })
  .strict();
const answerSchema = z
  .object({
    v: z.literal(1),
    type: z.literal("answer"),
    response: attestationResponseSchema,
    claimedSamplesPerSec: z.number().positive().finite().optional(),
  })
  .strict();
export const verdictSchema = z.union([
  z
    .object({
      v: z.literal(1),
      type: z.literal("verdict"),
      ok: z.literal(true),
      receipt: attestationReceiptSchema,
      claimConsistent: z.boolean(),
    })
    .strict(),
  z
    .object({
      v: z.literal(1),
      type: z.literal("verdict"),
      ok: z.literal(false),
      code: z.string().max(32),
      reason: z.string().max(256),
    })
    .strict(),
]);
export const probeReplySchema = z.union([probeEchoSchema, refusedSchema]);
export const probeOrChallengeSchema = z.union([probeSchema, challengeFrameSchema]);
export const answerReplySchema = z.union([answerSchema, refusedSchema]);
/** Every frame this protocol reads, by the side that reads it (exported for the decoders' fuzz tests). */
export const ATTEST_FRAME_SCHEMAS = {
  probeReply: probeReplySchema,
  probeOrChallenge: probeOrChallengeSchema,
  answerReply: answerReplySchema,
  verdict: verdictSchema,
} as const;

/** What a verifier learned from one attestation. */
export type AttestationOutcome =
  | {
      readonly status: "passed" | "overclaim";
      readonly peerId: string;
      readonly receipt: AttestationReceipt;
      readonly measuredSamplesPerSec: number;
      readonly claimedSamplesPerSec: number | undefined;
      readonly rttMs: number;
    }
  | {
      /** wrong-result: a checked block or the result hash is wrong; too-fast: it lied about its own timing. */
      readonly status: "wrong-result" | "too-fast" | "malformed" | "refused" | "unreachable" | "timeout";
      readonly peerId: string;
      readonly code: string;
      readonly reason: string;
    };

/**
 * One way to attest a peer's capability. The software training micro-benchmark of this module is the
 * implementation available here; a hardware verifier (a TPM 2.0 quote or a TEE report over a fresh nonce, with
 * the attestation key bound to the node's peer ID, docs/protocol.md §9) implements the same method and is
 * listed next to it in the runtime's `attestors`.
 */
export interface CapabilityAttestor {
  /** Stable name of the method, e.g. "software-benchmark" or "tpm2-quote". */
  readonly kind: string;
  /** Attests `peer`; resolves with the outcome (never rejects for anything the peer does). */
  attest(peer: PeerId, options?: { readonly signal?: AbortSignal }): Promise<AttestationOutcome>;
}

/** Statuses that are the prover's fault (reputation), as opposed to load or network trouble. */
export function isMisbehaviour(outcome: AttestationOutcome): boolean {
  return (
    outcome.status === "overclaim" ||
    outcome.status === "wrong-result" ||
    outcome.status === "too-fast" ||
    outcome.status === "malformed"
  );
}
export function fault(
  peerId: string,
  status: "wrong-result" | "too-fast" | "malformed" | "refused" | "unreachable" | "timeout",
  code: string,
  reason: string,
): AttestationOutcome {
  return { status, peerId, code, reason: reason.slice(0, 256) };
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
