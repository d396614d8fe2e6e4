/**
 * Small signed control messages over gossipsub (round announcements, commitments, heartbeats). Gossipsub
 * signs every message with the author's node key (StrictSign); on top of that each topic has a validator
 * that checks, before anything is forwarded: size, JSON schema, freshness, and that both the author and
 * the peer that relayed it are admitted. Only what is provably the sender's fault is rejected (its gossip
 * score drops); what the receiver could not check (a peer between admission states, the chain unreachable, a
 * message it read late) is ignored without penalty (`check`).
 */
import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { GossipSub, Message } from "@libp2p/gossipsub";
import type { PeerId } from "@libp2p/interface";
import { z } from "zod";

import { ENVELOPE_MAX_SKEW_MS, MAX_GOSSIP_PAYLOAD_BYTES } from "./constants.ts";
import { scoreTopic } from "./gossip-scoring.ts";
import { KeyedRateLimiter } from "./rate-limit.ts";
import type { RateSpec } from "./rate-limit.ts";
import type { AdmissionController } from "./admission/admission.ts";
import type { StakeOracle } from "./admission/stake-oracle.ts";

/**
 * Messages one author may have validated by us: control traffic is a few messages per round per node, so a
 * burst of 60 and 10 per second is generous; beyond it messages are ignored (not forwarded, never scored), and
 * an author sending us itself more than twice this budget is reported as flooding (abuse.ts).
 */
export const GOSSIP_PER_AUTHOR: RateSpec = { burst: 60, intervalMs: 100 };

/**
 * How long the validator waits for the chain's answer on an author that is not our peer (ms); past it the message
 * is ignored (the answer, when it comes, is cached for the author's next message). Below gossipsub's IWANT
 * follow-up (`IWANT_FOLLOWUP_MS`), so our slow lookup never counts as the relayer's broken promise.
 */
export const DISTANT_AUTHOR_LOOKUP_MS = 5_000;

/** What an author did wrong on gossip, for abuse accounting. */
export type GossipViolation = "gossip-invalid" | "gossip-flood";

/** The relayer is admitted but the author is not one of our peers: ask the chain. */
const AUTHOR_UNKNOWN = Symbol("author-unknown");
/** The envelope's timestamp is ahead of our clock past the skew window: the author's fault if it sent it itself. */
const FUTURE = Symbol("future");
type Verdict = TopicValidatorResult | typeof AUTHOR_UNKNOWN | typeof FUTURE;

/** The envelope every gossip message carries around its topic-specific body. */
export const wireSchema = z.object({
  v: z.literal(1),
  ts: z.number().int().nonnegative(),
  body: z.unknown(),
});

export interface GossipMessage<T> {
  /** Author's peer ID (the gossipsub signature proves it). */
  readonly from: string;
  readonly topic: string;
  readonly timestampMs: number;
  readonly body: T;
}

interface TopicEntry {
  readonly schema: z.ZodTypeAny;
  readonly handlers: Set<(message: GossipMessage<unknown>) => void | Promise<void>>;
}

export interface GossipCounters {
  published: number;
  delivered: number;
  rejected: number;
  ignored: number;
}

export class MeshGossip {
  private readonly topics = new Map<string, TopicEntry>();
  private readonly parsed = new WeakMap<Uint8Array, GossipMessage<unknown>>();
  readonly counters: GossipCounters = { published: 0, delivered: 0, rejected: 0, ignored: 0 };

  private readonly pubsub: GossipSub;
  private readonly admission: AdmissionController;
  private readonly selfId: string;
  private readonly maxSkewMs: number;

  private readonly oracle: StakeOracle;
  private readonly perAuthor = new KeyedRateLimiter(GOSSIP_PER_AUTHOR);
  /** A second budget past the first: only messages beyond both are reported as flooding (abuse.ts). */
  private readonly floodTolerance = new KeyedRateLimiter(GOSSIP_PER_AUTHOR);
  private readonly onViolation: ((peerId: string, kind: GossipViolation) => void) | undefined;

  constructor(
    pubsub: GossipSub,
    admission: AdmissionController,
    oracle: StakeOracle,
    selfId: string,
    maxSkewMs = ENVELOPE_MAX_SKEW_MS,
    onViolation?: (peerId: string, kind: GossipViolation) => void,
  ) {
    this.onViolation = onViolation;
    this.oracle = oracle;
    this.pubsub = pubsub;
    this.admission = admission;
    this.selfId = selfId;
    this.maxSkewMs = maxSkewMs;
    pubsub.addEventListener("message", this.onMessage);
  }

  /** Subscribes to `topic`; `handler` sees only validated messages whose body matches `schema`. */
  subscribe<S extends z.ZodTypeAny>(
    topic: string,
    schema: S,
    handler: (message: GossipMessage<z.output<S>>) => void | Promise<void>,
  ): () => void {
    let entry = this.topics.get(topic);
    if (entry === undefined) {
      entry = { schema, handlers: new Set() };
      this.topics.set(topic, entry);
      this.pubsub.topicValidators.set(topic, (peer, message) => this.validate(peer, message));
      scoreTopic(this.pubsub, topic);
      this.pubsub.subscribe(topic);
    }
    const typed = handler as (message: GossipMessage<unknown>) => void | Promise<void>;
    entry.handlers.add(typed);
    return () => {
      const current = this.topics.get(topic);
      if (current === undefined) return;
      current.handlers.delete(typed);
      if (current.handlers.size === 0) {
        this.topics.delete(topic);
        this.pubsub.topicValidators.delete(topic);
        this.pubsub.unsubscribe(topic);
      }
    };
  }

  /** Publishes `body` on `topic`; returns how many peers it was sent to (0 is not an error: we may be alone). */
  async publish(topic: string, body: unknown): Promise<number> {
    const data = new TextEncoder().encode(JSON.stringify({ v: 1, ts: Date.now(), body }));
    if (data.length > MAX_GOSSIP_PAYLOAD_BYTES)
      throw new RangeError(
        `gossip message of ${data.length} B exceeds ${MAX_GOSSIP_PAYLOAD_BYTES} B: use a stream`,
      );
    const result = await this.pubsub.publish(topic, data);
    this.counters.published += 1;
    return result.recipients.length;
  }

  stop(): void {
    this.pubsub.removeEventListener("message", this.onMessage);
    for (const topic of this.topics.keys()) {
      this.pubsub.topicValidators.delete(topic);
      this.pubsub.unsubscribe(topic);
    }
    this.topics.clear();
  }

  private async validate(propagationSource: PeerId, message: Message): Promise<TopicValidatorResult> {
    let verdict: Verdict = this.check(propagationSource, message);
    if (verdict === AUTHOR_UNKNOWN) verdict = await this.checkDistantAuthor(propagationSource, message);
    // An author sending its own messages to us answers for what only it can cause (a post-dated timestamp);
    // a relayed copy of such a message is only ignored: the relayer did no wrong.
    const direct = message.type === "signed" && message.from.equals(propagationSource);
    if (verdict === FUTURE) verdict = direct ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    if (verdict === TopicValidatorResult.Accept && message.type === "signed") {
      const author = message.from.toString();
      if (!this.perAuthor.take(author)) {
        // Over the budget is dropped, never scored: a restarted peer re-announces what it restored in one
        // burst. Only an author far past it (a second budget's worth) is reported as flooding.
        if (direct && !this.floodTolerance.take(author))
          this.onViolation?.(propagationSource.toString(), "gossip-flood");
        verdict = TopicValidatorResult.Ignore;
      }
    }
    if (verdict === TopicValidatorResult.Reject && direct)
      this.onViolation?.(propagationSource.toString(), "gossip-invalid");
    if (verdict === TopicValidatorResult.Reject) this.counters.rejected += 1;
    if (verdict === TopicValidatorResult.Ignore) this.counters.ignored += 1;
    return verdict;
  }

  /**
   * An author we are not connected to (most of a large mesh) is checked on chain instead: its peer ID must be
   * bound to an active operator. The oracle caches answers and rate-limits lookups. An author that is not
   * active is ignored, not rejected: the relayer reads the chain a poll interval earlier or later than we do
   * (a slash, an unstake), so the author's standing is not its fault.
   */
  private async checkDistantAuthor(
    propagationSource: PeerId,
    message: Message,
  ): Promise<TopicValidatorResult> {
    if (message.type !== "signed") return TopicValidatorResult.Reject;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), DISTANT_AUTHOR_LOOKUP_MS);
        timer.unref();
      });
      const standing = await Promise.race([this.oracle.standing(message.from.toString()), late]);
      if (standing === undefined || !standing.active) return TopicValidatorResult.Ignore;
    } catch {
      return TopicValidatorResult.Ignore;
    } finally {
      clearTimeout(timer);
    }
    // The relayer is checked again (not the author, who is not our peer): it may have left meanwhile.
    const verdict = this.check(propagationSource, message, true);
    if (verdict === AUTHOR_UNKNOWN || verdict === FUTURE) return TopicValidatorResult.Ignore;
    return verdict;
  }

  /**
   * The checks of one message. Reject (the sender's gossip score drops) only what is provably the sender's
   * fault, from the bytes it signed or relayed: unsigned, oversized, undecodable, off-schema. What we could not
   * check, or what our own state explains, is ignored without penalty (docs/protocol.md §6): a relayer whose
   * admission is not settled here (a peer restarting, an admission just ended), a topic we just left, and a
   * message older than the skew window (we may have read it late: a stalled event loop, a frozen process).
   */
  private check(propagationSource: PeerId, message: Message, authorChecked = false): Verdict {
    const source = propagationSource.toString();
    // Gossipsub already drops the RPCs of a peer that is neither admitted nor pending (its application score
    // is below the graylist threshold); one that gets here is between states, which is no fault of its own.
    if (source !== this.selfId && !this.admission.isAdmitted(source)) return TopicValidatorResult.Ignore;
    if (message.type !== "signed") return TopicValidatorResult.Reject;
    const from = message.from.toString();
    if (!authorChecked && from !== this.selfId && !this.admission.isAdmitted(from)) return AUTHOR_UNKNOWN;
    const entry = this.topics.get(message.topic);
    if (entry === undefined) return TopicValidatorResult.Ignore;
    if (message.data.length > MAX_GOSSIP_PAYLOAD_BYTES) return TopicValidatorResult.Reject;
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(message.data));
    } catch {
      return TopicValidatorResult.Reject;
    }
    const wire = wireSchema.safeParse(raw);
    if (!wire.success) return TopicValidatorResult.Reject;
    const ageMs = Date.now() - wire.data.ts;
    if (ageMs > this.maxSkewMs) return TopicValidatorResult.Ignore;
    if (-ageMs > this.maxSkewMs) return FUTURE;
    const body = entry.schema.safeParse(wire.data.body);
    if (!body.success) return TopicValidatorResult.Reject;
    this.parsed.set(message.data, { from, topic: message.topic, timestampMs: wire.data.ts, body: body.data });
    return TopicValidatorResult.Accept;
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail;
    const parsed = this.parsed.get(message.data);
    const entry = this.topics.get(message.topic);
    if (parsed === undefined || entry === undefined) return;
    this.counters.delivered += 1;
    for (const handler of entry.handlers) {
      try {
        void Promise.resolve(handler(parsed)).catch(() => undefined);
      } catch {
        // Handlers own their errors; gossip delivery continues.
      }
    }
  };
}
