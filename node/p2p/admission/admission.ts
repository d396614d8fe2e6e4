/**
 * Stake-gated admission. On every new connection each side challenges the other: the verifier sends a
 * fresh nonce, the peer answers with a claim signed by its node key (operator, chain ID, registry, nonce,
 * time), and the verifier reads the binding and stake from the StakeRegistry. The verdict, with a reason
 * code, goes back to the peer before a refused connection is closed, so both sides can say why.
 *
 * Until a peer is admitted it may use only this protocol; other vAIn protocols ask {@link isAdmitted}.
 * Refused peers are remembered for a while and the connection gater turns them away before any stream.
 */
import { randomBytes } from "node:crypto";

import { TypedEventEmitter } from "@libp2p/interface";
import type { Connection, ConnectionGater, Libp2p, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import type { Address } from "viem";
import type { z } from "zod";

import { MeshError } from "../errors.ts";
import { frameStream } from "../frames.ts";
import { signHandshake, verifyHandshake } from "../handshake.ts";
import type { HandshakeClaim } from "../handshake.ts";
import { DEFAULT_ADMISSION_RATES, DEFAULT_SLOT_LIMITS, PROTOCOL_PREFIX } from "../constants.ts";
import { KeyedRateLimiter } from "../rate-limit.ts";
import { connectionPrefix, ConnectionSlots } from "./gater.ts";
import { Refusals } from "./refusals.ts";
import type { StakeReason } from "./refusals.ts";
import { challengeSchema, REFUSAL_CODES, Refused, responseSchema, toRefusal, verdictSchema } from "./wire.ts";
import type { RefusalCode } from "./wire.ts";
import { mutualAdmission, settledAdmission } from "./waits.ts";
import type { AdmissionEvents, AdmissionOptions, AdmittedPeer, Refusal } from "./types.ts";

export type { RefusalCode } from "./wire.ts";
export type { AdmissionEvents, AdmissionOptions, AdmissionRates, AdmittedPeer, Refusal } from "./types.ts";

export const ADMISSION_PROTOCOL = `${PROTOCOL_PREFIX}/admission/1.0.0`;

/** Time a refused peer's connection stays open so the verdict can be read. */
const VERDICT_GRACE_MS = 300;
/**
 * How long a peer evicted because its operator's newer peer ID was just admitted is refused: long enough to
 * stop it from reconnecting at once, short enough that a binding we misread (a stale cache) heals in seconds.
 */
const REBOUND_REFUSAL_MS = 5_000;
/**
 * How long a peer the binding mirror found unbound is refused: the mirror lags the chain by up to one polling
 * interval, so a peer that bound just now is let in again within seconds (a chain read refuses for a minute).
 */
const MIRRORED_REFUSAL_MS = 5_000;

/** Refusals that say nothing about the peer (our chain or budget): retried soon, never held against it. */
const TEMPORARY_REFUSALS: ReadonlySet<RefusalCode> = new Set([
  "CHAIN_UNAVAILABLE",
  "RATE_LIMITED",
  "TIMEOUT",
]);

/** Ed25519 seed of a libp2p private key (its `raw` form is seed ‖ public key). */
function ed25519Seed(key: PrivateKey): Uint8Array {
  if (key.type !== "Ed25519") throw new Error("vAIn node keys are Ed25519");
  return key.raw.subarray(0, 32);
}

/** The peer's side has no handler for the protocol (multistream-select said "na"). */
function isUnsupportedProtocol(error: unknown): boolean {
  return error instanceof Error && error.name === "UnsupportedProtocolError";
}

/** A failure of the transport under the handshake rather than of anything the peer sent. */
function isTransportFailure(error: unknown): boolean {
  return error instanceof MeshError && error.code === "PEER_UNREACHABLE";
}

export class AdmissionController extends TypedEventEmitter<AdmissionEvents> {
  private readonly admittedPeers = new Map<string, AdmittedPeer>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly refusals = new Refusals();
  private readonly remoteRefusals = new Map<string, Refusal>();
  private readonly acceptedBy = new Set<string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private node: Libp2p | undefined;
  private revalidateTimer: ReturnType<typeof setInterval> | undefined;
  private unsubscribeOracle: (() => void) | undefined;
  /** Handshake timeout, and how long an unadmitted connection may stay open. */
  readonly timeoutMs: number;
  private readonly refusedTtlMs: number;
  private readonly revalidateIntervalMs: number;
  private readonly answersPerPeer: KeyedRateLimiter;
  private readonly answersPerPrefix: KeyedRateLimiter;
  private readonly checksPerPrefix: KeyedRateLimiter;
  /** Slot budgets of unadmitted connections (the gater's state). */
  readonly slots: ConnectionSlots;

  private readonly options: AdmissionOptions;

  constructor(options: AdmissionOptions) {
    super();
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.refusedTtlMs = options.refusedTtlMs ?? 60_000;
    this.revalidateIntervalMs = options.revalidateIntervalMs ?? 30_000;
    const rates = options.rates ?? DEFAULT_ADMISSION_RATES;
    this.answersPerPeer = new KeyedRateLimiter(rates.answersPerPeer);
    this.answersPerPrefix = new KeyedRateLimiter(rates.answersPerPrefix);
    this.checksPerPrefix = new KeyedRateLimiter(rates.checksPerPrefix);
    this.slots = new ConnectionSlots(options.slots ?? DEFAULT_SLOT_LIMITS, {
      isAdmitted: (peerId) => this.admittedPeers.has(peerId),
      isRefused: (peerId) => this.isRefused(peerId),
    });
  }

  /** The gater to pass to libp2p: refused peers, and connections over their budgets, never reach a stream. */
  gater(): ConnectionGater {
    return this.slots.gater();
  }

  /** Registers the protocol and starts challenging every connection of `node`. */
  async start(node: Libp2p): Promise<void> {
    this.node = node;
    this.slots.start(node);
    await node.handle(ADMISSION_PROTOCOL, (stream, connection) => this.answerChallenge(stream, connection), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      // A relayed (limited) connection must be admitted too: it is how NATed peers first meet.
      runOnLimitedConnection: true,
    });
    node.addEventListener("connection:open", this.onConnectionOpen);
    node.addEventListener("peer:disconnect", this.onPeerDisconnect);
    this.unsubscribeOracle = this.options.oracle.onStandingChange((operator, atBlock) => {
      this.refusals.liftStakeOf(operator, atBlock);
      void this.revalidateOperator(operator);
    });
    this.revalidateTimer = setInterval(() => void this.revalidateAll(), this.revalidateIntervalMs);
    this.revalidateTimer.unref();
    for (const connection of node.getConnections())
      this.onConnectionOpen(new CustomEvent("connection:open", { detail: connection }));
  }

  async stop(): Promise<void> {
    const node = this.node;
    if (node === undefined) return;
    node.removeEventListener("connection:open", this.onConnectionOpen);
    node.removeEventListener("peer:disconnect", this.onPeerDisconnect);
    this.slots.stop();
    this.unsubscribeOracle?.();
    clearInterval(this.revalidateTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await node.unhandle(ADMISSION_PROTOCOL).catch(() => undefined);
    await Promise.allSettled(this.pending.values());
    this.node = undefined;
  }

  private isConnected(peer: PeerId): boolean {
    return this.node?.getConnections(peer).some((c) => c.status === "open") === true;
  }

  isAdmitted(peerId: PeerId | string): boolean {
    return this.admittedPeers.has(peerId.toString());
  }

  /** True while a peer's admission check is running (its early messages are ignored, not punished). */
  isPending(peerId: PeerId | string): boolean {
    return this.pending.has(peerId.toString());
  }

  /**
   * Resolves true once `peerId` is admitted (at once if it is), false when it is refused or `signal` aborts.
   * Protocol gates wait on it: a peer's services open streams before its admission round trip is over.
   */
  settled(peerId: string, signal: AbortSignal): Promise<boolean> {
    return settledAdmission(this, peerId, signal);
  }

  admitted(): AdmittedPeer[] {
    return [...this.admittedPeers.values()];
  }

  peer(peerId: string): AdmittedPeer | undefined {
    return this.admittedPeers.get(peerId);
  }

  /** Why `peerId` refused us, if it did. */
  remoteRefusal(peerId: string): Refusal | undefined {
    return this.remoteRefusals.get(peerId);
  }

  /** True once `peerId` has verified us and told us so. */
  isAcceptedBy(peerId: PeerId | string): boolean {
    return this.acceptedBy.has(peerId.toString());
  }

  /**
   * Resolves once admission is mutual (we admitted `peerId` and it admitted us); rejects with the
   * reason as soon as either side refuses.
   */
  waitForAdmission(peerId: string, signal: AbortSignal): Promise<AdmittedPeer> {
    return mutualAdmission(this, peerId, signal);
  }

  isRefused(peerId: string): boolean {
    return this.refusals.has(peerId);
  }

  private readonly onConnectionOpen = (event: CustomEvent<Connection>): void => {
    const connection = event.detail;
    const peerId = connection.remotePeer.toString();
    if (this.admittedPeers.has(peerId)) return;
    // Every connection of an unadmitted peer holds an unadmitted slot and has its own deadline, not only the
    // first: extra connections opened while the first is being checked are bounded the same way.
    this.slots.track(connection);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // Abort, not close: a graceful close waits for the peer's open streams, and a busy unadmitted peer
      // could keep its connection that way.
      if (!this.admittedPeers.has(peerId) && connection.status === "open")
        connection.abort(new Error("admission timeout"));
    }, this.timeoutMs);
    timer.unref();
    this.timers.add(timer);
    if (this.pending.has(peerId)) return;
    const check = this.challenge(connection).finally(() => this.pending.delete(peerId));
    this.pending.set(peerId, check);
  };

  private readonly onPeerDisconnect = (event: CustomEvent<PeerId>): void => {
    this.admittedPeers.delete(event.detail.toString());
    this.acceptedBy.delete(event.detail.toString());
  };

  /** Verifier side: challenge the peer on `connection`, check the chain, send the verdict. */
  private async challenge(connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString();
    const signal = AbortSignal.timeout(this.timeoutMs);
    let stream: Stream;
    try {
      // Relayed connections are limited (time and data): admission must still run on them.
      const limited = connection.limits === undefined ? {} : { runOnLimitedConnection: true };
      stream = await connection.newStream(ADMISSION_PROTOCOL, { signal, ...limited });
    } catch (error) {
      // A peer that is connected but does not speak admission is refused (it would otherwise reconnect with the
      // same ID forever); one that left is simply gone.
      if (connection.status === "open" && isUnsupportedProtocol(error))
        this.refuse(peerId, "MALFORMED", `peer does not speak ${ADMISSION_PROTOCOL}`, "refused");
      return;
    }
    const frames = frameStream(stream);
    const nonce = randomBytes(32).toString("hex");
    let verdict: { ok: true; admitted: AdmittedPeer } | { ok: false; refusal: Refused };
    try {
      // Each check may cost a chain read: a prefix starts only so many (the stake oracle's global budget is
      // then shared among prefixes instead of going to whoever floods fastest).
      if (!this.checksPerPrefix.take(connectionPrefix(connection)))
        throw new Refused("RATE_LIMITED", "too many admission checks from this network prefix");
      await frames.write(
        { v: 1, nonce, chainId: this.options.chainId, registry: this.options.registry },
        signal,
      );
      const answer = await frames.read(responseSchema, signal);
      verdict = { ok: true, admitted: await this.verifyAnswer(connection, answer, nonce) };
    } catch (error) {
      // The connection or stream went away mid-handshake (closed, reset, a duplicate connection dropped): the
      // peer said nothing wrong, and a refusal would turn it away for a minute and close its other, possibly
      // healthy, connections. Under load this cascaded (bench:mesh, stock profile at N = 100). The next
      // connection is challenged afresh; an open connection left unadmitted is closed by the admission timer.
      if (connection.status !== "open" || isTransportFailure(error)) return;
      verdict = { ok: false, refusal: toRefusal(error) };
    }
    try {
      await frames.write(
        verdict.ok
          ? { ok: true }
          : { ok: false, code: verdict.refusal.code, reason: verdict.refusal.message },
        signal,
      );
      await stream.close({ signal });
    } catch {
      stream.abort(new Error("admission stream closed"));
    }
    if (verdict.ok) {
      this.slots.release(peerId);
      // The peer may have left while the verdict was sent (`peer:disconnect` already ran): a record set now said
      // "admitted" with no connection, `Mesh.reach` skipped admission on the next dial, and a trainer failed every
      // later delivery to that aggregator (transfer-connections.test: one sender 0 of 12 tries, 2026-12-06).
      // Any open connection of the peer counts: the checked one may be a duplicate libp2p closed meanwhile, and
      // the peer's other connections are not checked again (`pending`), so they would be cut by the admission timer.
      if (!this.isConnected(connection.remotePeer)) return;
      this.evictRebound(verdict.admitted);
      this.admittedPeers.set(peerId, verdict.admitted);
      this.safeDispatch("admitted", verdict.admitted);
      return;
    }
    const { code, message, ttlMs, stakeOf } = verdict.refusal;
    this.refuse(peerId, code, message, "refused", { ttlMs, stakeOf });
  }

  private async verifyAnswer(
    connection: Connection,
    answer: z.output<typeof responseSchema>,
    nonce: string,
  ): Promise<AdmittedPeer> {
    if (!answer.ok) throw new Refused("MALFORMED", `peer declined the challenge: ${answer.reason}`);
    const publicKey = connection.remotePeer.publicKey;
    if (publicKey?.type !== "Ed25519") throw new Refused("MALFORMED", "peer key is not Ed25519");
    const claim: HandshakeClaim = {
      operator: answer.operator as Address,
      chainId: this.options.chainId,
      registry: this.options.registry,
      nonce,
      timestampMs: answer.timestampMs,
    };
    verifyHandshake(publicKey.raw, claim, Buffer.from(answer.signature, "hex"), {
      chainId: this.options.chainId,
      registry: this.options.registry,
      nonce,
    });
    const standing = await this.options.oracle.standing(connection.remotePeer.toString());
    if (/^0x0{40}$/i.test(standing.operator))
      throw standing.fromMirror === true
        ? new Refused(
            "NOT_BOUND",
            `peer ID was not bound to any operator at block ${standing.asOfBlock}`,
            MIRRORED_REFUSAL_MS,
          )
        : new Refused("NOT_BOUND", "peer ID is not bound to any operator on chain");
    if (standing.operator.toLowerCase() !== claim.operator.toLowerCase())
      throw new Refused("WRONG_OPERATOR", `peer ID is bound to ${standing.operator}, not ${claim.operator}`);
    if (!standing.active)
      throw new Refused(
        "INSUFFICIENT_STAKE",
        `operator ${standing.operator} has less than the minimum active stake`,
        undefined,
        { operator: standing.operator, asOfBlock: standing.asOfBlock },
      );
    return {
      peerId: connection.remotePeer.toString(),
      operator: standing.operator,
      activeStake: standing.activeStake,
      admittedAt: Date.now(),
    };
  }

  /** Prover side: answer a peer's challenge with our signed claim, then read its verdict. */
  private async answerChallenge(stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString();
    const signal = AbortSignal.timeout(this.timeoutMs);
    const frames = frameStream(stream);
    try {
      const challenge = await frames.read(challengeSchema, signal);
      if (!this.answersPerPeer.take(peerId) || !this.answersPerPrefix.take(connectionPrefix(connection))) {
        // Every answer is a signature: a peer asking faster than connections warrant gets none.
        await frames.write({ ok: false, reason: "rate limited: too many challenges" }, signal);
      } else if (
        challenge.chainId !== this.options.chainId ||
        challenge.registry.toLowerCase() !== this.options.registry.toLowerCase()
      ) {
        await frames.write({ ok: false, reason: "challenge is for another chain or registry" }, signal);
      } else {
        const claim: HandshakeClaim = {
          operator: this.options.operator,
          chainId: this.options.chainId,
          registry: this.options.registry,
          nonce: challenge.nonce,
          timestampMs: Date.now(),
        };
        const signature = signHandshake(ed25519Seed(this.options.privateKey), claim);
        await frames.write(
          {
            ok: true,
            operator: claim.operator,
            timestampMs: claim.timestampMs,
            signature: Buffer.from(signature).toString("hex"),
          },
          signal,
        );
      }
      const verdict = await frames.read(verdictSchema, signal);
      if (verdict.ok) {
        this.remoteRefusals.delete(peerId);
        this.acceptedBy.add(peerId);
        this.safeDispatch("accepted", peerId);
      } else {
        const code =
          verdict.code !== undefined && REFUSAL_CODES.has(verdict.code)
            ? (verdict.code as RefusalCode)
            : "MALFORMED";
        const refusal: Refusal = {
          peerId,
          code,
          reason: verdict.reason ?? "no reason given",
          side: "remote",
        };
        this.remoteRefusals.set(peerId, refusal);
        this.safeDispatch("refused", refusal);
      }
      await stream.close({ signal });
    } catch {
      stream.abort(new Error("admission answer failed"));
    }
  }

  /**
   * One admitted peer ID per operator, always. The chain binds one peer ID per operator, so when `admitted`
   * was just verified as `operator`'s, an older admitted peer of the same operator holds a stale binding (the
   * operator rebound its key). It goes now, in the same tick as the newcomer is admitted, instead of when the
   * registry's event is polled (a window of ~0.6 s with both admitted, issue #19). Its cached standing is
   * dropped and it is refused only briefly: if the chain still names it, it is admitted again (and the other
   * one goes).
   */
  private evictRebound(admitted: AdmittedPeer): void {
    const operator = admitted.operator.toLowerCase();
    for (const other of [...this.admittedPeers.values()]) {
      if (other.peerId === admitted.peerId || other.operator.toLowerCase() !== operator) continue;
      this.options.oracle.invalidatePeer(other.peerId);
      this.refuse(
        other.peerId,
        "REVOKED",
        `operator ${admitted.operator} is now bound to ${admitted.peerId}`,
        "evicted",
        { ttlMs: REBOUND_REFUSAL_MS },
      );
    }
  }

  /** Evicts an abusive peer (abuse.ts): disconnected, and turned away for `ttlMs`. */
  evictForAbuse(peerId: string, reason: string, ttlMs: number): void {
    this.refuse(peerId, "ABUSIVE", reason, "evicted", { ttlMs });
  }

  /** Records the refusal, tells listeners and closes the peer's connections (after the verdict left). */
  private refuse(
    peerId: string,
    code: RefusalCode,
    reason: string,
    event: "refused" | "evicted",
    /** `ttlMs`: how long, when not the code's default; `stakeOf`: the operator whose stake is the reason (refusals.ts). */
    { ttlMs, stakeOf }: { ttlMs?: number | undefined; stakeOf?: StakeReason | undefined } = {},
  ): void {
    this.admittedPeers.delete(peerId);
    const ttl =
      ttlMs ?? (TEMPORARY_REFUSALS.has(code) ? Math.min(5_000, this.refusedTtlMs) : this.refusedTtlMs);
    this.refusals.refuse(peerId, ttl, stakeOf);
    this.safeDispatch(event, { peerId, code, reason, side: "local" });
    const node = this.node;
    if (node === undefined) return;
    // A short grace period lets the verdict (with its reason) reach the peer before the connection goes.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const connection of node.getConnections()) {
        if (connection.remotePeer.toString() !== peerId) continue;
        void connection
          .close({ signal: AbortSignal.timeout(2_000) })
          .catch(() => connection.abort(new Error(code)));
      }
    }, VERDICT_GRACE_MS);
    this.timers.add(timer);
  }

  private async revalidateOperator(operator: Address): Promise<void> {
    const wanted = operator.toLowerCase();
    const peers = this.admitted().filter((peer) => peer.operator.toLowerCase() === wanted);
    await Promise.allSettled(peers.map((peer) => this.revalidate(peer.peerId)));
  }

  private async revalidateAll(): Promise<void> {
    await Promise.allSettled(this.admitted().map((peer) => this.revalidate(peer.peerId)));
  }

  /** Evicts an admitted peer that lost its binding or stake; a chain we cannot reach evicts nobody. */
  private async revalidate(peerId: string): Promise<void> {
    const current = this.admittedPeers.get(peerId);
    if (current === undefined) return;
    let standing;
    try {
      standing = await this.options.oracle.standing(peerId);
    } catch {
      return;
    }
    if (standing.active && standing.operator.toLowerCase() === current.operator.toLowerCase()) {
      this.admittedPeers.set(peerId, { ...current, activeStake: standing.activeStake });
      return;
    }
    const reason = !standing.active
      ? `operator ${current.operator} fell below the minimum stake or was slashed`
      : `peer ID was rebound to ${standing.operator}`;
    this.refuse(peerId, "REVOKED", reason, "evicted", {
      stakeOf: standing.active ? undefined : { operator: current.operator, asOfBlock: standing.asOfBlock },
    });
  }

  private safeDispatch<K extends keyof AdmissionEvents>(type: K, detail: AdmissionEvents[K]["detail"]): void {
    try {
      this.safeDispatchEvent(type, { detail });
    } catch {
      // A listener's bug must not break admission.
    }
  }
}
