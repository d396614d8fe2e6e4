/**
 * The latest valid capacity record of every peer, as received on the `/vain/1/capacity` topic, and the speed
 * scheduling may rely on. A record is kept only if its signature verifies, it has not expired and its `seq` is
 * higher than the one held; the speed exposed is the median of receipts from trusted verifiers (capped by the
 * claim), so a node cannot raise its share of the work by saying so. Records of peers that are no longer admitted
 * are dropped by {@link CapacityBook.prune}.
 */
import { attestedCapacity, verifyCapacityRecord } from "./capacity-records.ts";
import type { SignedCapacityRecord } from "./capacity-records.ts";
import { SchedulingError } from "./errors.ts";

/** What the round protocol reads about one node. */
export interface NodeCapacity {
  /**
   * Reference samples per second (the attestation workload's unit). Attested: the median of receipts, never above
   * the claim. Not attested: the claim, which is only an upper bound; weigh it accordingly.
   */
  readonly samplesPerSec: number;
  readonly attested: boolean;
  /** Distinct trusted verifiers behind `samplesPerSec` (0 when not attested). */
  readonly verifiers: number;
  readonly claimedSamplesPerSec: number;
  readonly lowPower: boolean;
  readonly aggregatorOptIn: boolean;
}

/** The small interface the round protocol and scheduling consume. */
export interface CapacitySource {
  /** A peer's capacity by peer ID or operator address; undefined when no valid record is held. */
  capacityOf(peerIdOrOperator: string): NodeCapacity | undefined;
  /** This node's own speed as it measured it locally (same unit), once measured. */
  ownSamplesPerSec(): number | undefined;
}

export interface CapacityBookOptions {
  /** Whether a receipt's verifier counts (e.g. a staked peer); async so it may ask the chain. Default: all. */
  readonly isTrustedVerifier?: (verifier: string) => boolean | Promise<boolean>;
  readonly now?: () => number;
}

interface Entry {
  readonly record: SignedCapacityRecord;
  readonly capacity: NodeCapacity;
}

export class CapacityBook implements CapacitySource {
  private readonly byPeer = new Map<string, Entry>();
  private readonly options: CapacityBookOptions;
  private readonly now: () => number;
  private own: number | undefined;

  constructor(options: CapacityBookOptions = {}) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /**
   * Verifies and stores a record. `author` is the gossip author: a record is only accepted from its own node
   * (otherwise anyone could replay an old record of someone else). Returns whether it replaced what we held;
   * throws `SchedulingError` for a malformed, forged or expired record.
   */
  async ingest(input: unknown, author?: string): Promise<boolean> {
    const nowMs = this.now();
    const record = await verifyCapacityRecord(input, nowMs);
    if (author !== undefined && author !== record.peerId) {
      throw new SchedulingError(
        "CAPACITY_RECORD_MALFORMED",
        `capacity record of ${record.peerId} published by ${author}`,
      );
    }
    const held = this.byPeer.get(record.peerId);
    if (held !== undefined && held.record.seq >= record.seq && held.record.expiresAtMs >= nowMs) return false;
    const trustedSet = new Set<string>();
    for (const receipt of record.receipts) {
      const trusted = (await this.options.isTrustedVerifier?.(receipt.verifier)) ?? true;
      if (trusted) trustedSet.add(receipt.verifier);
    }
    const attested = await attestedCapacity(record, { nowMs, trusted: (v) => trustedSet.has(v) });
    // Another ingest of this peer may have finished while we awaited.
    const again = this.byPeer.get(record.peerId);
    if (again !== undefined && again.record.seq >= record.seq) return false;
    this.byPeer.set(record.peerId, {
      record,
      capacity: {
        samplesPerSec: attested.verifiers > 0 ? attested.samplesPerSec : record.claimed.samplesPerSec,
        attested: attested.verifiers > 0,
        verifiers: attested.verifiers,
        claimedSamplesPerSec: record.claimed.samplesPerSec,
        lowPower: record.lowPower,
        aggregatorOptIn: record.aggregatorOptIn,
      },
    });
    return true;
  }

  capacityOf(peerIdOrOperator: string): NodeCapacity | undefined {
    const entry = this.entryOf(peerIdOrOperator);
    return entry?.capacity;
  }

  /** The record held for a peer (for the status API), if valid. */
  recordOf(peerIdOrOperator: string): SignedCapacityRecord | undefined {
    return this.entryOf(peerIdOrOperator)?.record;
  }

  ownSamplesPerSec(): number | undefined {
    return this.own;
  }

  setOwnSamplesPerSec(samplesPerSec: number): void {
    if (!(samplesPerSec > 0) || !Number.isFinite(samplesPerSec)) {
      throw new SchedulingError("SCHEDULING_INVALID_INPUT", `own speed must be > 0, got ${samplesPerSec}`);
    }
    this.own = samplesPerSec;
  }

  /** Median attested speed over the peers held (undefined when none is attested): the mesh's typical node. */
  medianAttestedSamplesPerSec(): number | undefined {
    const speeds = this.entries()
      .filter((e) => e.capacity.attested)
      .map((e) => e.capacity.samplesPerSec)
      .sort((a, b) => a - b);
    const n = speeds.length;
    if (n === 0) return undefined;
    return n % 2 === 1 ? speeds[(n - 1) / 2]! : (speeds[n / 2 - 1]! + speeds[n / 2]!) / 2;
  }

  /** Every valid record held, expired ones dropped. */
  entries(): { readonly peerId: string; readonly operator?: string; readonly capacity: NodeCapacity }[] {
    this.dropExpired();
    return [...this.byPeer.values()].map((e) => ({
      peerId: e.record.peerId,
      ...(e.record.operator === undefined ? {} : { operator: e.record.operator }),
      capacity: e.capacity,
    }));
  }

  /** Drops records of peers that are no longer admitted; returns how many. */
  prune(isAdmitted: (peerId: string) => boolean): number {
    let dropped = 0;
    for (const peerId of [...this.byPeer.keys()]) {
      if (!isAdmitted(peerId)) {
        this.byPeer.delete(peerId);
        dropped += 1;
      }
    }
    return dropped + this.dropExpired();
  }

  get size(): number {
    return this.byPeer.size;
  }

  private entryOf(peerIdOrOperator: string): Entry | undefined {
    this.dropExpired();
    const direct = this.byPeer.get(peerIdOrOperator);
    if (direct !== undefined) return direct;
    if (!/^0x[0-9a-fA-F]{40}$/.test(peerIdOrOperator)) return undefined;
    const operator = peerIdOrOperator.toLowerCase();
    let best: Entry | undefined;
    for (const entry of this.byPeer.values()) {
      if (entry.record.operator?.toLowerCase() !== operator) continue;
      if (best === undefined || entry.record.issuedAtMs > best.record.issuedAtMs) best = entry;
    }
    return best;
  }

  private dropExpired(): number {
    const nowMs = this.now();
    let dropped = 0;
    for (const [peerId, entry] of this.byPeer) {
      if (entry.record.expiresAtMs < nowMs) {
        this.byPeer.delete(peerId);
        dropped += 1;
      }
    }
    return dropped;
  }
}
