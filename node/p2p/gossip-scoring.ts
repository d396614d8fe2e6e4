/**
 * Gossipsub peer scoring for vAIn's control topics (docs/protocol.md §6). vAIn topics carry little traffic
 * (announcements, commitments, capacity records), so silence is never punished (no mesh-delivery deficit
 * penalty); what costs score is what only a misbehaving peer does: invalid messages (quadratic), broken IWANT
 * promises and other behaviour penalties (quadratic). Time in mesh and first deliveries earn a little, capped,
 * so a long-standing honest peer survives a rare invalid message. Below the graylist threshold gossipsub
 * ignores the peer's RPCs and the mesh evicts it (abuse.ts, `gossip-graylisted`).
 */
import type { GossipSub } from "@libp2p/gossipsub";
import { createTopicScoreParams } from "@libp2p/gossipsub/score";
import type { TopicScoreParams } from "@libp2p/gossipsub/score";

/** Score of a peer that is not admitted: below the graylist threshold, so its RPCs are dropped. */
export const UNADMITTED_APP_SCORE = -1_000;

export const SCORE_THRESHOLDS = {
  /** Below this we stop gossiping IHAVE to and accepting IHAVE from the peer. */
  gossipThreshold: -500,
  /** Below this our own messages are not published to the peer. */
  publishThreshold: -800,
  /** Below this the peer's RPCs are ignored entirely (and the node evicts it). */
  graylistThreshold: -900,
} as const;

/**
 * Per-topic scoring. Invalid deliveries weigh -10 per message squared: 10 invalid messages (-1,000) graylist a
 * peer; they decay by 1% per second (half-life ~70 s), so a single slip costs -10 and is gone in minutes.
 * Positive terms: +0.01 per second in mesh up to +3, +0.5 per first delivery up to +10.
 */
export const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 20,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.99,
} as const;

/**
 * How long a peer has to deliver a message we asked it for (IWANT) before the promise counts as broken (ms;
 * gossipsub's default 3 s). A promise is kept only once we validated the message, and our validator may wait on a
 * chain read for an author that is not our peer (gossip.ts: at most `DISTANT_AUTHOR_LOOKUP_MS`, a loaded or
 * unreachable chain answers in seconds): a promise "broken" because we validated late is our doing, not the peer's.
 */
export const IWANT_FOLLOWUP_MS = 10_000;

/**
 * Peer-level behaviour penalty (broken IWANT promises, GRAFT during backoff, excess IHAVE): -10 per penalty
 * squared above 6 penalties, decaying 1% per second.
 */
export const BEHAVIOUR_SCORE = {
  behaviourPenaltyWeight: -10,
  behaviourPenaltyThreshold: 6,
  behaviourPenaltyDecay: 0.99,
} as const;

/**
 * The scoring internals of the gossipsub implementation (its `score` field, public on the class but not on the
 * exported interface): topic parameters can be added after start, and a peer's score read.
 */
interface ScoringInternals {
  readonly score?: {
    readonly params: {
      readonly topics: Record<string, TopicScoreParams>;
      readonly behaviourPenaltyWeight: number;
      readonly behaviourPenaltyThreshold: number;
    };
    readonly peerStats: ReadonlyMap<
      string,
      {
        readonly behaviourPenalty: number;
        readonly topics: Record<string, { readonly invalidMessageDeliveries: number }>;
      }
    >;
    score(peerId: string): number;
  };
}

/** What a peer's gossip score is made of, for the eviction rule and its log line. */
export interface GossipScoreParts {
  readonly total: number;
  /** Invalid messages (rejected by our validators: provably the peer's fault), over every topic. */
  readonly invalid: number;
  /** Behaviour penalties (broken IWANT promises, GRAFT during backoff): our own stall or its restart can cause them. */
  readonly behaviour: number;
}

/** Enables topic scoring for `topic` on a running gossipsub (topics are subscribed after start). */
export function scoreTopic(pubsub: GossipSub, topic: string): void {
  const topics = (pubsub as unknown as ScoringInternals).score?.params.topics;
  if (topics !== undefined && topics[topic] === undefined)
    topics[topic] = createTopicScoreParams(TOPIC_SCORE);
}

/** `peerId`'s gossipsub score (0 when scoring is unavailable). */
export function gossipScore(pubsub: GossipSub, peerId: string): number {
  return (pubsub as unknown as ScoringInternals).score?.score(peerId) ?? 0;
}

/**
 * `peerId`'s gossip score and its invalid-message and behaviour parts. The invalid part is what our validators
 * rejected, which is only ever the sender's fault (gossip.ts); the behaviour part is not: an IWANT promise
 * "breaks" when we read the answer late (a stalled event loop), a GRAFT "during backoff" comes from a peer that
 * restarted and forgot our PRUNE.
 */
export function gossipScoreParts(pubsub: GossipSub, peerId: string): GossipScoreParts {
  const score = (pubsub as unknown as ScoringInternals).score;
  const stats = score?.peerStats.get(peerId);
  if (score === undefined || stats === undefined)
    return { total: gossipScore(pubsub, peerId), invalid: 0, behaviour: 0 };
  let invalid = 0;
  for (const [topic, topicStats] of Object.entries(stats.topics)) {
    const params = score.params.topics[topic];
    if (params === undefined) continue;
    invalid +=
      params.topicWeight * params.invalidMessageDeliveriesWeight * topicStats.invalidMessageDeliveries ** 2;
  }
  const excess = Math.max(0, stats.behaviourPenalty - score.params.behaviourPenaltyThreshold);
  return {
    total: score.score(peerId),
    invalid,
    behaviour: score.params.behaviourPenaltyWeight * excess ** 2,
  };
}
