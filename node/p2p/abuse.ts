/**
 * Abuse has a price. Protocol violations of an admitted peer (invalid gossip it authored, streams over its
 * rates, blobs that fail their hash, a gossip score below the graylist threshold) add points to its record; the
 * points decay, so an honest peer's rare slip is forgotten. Past the threshold the peer is refused (`ABUSIVE`):
 * disconnected and turned away by the gater for a while. Each violation is also counted per operator, so an
 * operator whose peers keep abusing is visible in status and metrics (and can be down-ranked by reputation).
 */
import { TypedEventEmitter } from "@libp2p/interface";
import type { Address } from "viem";

/** What a peer did wrong, with its weight in points. */
export const ABUSE_POINTS = {
  /** A gossip message the peer authored and sent us itself failed validation (schema, size, clock). */
  "gossip-invalid": 2,
  /** Authored gossip above the per-author rate. */
  "gossip-flood": 1,
  /** A stream opened over the peer's rate for a protocol. */
  "stream-rate": 1,
  /** A frame that could not be decoded (malformed, oversized). */
  "frame-malformed": 5,
  /** A pushed blob whose bytes did not match the hash it announced. */
  "blob-hash-mismatch": 10,
  /**
   * A round's update handed out or relayed (naming its trainer) whose bytes do not match that trainer's on-chain
   * commitment: an honest node hands out only updates it checked (update-relay.ts), so this is never a slip.
   */
  "blob-uncommitted": 10,
  /** Its gossipsub score fell below the graylist threshold (invalid deliveries, broken IWANT promises). */
  "gossip-graylisted": 100,
} as const;
export type AbuseKind = keyof typeof ABUSE_POINTS;

/** Points at which a peer is refused. An honest peer accrues a few points at most (clock skew, a retry). */
export const ABUSE_THRESHOLD_POINTS = 100;
/** Half-life of a peer's points: one minute, so 100 points take a sustained effort, not one bad burst. */
export const ABUSE_HALF_LIFE_MS = 60_000;
/** How long an abusive peer is refused (its operator can come back with the same stake afterwards). */
export const ABUSE_REFUSAL_MS = 10 * 60_000;
/** Peers tracked at once (admitted peers only, so bounded by the connection cap; this is a safety net). */
const MAX_TRACKED_PEERS = 4_096;

export interface AbuseReport {
  readonly peerId: string;
  readonly operator?: Address;
  readonly kind: AbuseKind;
  readonly points: number;
  /** What the reporter saw (e.g. a gossip score's parts), for the eviction's log line. */
  readonly detail?: string;
}

export interface AbuseEvents {
  /** A violation was recorded. */
  violation: CustomEvent<AbuseReport>;
  /** The peer crossed the threshold and must be refused. */
  abusive: CustomEvent<AbuseReport>;
}

/** Per operator: violations by kind and how many times its peers were refused for abuse. */
export interface OperatorAbuse {
  violations: Partial<Record<AbuseKind, number>>;
  refusals: number;
}

export interface AbuseLedgerInit {
  /** The operator of an admitted peer (admission's record), so violations are counted per operator. */
  readonly operatorOf: (peerId: string) => Address | undefined;
  readonly thresholdPoints?: number;
  readonly halfLifeMs?: number;
  readonly now?: () => number;
}

interface Record_ {
  points: number;
  atMs: number;
}

export class AbuseLedger extends TypedEventEmitter<AbuseEvents> {
  private readonly peers = new Map<string, Record_>();
  private readonly operators = new Map<string, OperatorAbuse>();
  private readonly init: AbuseLedgerInit;
  /** Points at which a peer is refused. */
  readonly thresholdPoints: number;
  private readonly halfLifeMs: number;
  private readonly now: () => number;

  constructor(init: AbuseLedgerInit) {
    super();
    this.init = init;
    this.thresholdPoints = init.thresholdPoints ?? ABUSE_THRESHOLD_POINTS;
    this.halfLifeMs = init.halfLifeMs ?? ABUSE_HALF_LIFE_MS;
    this.now = init.now ?? Date.now;
  }

  /** Records a violation by `peerId` (`detail`: what the reporter saw); returns its points after it. */
  report(peerId: string, kind: AbuseKind, detail?: string): number {
    const now = this.now();
    const record = this.peers.get(peerId) ?? { points: 0, atMs: now };
    record.points = this.decayed(record, now) + ABUSE_POINTS[kind];
    record.atMs = now;
    if (!this.peers.has(peerId)) {
      if (this.peers.size >= MAX_TRACKED_PEERS) this.forgetQuiet(now);
      this.peers.set(peerId, record);
    }
    const operator = this.init.operatorOf(peerId);
    if (operator !== undefined) {
      const entry = this.operatorEntry(operator);
      entry.violations[kind] = (entry.violations[kind] ?? 0) + 1;
    }
    const report: AbuseReport = {
      peerId,
      kind,
      points: record.points,
      ...(operator === undefined ? {} : { operator }),
      ...(detail === undefined ? {} : { detail }),
    };
    this.safeDispatch("violation", report);
    if (record.points >= this.thresholdPoints) {
      this.peers.delete(peerId);
      if (operator !== undefined) this.operatorEntry(operator).refusals += 1;
      this.safeDispatch("abusive", report);
    }
    return record.points;
  }

  /** The peer's current points (decayed). */
  points(peerId: string): number {
    const record = this.peers.get(peerId);
    return record === undefined ? 0 : this.decayed(record, this.now());
  }

  /** Peers with points now (decayed, at least one), most first: the status API and metrics per peer. */
  peersWithPoints(): { peerId: string; points: number }[] {
    const now = this.now();
    const out: { peerId: string; points: number }[] = [];
    for (const [peerId, record] of this.peers) {
      const points = this.decayed(record, now);
      if (points >= 1) out.push({ peerId, points });
    }
    return out.sort((a, b) => b.points - a.points);
  }

  /** Violations per operator, for the status API and metrics. */
  byOperator(): ReadonlyMap<string, Readonly<OperatorAbuse>> {
    return this.operators;
  }

  private operatorEntry(operator: Address): OperatorAbuse {
    const key = operator.toLowerCase();
    let entry = this.operators.get(key);
    if (entry === undefined) {
      entry = { violations: {}, refusals: 0 };
      this.operators.set(key, entry);
    }
    return entry;
  }

  private decayed(record: Record_, now: number): number {
    return record.points * 0.5 ** (Math.max(0, now - record.atMs) / this.halfLifeMs);
  }

  private forgetQuiet(now: number): void {
    for (const [peerId, record] of this.peers) if (this.decayed(record, now) < 1) this.peers.delete(peerId);
  }

  private safeDispatch<K extends keyof AbuseEvents>(type: K, detail: AbuseEvents[K]["detail"]): void {
    try {
      this.safeDispatchEvent(type, { detail });
    } catch {
      // A listener's bug must not stop the accounting.
    }
  }
}
