/**
 * Per-operator reputation from verified behaviour. Each operator carries decaying pseudo-counts of good and bad
 * evidence; the score is the Beta posterior mean `(good + 1) / (good + bad + 2)` in [0, 1] (newcomer 0.5).
 * Evidence halves every `halfLifeMs`, so recent behaviour dominates and old mistakes fade.
 *
 * Inputs are facts the node has checked itself: robust aggregation's accept/reject decisions with anomaly
 * scores, deadlines missed, on-chain slashes, proof challenges answered or failed, and anomaly events from
 * node/resources/anomaly.ts. Used for peer scoring, aggregator opt-in and work assignment (node/scheduling).
 * Persisted through a `JsonStateFile` so a restart does not forgive anyone.
 */
import { z } from "zod";

import type { AnomalyEvent } from "../resources/anomaly.ts";
import { JsonStateFile } from "../storage/json-state.ts";
import {
  DEFAULT_HALF_LIFE_MS,
  PRIOR_BAD,
  PRIOR_GOOD,
  WEIGHT_ACCEPTED,
  WEIGHT_ANOMALY,
  WEIGHT_ATTESTATION_FAILED,
  WEIGHT_ATTESTATION_OVERCLAIM,
  WEIGHT_ATTESTATION_PASSED,
  WEIGHT_DEADLINE_MISSED,
  WEIGHT_PROOF_ANSWERED,
  WEIGHT_PROOF_FAILED,
  WEIGHT_PROTOCOL_VIOLATIONS,
  WEIGHT_ABUSE_REFUSAL,
  WEIGHT_REJECTED,
  WEIGHT_SLASHED,
} from "./constants.ts";

export type Operator = `0x${string}`;

/** Something an operator did, as verified by this node. `atMs` defaults to the book's clock. */
export type ReputationEvent =
  | {
      readonly kind: "update-accepted";
      readonly operator: Operator;
      /** Robust aggregation's suspicion in [0, 1] (0 = typical); shifts credit from good to bad. */
      readonly anomalyScore?: number;
      readonly atMs?: number;
    }
  | { readonly kind: "update-rejected"; readonly operator: Operator; readonly atMs?: number }
  | {
      readonly kind: "deadline-missed";
      readonly operator: Operator;
      readonly role: "trainer" | "aggregator";
      readonly atMs?: number;
    }
  | { readonly kind: "slashed"; readonly operator: Operator; readonly reason: number; readonly atMs?: number }
  | { readonly kind: "proof-answered"; readonly operator: Operator; readonly atMs?: number }
  | { readonly kind: "proof-failed"; readonly operator: Operator; readonly atMs?: number }
  /** This node attested the operator's capacity (node/p2p/attest/): result right, claim consistent. */
  | { readonly kind: "attestation-passed"; readonly operator: Operator; readonly atMs?: number }
  /** The operator answered an attestation challenge with a wrong result. */
  | { readonly kind: "attestation-failed"; readonly operator: Operator; readonly atMs?: number }
  /** The operator claims more speed than this node measured. */
  | { readonly kind: "attestation-overclaim"; readonly operator: Operator; readonly atMs?: number }
  /**
   * A protocol violation of one of the operator's peers on the mesh (node/p2p/abuse.ts): `severity` is its
   * points as a share of the abuse threshold, so the violations that get a peer refused weigh one
   * `WEIGHT_PROTOCOL_VIOLATIONS` together.
   */
  | {
      readonly kind: "protocol-violation";
      readonly operator: Operator;
      /** In [0, 1]. */
      readonly severity: number;
      readonly atMs?: number;
    }
  /** One of the operator's peers crossed the abuse threshold and was refused (ABUSIVE). */
  | { readonly kind: "abuse-refusal"; readonly operator: Operator; readonly atMs?: number }
  | {
      readonly kind: "anomaly";
      readonly operator: Operator;
      /** In [0, 1]. */
      readonly severity: number;
      readonly metric: string;
      readonly atMs?: number;
    };

export type ReputationEventKind = ReputationEvent["kind"];

const KINDS = [
  "update-accepted",
  "update-rejected",
  "deadline-missed",
  "slashed",
  "proof-answered",
  "proof-failed",
  "anomaly",
  "attestation-passed",
  "attestation-failed",
  "attestation-overclaim",
  "protocol-violation",
  "abuse-refusal",
] as const satisfies readonly ReputationEventKind[];

/** Typed error for malformed events (a bad operator address or a score out of range). */
export class ReputationError extends Error {
  readonly code = "REPUTATION_EVENT_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "ReputationError";
  }
}

// Kinds added later default to 0, so books persisted by older versions still load.
const counterSchema = z.object(
  Object.fromEntries(KINDS.map((k) => [k, z.number().int().nonnegative().default(0)])),
);
const recordSchema = z.object({
  operator: z.string().regex(/^0x[0-9a-f]{40}$/),
  good: z.number().nonnegative(),
  bad: z.number().nonnegative(),
  updatedAtMs: z.number().nonnegative(),
  counts: counterSchema,
});
const stateSchema = z.object({
  version: z.literal(1),
  halfLifeMs: z.number().positive(),
  records: z.array(recordSchema),
});

type Counts = Record<ReputationEventKind, number>;

interface MutableRecord {
  good: number;
  bad: number;
  updatedAtMs: number;
  counts: Counts;
}

/** One operator's standing at a point in time. */
export interface ReputationEntry {
  readonly operator: Operator;
  readonly score: number;
  /** Decayed pseudo-counts of good and bad evidence. */
  readonly good: number;
  readonly bad: number;
  /** Lifetime event counts (not decayed). */
  readonly counts: Readonly<Counts>;
  readonly updatedAtMs: number;
}

export interface ReputationBookOptions {
  readonly halfLifeMs?: number;
  /** Clock (tests and simulations). */
  readonly now?: () => number;
  /** Persist here (atomically, coalesced after each event); none = in memory only. */
  readonly file?: string;
  /** Skip fsync (tests only). */
  readonly noSync?: boolean;
}

const zeroCounts = (): Counts => Object.fromEntries(KINDS.map((k) => [k, 0])) as Counts;

function normalise(operator: string): Operator {
  const lower = operator.toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(lower)) throw new ReputationError(`not an operator address: ${operator}`);
  return lower as Operator;
}

/** Beta posterior mean of "behaves" from decayed evidence. */
export function scoreOf(good: number, bad: number): number {
  return (good + PRIOR_GOOD) / (good + bad + PRIOR_GOOD + PRIOR_BAD);
}

/** Reputation of every operator this node has seen. */
export class ReputationBook {
  readonly halfLifeMs: number;
  private readonly now: () => number;
  private readonly file: JsonStateFile<typeof stateSchema> | undefined;
  private readonly records = new Map<Operator, MutableRecord>();
  private pendingSave: Promise<void> | undefined;
  private dirty = false;

  private constructor(options: ReputationBookOptions) {
    this.halfLifeMs = options.halfLifeMs ?? DEFAULT_HALF_LIFE_MS;
    if (!(this.halfLifeMs > 0)) throw new ReputationError(`halfLifeMs must be > 0, got ${this.halfLifeMs}`);
    this.now = options.now ?? Date.now;
    this.file =
      options.file === undefined
        ? undefined
        : new JsonStateFile(options.file, stateSchema, { noSync: options.noSync });
  }

  /** A book in memory only. */
  static inMemory(options: Omit<ReputationBookOptions, "file"> = {}): ReputationBook {
    return new ReputationBook(options);
  }

  /**
   * Opens a persisted book (empty if the file does not exist yet). A corrupt file is an error
   * (`StorageError` STATE_INVALID), not a fresh start: that would forgive every slash.
   */
  static async open(options: ReputationBookOptions & { readonly file: string }): Promise<ReputationBook> {
    const book = new ReputationBook(options);
    const saved = await book.file!.read();
    for (const r of saved?.records ?? []) {
      book.records.set(r.operator as Operator, {
        good: r.good,
        bad: r.bad,
        updatedAtMs: r.updatedAtMs,
        counts: { ...zeroCounts(), ...(r.counts as Counts) },
      });
    }
    return book;
  }

  /** Brings a record's evidence forward to `atMs` (no-op for events older than the last one). */
  private decay(record: MutableRecord, atMs: number): void {
    if (atMs <= record.updatedAtMs) return;
    const factor = Math.pow(0.5, (atMs - record.updatedAtMs) / this.halfLifeMs);
    record.good *= factor;
    record.bad *= factor;
    record.updatedAtMs = atMs;
  }

  private record(operator: Operator, atMs: number): MutableRecord {
    let r = this.records.get(operator);
    if (r === undefined) {
      r = { good: 0, bad: 0, updatedAtMs: atMs, counts: zeroCounts() };
      this.records.set(operator, r);
    }
    this.decay(r, atMs);
    return r;
  }

  /** Applies one verified event. */
  apply(event: ReputationEvent): void {
    const operator = normalise(event.operator);
    const atMs = event.atMs ?? this.now();
    const r = this.record(operator, atMs);
    switch (event.kind) {
      case "update-accepted": {
        const a = event.anomalyScore ?? 0;
        if (!(a >= 0 && a <= 1)) throw new ReputationError(`anomalyScore must be in [0, 1], got ${a}`);
        r.good += WEIGHT_ACCEPTED * (1 - a);
        r.bad += WEIGHT_ACCEPTED * a;
        break;
      }
      case "update-rejected":
        r.bad += WEIGHT_REJECTED;
        break;
      case "deadline-missed":
        r.bad += WEIGHT_DEADLINE_MISSED;
        break;
      case "slashed":
        r.bad += WEIGHT_SLASHED;
        break;
      case "proof-answered":
        r.good += WEIGHT_PROOF_ANSWERED;
        break;
      case "proof-failed":
        r.bad += WEIGHT_PROOF_FAILED;
        break;
      case "attestation-passed":
        r.good += WEIGHT_ATTESTATION_PASSED;
        break;
      case "attestation-failed":
        r.bad += WEIGHT_ATTESTATION_FAILED;
        break;
      case "attestation-overclaim":
        r.bad += WEIGHT_ATTESTATION_OVERCLAIM;
        break;
      case "protocol-violation":
        if (!(event.severity >= 0 && event.severity <= 1)) {
          throw new ReputationError(`severity must be in [0, 1], got ${event.severity}`);
        }
        r.bad += WEIGHT_PROTOCOL_VIOLATIONS * event.severity;
        break;
      case "abuse-refusal":
        r.bad += WEIGHT_ABUSE_REFUSAL;
        break;
      case "anomaly":
        if (!(event.severity >= 0 && event.severity <= 1)) {
          throw new ReputationError(`severity must be in [0, 1], got ${event.severity}`);
        }
        r.bad += WEIGHT_ANOMALY * event.severity;
        break;
    }
    r.counts[event.kind]++;
    this.scheduleSave();
  }

  /**
   * Applies an anomaly event from node/resources/anomaly.ts. Host events and peers without a known operator are
   * ignored (returns false); `operatorOf` maps a peer ID to its staked operator when the event lacks one.
   */
  applyAnomaly(event: AnomalyEvent, operatorOf?: (peerId: string) => Operator | undefined): boolean {
    if (event.subject.kind !== "peer") return false;
    const operator = event.subject.operator ?? operatorOf?.(event.subject.peerId);
    if (operator === undefined) return false;
    this.apply({
      kind: "anomaly",
      operator,
      severity: event.severity,
      metric: event.metric,
      atMs: event.atMs,
    });
    return true;
  }

  /** Score in [0, 1] at `atMs` (default now); 0.5 for an operator never seen. */
  score(operator: string, atMs: number = this.now()): number {
    const r = this.records.get(normalise(operator));
    if (r === undefined) return scoreOf(0, 0);
    const factor = atMs > r.updatedAtMs ? Math.pow(0.5, (atMs - r.updatedAtMs) / this.halfLifeMs) : 1;
    return scoreOf(r.good * factor, r.bad * factor);
  }

  /** Every known operator's standing, best first. */
  snapshot(atMs: number = this.now()): ReputationEntry[] {
    return [...this.records.entries()]
      .map(([operator, r]) => {
        const factor = atMs > r.updatedAtMs ? Math.pow(0.5, (atMs - r.updatedAtMs) / this.halfLifeMs) : 1;
        const good = r.good * factor;
        const bad = r.bad * factor;
        return {
          operator,
          score: scoreOf(good, bad),
          good,
          bad,
          counts: { ...r.counts },
          updatedAtMs: Math.max(r.updatedAtMs, atMs),
        };
      })
      .sort((a, b) => b.score - a.score || a.operator.localeCompare(b.operator));
  }

  /**
   * The score mapped to gossipsub's application-specific score range: −1 (worst) … +1 (best), 0 for a newcomer,
   * so the p2p layer can weigh it into peer scoring without knowing the model.
   */
  peerScore(operator: string, atMs?: number): number {
    return 2 * this.score(operator, atMs) - 1;
  }

  private scheduleSave(): void {
    if (this.file === undefined) return;
    this.dirty = true;
    if (this.pendingSave !== undefined) return;
    // Coalesce a burst of events (one round's worth) into one atomic write.
    this.pendingSave = Promise.resolve().then(async () => {
      try {
        while (this.dirty) {
          this.dirty = false;
          await this.file!.write(this.serialise());
        }
      } catch (error) {
        this.dirty = true; // retried by the next event or flush()
        throw error;
      } finally {
        this.pendingSave = undefined;
      }
    });
    this.pendingSave.catch(() => undefined);
  }

  private serialise(): z.input<typeof stateSchema> {
    return {
      version: 1,
      halfLifeMs: this.halfLifeMs,
      records: [...this.records.entries()].map(([operator, r]) => ({
        operator,
        good: r.good,
        bad: r.bad,
        updatedAtMs: r.updatedAtMs,
        counts: { ...r.counts },
      })),
    };
  }

  /** Waits until every applied event is on disk (no-op in memory). */
  async flush(): Promise<void> {
    if (this.file === undefined) return;
    if (this.pendingSave !== undefined) await this.pendingSave;
    if (this.dirty) {
      this.dirty = false;
      await this.file.write(this.serialise());
    }
  }
}
