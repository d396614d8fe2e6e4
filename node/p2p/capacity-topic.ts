/**
 * Capacity records on gossip (`/vain/1/capacity`). Each node publishes its own signed record at start, whenever
 * it gets new attestation receipts, and every few minutes (so peers that joined since hear it); every node keeps
 * the latest valid record per peer in a {@link CapacityBook}. The topic's zod schema rejects malformed records
 * at the gossip validator (the relayer is penalised); the signature, expiry, sequence number and author are
 * checked by the book.
 */
import type { PrivateKey } from "@libp2p/interface";
import type { Logger } from "pino";

import type { CapacityBook } from "../scheduling/capacity-book.ts";
import { signCapacityRecord, signedCapacityRecordSchema } from "../scheduling/capacity-records.ts";
import type {
  AttestationReceipt,
  CapacityRecordBody,
  SignedCapacityRecord,
} from "../scheduling/capacity-records.ts";
import { MAX_RECEIPTS } from "../scheduling/constants.ts";
import { vainTopic } from "./topics.ts";
import type { MeshGossip } from "./gossip.ts";

export const CAPACITY_TOPIC = vainTopic("capacity");

/** Re-publish period: peers that joined since the last record hear it within this long. */
export const CAPACITY_REPUBLISH_INTERVAL_MS = 5 * 60_000;

/** The parts of a record the node decides; the rest (peer ID, seq, times, signature) is filled in here. */
export interface CapacityAdvert {
  readonly claimed: CapacityRecordBody["claimed"];
  readonly aggregatorOptIn: boolean;
  readonly lowPower: boolean;
  readonly receipts: readonly AttestationReceipt[];
  /** The training data's fingerprint (node/runtime/data-fingerprint.ts), when the node trains. */
  readonly dataFingerprint?: string;
}

export interface CapacityTopicInit {
  readonly gossip: MeshGossip;
  readonly book: CapacityBook;
  readonly privateKey: PrivateKey;
  readonly operator?: `0x${string}`;
  /** Called for each re-publish: the node's current advert. */
  readonly advert: () => CapacityAdvert | undefined;
  readonly republishIntervalMs?: number;
  readonly log?: Logger;
  /** Called with every record accepted from a peer (after the book verified it). */
  readonly onRecord?: (record: SignedCapacityRecord) => void;
}

export interface CapacityTopicCounters {
  published: number;
  accepted: number;
  stale: number;
  invalid: number;
}

export class CapacityTopic {
  private readonly init: CapacityTopicInit;
  private unsubscribe: (() => void) | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSeq = 0;
  private current: SignedCapacityRecord | undefined;
  readonly counters: CapacityTopicCounters = { published: 0, accepted: 0, stale: 0, invalid: 0 };

  constructor(init: CapacityTopicInit) {
    this.init = init;
  }

  start(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.init.gossip.subscribe(
      CAPACITY_TOPIC,
      signedCapacityRecordSchema,
      async (message) => {
        try {
          const replaced = await this.init.book.ingest(message.body, message.from);
          if (replaced) {
            this.counters.accepted += 1;
            this.init.onRecord?.(message.body);
          } else this.counters.stale += 1;
        } catch (error) {
          this.counters.invalid += 1;
          this.init.log?.debug({ err: error, from: message.from }, "capacity record refused");
        }
      },
    );
    this.timer = setInterval(
      () => void this.publish().catch(() => undefined),
      this.init.republishIntervalMs ?? CAPACITY_REPUBLISH_INTERVAL_MS,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Our latest signed record. */
  record(): SignedCapacityRecord | undefined {
    return this.current;
  }

  /**
   * Signs and publishes the current advert. `seq` follows the wall clock (and always grows), so a restarted node's
   * records still supersede the ones it published before. Returns the record (undefined when there is no advert).
   */
  async publish(advert = this.init.advert()): Promise<SignedCapacityRecord | undefined> {
    if (advert === undefined) return undefined;
    const issuedAtMs = Date.now();
    this.lastSeq = Math.max(this.lastSeq + 1, issuedAtMs);
    const record = await signCapacityRecord(this.init.privateKey, {
      ...(this.init.operator === undefined ? {} : { operator: this.init.operator }),
      seq: this.lastSeq,
      issuedAtMs,
      claimed: advert.claimed,
      aggregatorOptIn: advert.aggregatorOptIn,
      lowPower: advert.lowPower,
      receipts: [...advert.receipts].sort((a, b) => b.atMs - a.atMs).slice(0, MAX_RECEIPTS),
      ...(advert.dataFingerprint === undefined ? {} : { dataFingerprint: advert.dataFingerprint }),
    });
    this.current = record;
    await this.init.gossip.publish(CAPACITY_TOPIC, record);
    this.counters.published += 1;
    return record;
  }
}
