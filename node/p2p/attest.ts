/**
 * Capacity attestation over the mesh (`/vain/1/attest/1.0.0`). A verifier times a fresh training
 * micro-benchmark (node/scheduling/attestation.ts) on an admitted peer with its own clock and, when the answer is
 * right, signs a receipt the prover puts into its capacity record (node/scheduling/capacity.ts). Scheduling then
 * trusts the median of receipts, not the node's claim.
 *
 * Frames (length-prefixed JSON, frames.ts), one exchange per stream:
 *   verifier → prover  `{ v: 1, type: "probe", nonce }`             (round-trip time, before the seed is known)
 *   prover → verifier  `{ v: 1, type: "probe", nonce }` | `{ v: 1, type: "refused", code, reason }`
 *   verifier → prover  `{ v: 1, type: "challenge", challenge }`
 *   prover → verifier  `{ v: 1, type: "answer", response, claimedSamplesPerSec? }` | refused
 *   verifier → prover  `{ v: 1, type: "verdict", ok: true, receipt, claimConsistent } | { ok: false, code, reason }`
 *
 * The prover runs the workload in a worker thread (AttestationRunner), one challenge at a time, with a
 * per-peer and a global token bucket checked before any CPU is spent, a cap on the work a challenge may ask
 * for, and a deadline on the whole exchange. Every defect of a peer's bytes is a typed error or refusal, never
 * an exception out of the handler.
 */
import { randomBytes } from "node:crypto";

import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { TypedEventEmitter } from "@libp2p/interface";
import { z } from "zod";

import {
  attestationChallengeSchema,
  attestationResponseSchema,
  challengeSamples,
  createChallenge,
  verifyAttestation,
} from "../scheduling/attestation.ts";
import type { AttestationChallenge, AttestationResponse } from "../scheduling/attestation.ts";
import { AttestationRunner } from "../scheduling/attestation-runner.ts";
import { attestationReceiptSchema, signReceipt, verifyReceipt } from "../scheduling/capacity-records.ts";
import type { AttestationReceipt } from "../scheduling/capacity-records.ts";
import { ATTESTATION_BLOCK_SAMPLES, ATTESTATION_BLOCKS } from "../scheduling/constants.ts";
import { SchedulingError } from "../scheduling/errors.ts";
import { PROTOCOL_PREFIX } from "./constants.ts";
import { MeshError } from "./errors.ts";
import { frameStream } from "./frames.ts";
import { KeyedRateLimiter, TokenBucket } from "./rate-limit.ts";
import type { FrameStream } from "./frames.ts";

export const ATTEST_PROTOCOL = `${PROTOCOL_PREFIX}/attest/1.0.0`;

/** A whole exchange must finish within this; the workload itself is sized to ~1 s (ATTEST_TARGET_COMPUTE_MS). */
export const ATTEST_TIMEOUT_MS = 30_000;
/**
 * The verifier sizes a challenge to take about this long at the speed it expects: long enough that a WAN
 * round-trip (tens to hundreds of ms) and timer noise are small against it, short enough to stay cheap.
 */
export const ATTEST_TARGET_COMPUTE_MS = 1_000;
/**
 * Most reference samples a prover runs for one challenge: 1,024 blocks of 64 (about 1-2 s on this machine's
 * class of CPU, ~60k samples/s warm). A verifier cannot make us burn more than this per accepted challenge.
 */
export const ATTEST_MAX_SAMPLES = 65_536;
/** Challenges a prover accepts from one peer: a burst of 2, then one per minute (attesting is periodic and rare). */
export const ATTEST_PER_PEER_BURST = 2;
export const ATTEST_PER_PEER_INTERVAL_MS = 60_000;
/** Challenges a prover accepts from everyone together: a burst of 4, then one per 10 s (≤ ~10% of one core). */
export const ATTEST_GLOBAL_BURST = 4;
export const ATTEST_GLOBAL_INTERVAL_MS = 10_000;
/** Blocks a verifier recomputes (chosen after the answer): each wrong block is caught with probability k/blocks. */
export const ATTEST_CHECK_BLOCKS = 4;
/**
 * At most this share of the observed time is credited as round-trip time. The RTT is probed before the seed is
 * known, but a prover may delay its probe echo to inflate it; the cap bounds what that buys (≤ 1.33× speed).
 */
export const ATTEST_MAX_RTT_SHARE = 0.25;
/**
 * A claim above this multiple of the measured speed is an over-claim (reputation drops). Measurements of an honest
 * node vary by ±20% on an idle machine and by 2-3x when its cores are shared with other work (CI runs two test
 * files with their own nodes side by side); the claim is capped by the receipts' median anyway, so only a gross
 * exaggeration, which is an attempt to attract work, is punished.
 */
export const ATTEST_OVERCLAIM_FACTOR = 4;
/**
 * Frame cap of this protocol: an answer carries one 64-hex hash per block, ≈ 69 kB at the schema's 1,024 blocks,
 * over the 64 KiB of other control frames.
 */
export const ATTEST_MAX_FRAME_BYTES = 128 * 1024;
/** From the first probe to the challenge: probes are round trips, so a slow verifier is stalling on purpose. */
export const ATTEST_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Probe round trips before the challenge; the minimum is the RTT estimate. */
export const ATTEST_PROBES = 3;
/** Receipts a prover keeps (one per verifier, newest first): the capacity record carries at most 8. */
const KEPT_RECEIPTS = 8;

const nonce = z.string().regex(/^[0-9a-f]{32}$/);
const refusedSchema = z
  .object({
    v: z.literal(1),
    type: z.literal("refused"),
    code: z.string().max(32),
    reason: z.string().max(256),
  })
  .strict();
const probeSchema = z.object({ v: z.literal(1), type: z.literal("probe"), nonce }).strict();
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
const verdictSchema = z.union([
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
const probeReplySchema = z.union([probeEchoSchema, refusedSchema]);
const probeOrChallengeSchema = z.union([probeSchema, challengeFrameSchema]);
const answerReplySchema = z.union([answerSchema, refusedSchema]);
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

export interface AttestationServiceEvents {
  /** As verifier: one attestation finished (any status). */
  attested: CustomEvent<AttestationOutcome>;
  /** As prover: a verifier signed a receipt about us (already verified). */
  receipt: CustomEvent<AttestationReceipt>;
  /** As prover: a challenge was refused or failed (rate limit, oversized, garbage). */
  "challenge-refused": CustomEvent<{ peerId: string; code: string; reason: string }>;
}

export interface AttestationServiceInit {
  /** Who may challenge us and whom we challenge (admitted peers). */
  readonly isAllowed: (peerId: PeerId | string) => boolean;
  /** Our node key: signs receipts as verifier; receipts about us must name its peer ID. */
  readonly privateKey: PrivateKey;
  /** Our current claimed speed (capacity record), sent with answers. */
  readonly claimedSamplesPerSec?: () => number | undefined;
  /**
   * Whether this node is too busy to be measured fairly now (training, or its event loop lagging): challenges are
   * refused with `BUSY` (no work, no receipt, no reputation change) instead of yielding a slow measurement.
   */
  readonly isBusy?: () => boolean;
  /** A peer's claimed speed from its capacity record (CapacityBook); else the claim in its answer counts. */
  readonly claimOf?: (peerId: string) => number | undefined;
  readonly timeoutMs?: number;
  /** Deadline from a stream's opening to its challenge (default ATTEST_HANDSHAKE_TIMEOUT_MS). */
  readonly handshakeTimeoutMs?: number;
  readonly targetComputeMs?: number;
  readonly maxSamples?: number;
  readonly perPeer?: { readonly burst: number; readonly intervalMs: number };
  readonly global?: { readonly burst: number; readonly intervalMs: number };
  readonly checkBlocks?: number;
}

/** Counters for metrics and the status API. */
export interface AttestationCounters {
  challengesServed: number;
  challengesRefused: number;
  attestationsRun: number;
  receiptsReceived: number;
}

export class AttestationService
  extends TypedEventEmitter<AttestationServiceEvents>
  implements CapabilityAttestor
{
  readonly kind = "software-benchmark";
  private node: Libp2p | undefined;
  private readonly init: AttestationServiceInit;
  private readonly runner = new AttestationRunner();
  private readonly selfId: string;
  private readonly perPeer: KeyedRateLimiter;
  private readonly global: TokenBucket;
  /** When each recent challenger was last served (ms); kept for one per-peer interval. */
  private readonly lastServed = new Map<string, number>();
  private busy = false;
  private readonly kept = new Map<string, AttestationReceipt>();
  private readonly streams = new Set<Stream>();
  readonly counters: AttestationCounters = {
    challengesServed: 0,
    challengesRefused: 0,
    attestationsRun: 0,
    receiptsReceived: 0,
  };

  constructor(init: AttestationServiceInit) {
    super();
    this.init = init;
    this.selfId = peerIdFromPrivateKey(init.privateKey).toString();
    const g = init.global ?? { burst: ATTEST_GLOBAL_BURST, intervalMs: ATTEST_GLOBAL_INTERVAL_MS };
    this.global = new TokenBucket(g, Date.now());
    this.perPeer = new KeyedRateLimiter(
      init.perPeer ?? { burst: ATTEST_PER_PEER_BURST, intervalMs: ATTEST_PER_PEER_INTERVAL_MS },
    );
  }

  async start(node: Libp2p): Promise<void> {
    this.node = node;
    // Inbound: one challenge runs at a time anyway; a few more streams may wait to be refused quickly.
    await node.handle(ATTEST_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: 4,
      maxOutboundStreams: 8,
    });
  }

  async stop(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    for (const stream of this.streams) stream.abort(new Error("attestation service stopped"));
    this.streams.clear();
    await this.runner.close();
    if (node !== undefined) await node.unhandle(ATTEST_PROTOCOL).catch(() => undefined);
  }

  /** Receipts other nodes signed about us, newest first (at most 8, one per verifier). */
  receipts(): AttestationReceipt[] {
    return [...this.kept.values()].sort((a, b) => b.atMs - a.atMs);
  }

  /** Runs the workload locally (in the worker) and returns our own speed in reference samples per second. */
  async measureLocal(
    options: { blocks?: number; runs?: number; signal?: AbortSignal } = {},
  ): Promise<number> {
    // The median of a few runs: one run may catch a GC pause or a busy core; the best would flatter us.
    const speeds: number[] = [];
    for (let i = 0; i < (options.runs ?? 3); i++) {
      const challenge = createChallenge({ blocks: options.blocks ?? 8 * ATTESTATION_BLOCKS });
      const response = await this.runner.run(challenge, options.signal);
      speeds.push((challengeSamples(challenge) * 1000) / Math.max(1e-3, response.elapsedMs));
    }
    speeds.sort((a, b) => a - b);
    return speeds[Math.floor(speeds.length / 2)]!;
  }

  /**
   * Verifier: attests `peer`. Resolves with the outcome (never rejects for anything the peer does); emits
   * `attested`. `expectedSamplesPerSec` sizes the challenge (default: the claim in the peer's capacity record, else
   * the one in its probe echo, else 16 blocks).
   */
  async attest(
    peer: PeerId,
    options: { signal?: AbortSignal; expectedSamplesPerSec?: number } = {},
  ): Promise<AttestationOutcome> {
    const outcome = await this.runVerifier(peer, options);
    this.counters.attestationsRun += 1;
    this.safeDispatch("attested", outcome);
    return outcome;
  }

  private async runVerifier(
    peer: PeerId,
    options: { signal?: AbortSignal; expectedSamplesPerSec?: number },
  ): Promise<AttestationOutcome> {
    const peerId = peer.toString();
    const node = this.node;
    if (node === undefined) return fault(peerId, "unreachable", "PEER_UNREACHABLE", "service not started");
    if (!this.init.isAllowed(peerId)) return fault(peerId, "refused", "NOT_ADMITTED", "peer is not admitted");
    const timeout = AbortSignal.timeout(this.init.timeoutMs ?? ATTEST_TIMEOUT_MS);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    let stream: Stream;
    try {
      stream = await node.dialProtocol(peer, ATTEST_PROTOCOL, { signal });
    } catch (error) {
      return fault(peerId, signal.aborted ? "timeout" : "unreachable", "PEER_UNREACHABLE", message(error));
    }
    this.streams.add(stream);
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

      const challenge = this.sizeChallenge(
        options.expectedSamplesPerSec ?? this.init.claimOf?.(peerId) ?? echoedClaim,
      );
      const sentAt = performance.now();
      await frames.write({ v: 1, type: "challenge", challenge }, signal);
      const answer = await frames.read(answerReplySchema, signal);
      const observedMs = performance.now() - sentAt;
      if (answer.type === "refused") return fault(peerId, "refused", answer.code, answer.reason);
      const credit = Math.min(rttMs, observedMs * ATTEST_MAX_RTT_SHARE);
      const claimed = this.init.claimOf?.(peerId) ?? answer.claimedSamplesPerSec;
      let measured: number;
      try {
        // Checked against the whole observed time (no RTT credit): the prover's own timing may be anything up to
        // what we saw; the speed we sign uses the credited time.
        verifyAttestation(challenge, answer.response, {
          observedMs,
          checkBlocks: this.init.checkBlocks ?? ATTEST_CHECK_BLOCKS,
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
      const receipt = await signReceipt(this.init.privateKey, {
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
      this.streams.delete(stream);
    }
  }

  /** Blocks so the work takes ~targetComputeMs at the expected speed, within the prover's cap. */
  private sizeChallenge(speed: number | undefined): AttestationChallenge {
    const maxBlocks = Math.floor((this.init.maxSamples ?? ATTEST_MAX_SAMPLES) / ATTESTATION_BLOCK_SAMPLES);
    const wanted =
      speed === undefined
        ? ATTESTATION_BLOCKS
        : Math.ceil(
            (speed * (this.init.targetComputeMs ?? ATTEST_TARGET_COMPUTE_MS)) /
              (1000 * ATTESTATION_BLOCK_SAMPLES),
          );
    return createChallenge({ blocks: Math.max(ATTESTATION_BLOCKS, Math.min(maxBlocks, wanted)) });
  }

  /** Prover side. */
  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString();
    if (!this.init.isAllowed(peerId)) {
      stream.abort(new MeshError("NOT_ADMITTED", "peer is not admitted"));
      return;
    }
    this.streams.add(stream);
    const signal = AbortSignal.timeout(this.init.timeoutMs ?? ATTEST_TIMEOUT_MS);
    const frames = frameStream(stream, ATTEST_MAX_FRAME_BYTES);
    try {
      // Silent streams must not hold the few inbound attestation slots: the handshake has its own short deadline.
      const handshake = AbortSignal.any([
        signal,
        AbortSignal.timeout(this.init.handshakeTimeoutMs ?? ATTEST_HANDSHAKE_TIMEOUT_MS),
      ]);
      let probe = await frames.read(probeSchema, handshake);
      const refusal = this.admit(peerId);
      if (refusal !== undefined) {
        await this.refuse(frames, peerId, refusal.code, refusal.reason, signal);
        await stream.close({ signal }).catch(() => undefined);
        return;
      }
      this.busy = true;
      try {
        let next: z.output<typeof probeOrChallengeSchema>;
        let probes = 1;
        const claimed = this.init.claimedSamplesPerSec?.();
        for (;;) {
          await frames.write(
            { ...probe, ...(claimed === undefined ? {} : { claimedSamplesPerSec: claimed }) },
            signal,
          );
          // A verifier that stalls between probes would hold us busy: the challenge must follow promptly.
          next = await frames.read(probeOrChallengeSchema, handshake);
          if (next.type === "challenge") break;
          if (++probes > ATTEST_PROBES) throw new MeshError("FRAME_MALFORMED", "too many probes");
          probe = next;
        }
        const { challenge } = next;
        const samples = challengeSamples(challenge);
        const maxSamples = this.init.maxSamples ?? ATTEST_MAX_SAMPLES;
        if (samples > maxSamples) {
          await this.refuse(
            frames,
            peerId,
            "CHALLENGE_TOO_LARGE",
            `${samples} > ${maxSamples} samples`,
            signal,
          );
          await stream.close({ signal }).catch(() => undefined);
          return;
        }
        if (Math.abs(Date.now() - challenge.issuedAtMs) > 60_000) {
          await this.refuse(frames, peerId, "CHALLENGE_STALE", "challenge issued too far from now", signal);
          await stream.close({ signal }).catch(() => undefined);
          return;
        }
        const response = await this.runner.run(challenge, signal);
        this.counters.challengesServed += 1;
        await frames.write(
          {
            v: 1,
            type: "answer",
            response,
            ...(claimed === undefined ? {} : { claimedSamplesPerSec: claimed }),
          },
          signal,
        );
        const verdict = await frames.read(verdictSchema, signal);
        await stream.close({ signal }).catch(() => undefined);
        if (verdict.ok) await this.keep(verdict.receipt, peerId, challenge, response);
      } finally {
        this.busy = false;
      }
    } catch (error) {
      this.counters.challengesRefused += 1;
      const code = error instanceof MeshError || error instanceof SchedulingError ? error.code : "FAILED";
      this.safeDispatch("challenge-refused", { peerId, code, reason: message(error) });
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.streams.delete(stream);
    }
  }

  /** Rate limits, checked before any CPU is spent; returns the refusal or undefined. */
  private admit(peerId: string): { code: string; reason: string } | undefined {
    if (this.busy) return { code: "BUSY", reason: "another attestation is running" };
    if (this.init.isBusy?.() === true) return { code: "BUSY", reason: "training or loaded; try later" };
    const now = Date.now();
    if (!this.perPeer.take(peerId))
      return { code: "RATE_LIMITED", reason: "too many challenges from this peer" };
    // The global budget keeps one token for verifiers not served within the last interval: peers that were
    // (possibly a few staked attackers asking as fast as their own budget allows) cannot drain it, so an
    // honest verifier's periodic challenge still finds a token.
    const interval = this.init.perPeer?.intervalMs ?? ATTEST_PER_PEER_INTERVAL_MS;
    for (const [id, at] of this.lastServed) if (now - at >= interval) this.lastServed.delete(id);
    const reserve = this.lastServed.has(peerId) ? 1 : 0;
    if (!this.global.take(now, reserve)) return { code: "RATE_LIMITED", reason: "too many challenges" };
    this.lastServed.set(peerId, now);
    return undefined;
  }

  private async refuse(
    frames: FrameStream,
    peerId: string,
    code: string,
    reason: string,
    signal: AbortSignal,
  ): Promise<void> {
    this.counters.challengesRefused += 1;
    this.safeDispatch("challenge-refused", { peerId, code, reason });
    await frames.write({ v: 1, type: "refused", code, reason }, signal).catch(() => undefined);
  }

  /** Keeps a receipt only if it is about this exchange: our key, that verifier, that seed and result. */
  private async keep(
    receipt: AttestationReceipt,
    verifier: string,
    challenge: AttestationChallenge,
    response: AttestationResponse,
  ): Promise<void> {
    try {
      const r = await verifyReceipt(receipt);
      if (r.subject !== this.selfId || r.verifier !== verifier) return;
      if (r.seed !== challenge.seed || r.resultHash !== response.resultHash) return;
      this.kept.delete(verifier);
      this.kept.set(verifier, r);
      const newest = this.receipts().slice(0, KEPT_RECEIPTS);
      this.kept.clear();
      for (const k of newest) this.kept.set(k.verifier, k);
      this.counters.receiptsReceived += 1;
      this.safeDispatch("receipt", r);
    } catch {
      // A receipt that does not verify is worthless; the exchange already ended.
    }
  }

  private safeDispatch<K extends keyof AttestationServiceEvents>(
    type: K,
    detail: AttestationServiceEvents[K]["detail"],
  ): void {
    try {
      this.safeDispatchEvent(type, { detail });
    } catch {
      // Listeners own their errors.
    }
  }
}

function fault(
  peerId: string,
  status: "wrong-result" | "too-fast" | "malformed" | "refused" | "unreachable" | "timeout",
  code: string,
  reason: string,
): AttestationOutcome {
  return { status, peerId, code, reason: reason.slice(0, 256) };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
