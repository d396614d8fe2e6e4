/**
 * The verifier's side of capacity attestation: probes the prover's round-trip time, sends a challenge sized to
 * ~1 s at its claimed speed, checks sampled blocks of the answer and signs a receipt of the measured speed.
 * Resolves with the outcome; nothing the prover sends makes it reject.
 */
import { randomBytes } from "node:crypto";

import type { Libp2p, PeerId, Stream } from "@libp2p/interface";

import { challengeSamples, createChallenge, verifyAttestation } from "../../scheduling/attestation.ts";
import type { AttestationChallenge } from "../../scheduling/attestation.ts";
import { signReceipt } from "../../scheduling/capacity-records.ts";
import { ATTESTATION_BLOCK_SAMPLES, ATTESTATION_BLOCKS } from "../../scheduling/constants.ts";
import { SchedulingError } from "../../scheduling/errors.ts";
import { MeshError } from "../errors.ts";
import { frameStream } from "../frames.ts";
import {
  ATTEST_CHECK_BLOCKS,
  ATTEST_MAX_FRAME_BYTES,
  ATTEST_MAX_RTT_SHARE,
  ATTEST_MAX_SAMPLES,
  ATTEST_OVERCLAIM_FACTOR,
  ATTEST_PROBES,
  ATTEST_PROTOCOL,
  ATTEST_TARGET_COMPUTE_MS,
  ATTEST_TIMEOUT_MS,
} from "./constants.ts";
import type { AttestationServiceInit } from "./service.ts";
import { answerReplySchema, fault, message, probeReplySchema } from "./wire.ts";
import type { AttestationOutcome } from "./wire.ts";

/** What the verifier borrows from the service: its libp2p node, settings and the set of open streams. */
export interface VerifierContext {
  readonly node: Libp2p | undefined;
  readonly init: AttestationServiceInit;
  readonly streams: Set<Stream>;
}

export async function runVerifier(
  ctx: VerifierContext,
  peer: PeerId,
  options: { signal?: AbortSignal; expectedSamplesPerSec?: number },
): Promise<AttestationOutcome> {
  const peerId = peer.toString();
  const node = ctx.node;
  if (node === undefined) return fault(peerId, "unreachable", "PEER_UNREACHABLE", "service not started");
  if (!ctx.init.isAllowed(peerId)) return fault(peerId, "refused", "NOT_ADMITTED", "peer is not admitted");
  const timeout = AbortSignal.timeout(ctx.init.timeoutMs ?? ATTEST_TIMEOUT_MS);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let stream: Stream;
  try {
    stream = await node.dialProtocol(peer, ATTEST_PROTOCOL, { signal });
  } catch (error) {
    return fault(peerId, signal.aborted ? "timeout" : "unreachable", "PEER_UNREACHABLE", message(error));
  }
  ctx.streams.add(stream);
  try {
    const frames = frameStream(stream, ATTEST_MAX_FRAME_BYTES);
    // The smallest of a few probe round trips: one slow echo (GC, a busy loop) must not inflate the credit.
    let rttMs = Number.POSITIVE_INFINITY;
    let echoedClaim: number | undefined;
    for (let i = 0; i < ATTEST_PROBES; i++) {
      const probe = randomBytes(16).toString("hex");
      const probeSentAt = performance.now();
      await frames.write({ v: 1, type: "probe", nonce: probe }, signal);
      const echo = await frames.read(probeReplySchema, signal);
      rttMs = Math.min(rttMs, performance.now() - probeSentAt);
      if (echo.type === "refused") return fault(peerId, "refused", echo.code, echo.reason);
      if (echo.nonce !== probe) return fault(peerId, "malformed", "FRAME_MALFORMED", "probe echo mismatch");
      echoedClaim = echo.claimedSamplesPerSec;
    }

    const challenge = sizeChallenge(
      ctx.init,
      options.expectedSamplesPerSec ?? ctx.init.claimOf?.(peerId) ?? echoedClaim,
    );
    const sentAt = performance.now();
    await frames.write({ v: 1, type: "challenge", challenge }, signal);
    const answer = await frames.read(answerReplySchema, signal);
    const observedMs = performance.now() - sentAt;
    if (answer.type === "refused") return fault(peerId, "refused", answer.code, answer.reason);
    const credit = Math.min(rttMs, observedMs * ATTEST_MAX_RTT_SHARE);
    const claimed = ctx.init.claimOf?.(peerId) ?? answer.claimedSamplesPerSec;
    let measured: number;
    try {
      // Checked against the whole observed time (no RTT credit): the prover's own timing may be anything up to
      // what we saw; the speed we sign uses the credited time.
      verifyAttestation(challenge, answer.response, {
        observedMs,
        checkBlocks: ctx.init.checkBlocks ?? ATTEST_CHECK_BLOCKS,
      });
      measured = (challengeSamples(challenge) * 1000) / Math.max(1e-3, observedMs - credit);
    } catch (error) {
      const failure =
        error instanceof SchedulingError
          ? error
          : new SchedulingError("ATTESTATION_MALFORMED", message(error));
      await frames
        .write({ v: 1, type: "verdict", ok: false, code: failure.code, reason: failure.message }, signal)
        .catch(() => undefined);
      await stream.close({ signal }).catch(() => undefined);
      const status =
        failure.code === "ATTESTATION_WRONG_RESULT"
          ? "wrong-result"
          : failure.code === "ATTESTATION_TOO_FAST"
            ? "too-fast"
            : "malformed";
      return fault(peerId, status, failure.code, failure.message);
    }
    const claimConsistent = claimed === undefined || claimed <= measured * ATTEST_OVERCLAIM_FACTOR;
    const receipt = await signReceipt(ctx.init.privateKey, {
      subject: peerId,
      seed: challenge.seed,
      resultHash: answer.response.resultHash,
      samplesPerSec: measured,
      atMs: Date.now(),
    });
    await frames.write({ v: 1, type: "verdict", ok: true, receipt, claimConsistent }, signal);
    await stream.close({ signal }).catch(() => undefined);
    return {
      status: claimConsistent ? "passed" : "overclaim",
      peerId,
      receipt,
      measuredSamplesPerSec: measured,
      claimedSamplesPerSec: claimed,
      rttMs,
    };
  } catch (error) {
    stream.abort(error instanceof Error ? error : new Error(String(error)));
    if (error instanceof MeshError) {
      const status =
        error.code === "STREAM_TIMEOUT"
          ? "timeout"
          : error.code === "FRAME_MALFORMED" || error.code === "FRAME_TOO_LARGE"
            ? "malformed"
            : "unreachable";
      return fault(peerId, status, error.code, error.message);
    }
    return fault(peerId, "unreachable", "PEER_UNREACHABLE", message(error));
  } finally {
    ctx.streams.delete(stream);
  }
}

/** Blocks so the work takes ~targetComputeMs at the expected speed, within the prover's cap. */
function sizeChallenge(init: AttestationServiceInit, speed: number | undefined): AttestationChallenge {
  const maxBlocks = Math.floor((init.maxSamples ?? ATTEST_MAX_SAMPLES) / ATTESTATION_BLOCK_SAMPLES);
  const wanted =
    speed === undefined
      ? ATTESTATION_BLOCKS
      : Math.ceil(
          (speed * (init.targetComputeMs ?? ATTEST_TARGET_COMPUTE_MS)) / (1000 * ATTESTATION_BLOCK_SAMPLES),
        );
  return createChallenge({ blocks: Math.max(ATTESTATION_BLOCKS, Math.min(maxBlocks, wanted)) });
}
