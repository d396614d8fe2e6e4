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
import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { TypedEventEmitter } from "@libp2p/interface";
import type { z } from "zod";

import { challengeSamples, createChallenge } from "../../scheduling/attestation.ts";
import type { AttestationChallenge, AttestationResponse } from "../../scheduling/attestation.ts";
import { AttestationRunner } from "../../scheduling/attestation-runner.ts";
import { verifyReceipt } from "../../scheduling/capacity-records.ts";
import type { AttestationReceipt } from "../../scheduling/capacity-records.ts";
import { ATTESTATION_BLOCKS } from "../../scheduling/constants.ts";
import { SchedulingError } from "../../scheduling/errors.ts";
import { MeshError } from "../errors.ts";
import { frameStream } from "../frames.ts";
import type { FrameStream } from "../frames.ts";
import { KeyedRateLimiter, TokenBucket } from "../rate-limit.ts";
import {
  ATTEST_GLOBAL_BURST,
  ATTEST_GLOBAL_INTERVAL_MS,
  ATTEST_HANDSHAKE_TIMEOUT_MS,
  ATTEST_KEPT_RECEIPTS,
  ATTEST_MAX_FRAME_BYTES,
  ATTEST_MAX_SAMPLES,
  ATTEST_PER_PEER_BURST,
  ATTEST_PER_PEER_INTERVAL_MS,
  ATTEST_PROBES,
  ATTEST_PROTOCOL,
  ATTEST_TIMEOUT_MS,
} from "./constants.ts";
import { runVerifier } from "./verifier.ts";
import { message, probeOrChallengeSchema, probeSchema, verdictSchema } from "./wire.ts";
import type { AttestationOutcome, CapabilityAttestor } from "./wire.ts";

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
    const outcome = await runVerifier(
      { node: this.node, init: this.init, streams: this.streams },
      peer,
      options,
    );
    this.counters.attestationsRun += 1;
    this.safeDispatch("attested", outcome);
    return outcome;
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
      const newest = this.receipts().slice(0, ATTEST_KEPT_RECEIPTS);
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
