/**
 * Which admitted peers whose gossip score fell below the graylist threshold are evicted for abuse. Only those whose
 * invalid messages alone put them there: our validators reject only what is provably the sender's fault (gossip.ts).
 * Behaviour penalties are not enough: an IWANT promise "breaks" when we read or validate the answer late (our own
 * stall, a slow chain lookup) and a GRAFT "in backoff" comes from a peer that restarted and forgot our PRUNE;
 * gossipsub already ignores such a peer while they last, and they decay. Session 16's soak evicted every honest
 * peer of its long-lived node on the total score (issue #25). Every graylisting is told once (the node logs it), the
 * eviction's reason carries the score's parts.
 */
import type { GossipSub } from "@libp2p/gossipsub";

import type { AbuseLedger } from "./abuse.ts";
import { gossipScoreParts, SCORE_THRESHOLDS } from "./gossip-scoring.ts";
import type { GossipScoreParts } from "./gossip-scoring.ts";

export type GraylistListener = (peerId: string, parts: GossipScoreParts, evicted: boolean) => void;

export class GraylistRule {
  /** Peers below the threshold at the last check (an episode is told once). */
  private readonly below = new Set<string>();
  private readonly abuse: AbuseLedger;
  private readonly listener: GraylistListener | undefined;

  constructor(abuse: AbuseLedger, listener?: GraylistListener) {
    this.abuse = abuse;
    this.listener = listener;
  }

  /** Checks `peers` (admitted peer IDs) once: maintenance calls it every interval. */
  apply(pubsub: GossipSub, peers: readonly string[]): void {
    const current = new Set(peers);
    for (const peerId of this.below) if (!current.has(peerId)) this.below.delete(peerId);
    for (const peerId of peers) {
      const parts = gossipScoreParts(pubsub, peerId);
      if (parts.total >= SCORE_THRESHOLDS.graylistThreshold) {
        this.below.delete(peerId);
        continue;
      }
      const evict = parts.invalid < SCORE_THRESHOLDS.graylistThreshold;
      if (!this.below.has(peerId) || evict) this.listener?.(peerId, parts, evict);
      this.below.add(peerId);
      if (evict)
        this.abuse.report(
          peerId,
          "gossip-graylisted",
          `score ${Math.round(parts.total)}: invalid messages ${Math.round(parts.invalid)}, behaviour ${Math.round(parts.behaviour)}`,
        );
    }
  }
}

/** The node's log line for a graylisting: fields and message. */
export function graylistLogLine(
  peerId: string,
  parts: GossipScoreParts,
  evicted: boolean,
): [Record<string, unknown>, string] {
  const fields = {
    peerId,
    score: Math.round(parts.total),
    invalid: Math.round(parts.invalid),
    behaviour: Math.round(parts.behaviour),
    evicted,
  };
  return [
    fields,
    evicted
      ? "peer's gossip score is below the graylist threshold from invalid messages: evicted"
      : "peer's gossip score is below the graylist threshold from behaviour penalties (broken IWANT promises, GRAFTs in backoff): gossip ignores it while they decay; not evicted",
  ];
}
