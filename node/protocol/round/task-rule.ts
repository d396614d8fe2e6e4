/**
 * The task's aggregation rule as the aggregator runs it: the registry's rule (aggregation/rules, the spec's
 * `aggregation.rule`; by default the guarded mean with trainer trust), one instance per task so its history carries
 * over: trust scored from the revealed updates of the rounds this node aggregated, and from the posted weights of
 * the rounds others aggregated (aggregation/public-outcomes.ts, `foldPastRounds`); the silent memories from every
 * round's revealed updates, whoever aggregated it (`holdRevealed`). Trust only lowers the guard's
 * weights; records of trainers absent for 16 rounds are dropped. It runs in a worker thread
 * (aggregation/rule-worker.ts): screening 254 updates held a 256-node bench's event loop for 47 s.
 */
import { inputGroups } from "../../aggregation/coordinate-groups.ts";
import { OffThreadRule, RuleWorkerError } from "../../aggregation/rule-worker.ts";
import { aggregationRule } from "../../aggregation/rules/index.ts";
import type {
  AggregationContext,
  AggregationResult,
  AggregationRuleOptions,
} from "../../aggregation/rules/types.ts";
import { RoundState } from "../../chain/contracts.ts";
import type { WeightedUpdate } from "../../core/updates.ts";
import { decodeUpdate, densify } from "../../compression/index.ts";
import { decodeFixedPoint, encodeFixedPoint } from "../../proofs/index.ts";
import { createModel } from "../../training/architectures.ts";
import { ASSUMED_BYZANTINE_SHARE, TRUST_FOLD_ROUNDS } from "./context.ts";
import type { RoundContext } from "./context.ts";

export class TaskRule {
  private readonly ctx: RoundContext;
  private instance: OffThreadRule | undefined;
  /** Chain round ids below this were folded into the rule's history (or skipped). */
  private foldedBelow = 0n;
  /** The rule worker's `resets` when its history was last folded: a worker lost since needs it folded afresh. */
  private foldedResets = 0;
  /**
   * Per round another node aggregated, the wire bytes of every update it screened (by trainer index; undefined for
   * one it did not screen), each checked against its trainer's commitment, until `foldPastRounds` folds the round.
   * At most TRUST_FOLD_ROUNDS rounds: a few KB per top-k update.
   */
  private readonly revealed = new Map<bigint, readonly (Uint8Array | undefined)[]>();

  constructor(ctx: RoundContext) {
    this.ctx = ctx;
  }

  /**
   * The task's rule on `updates`, in its worker. A failed worker costs the rule its history, not the round: this
   * round is screened on this thread by a fresh rule (the event loop stalls as it did before the worker, the
   * round posts), and the next one in a fresh worker, after the public outcomes are folded again
   * (`foldPastRounds`, as after a restart). An abort (the node stopping) is passed on.
   */
  async aggregate(
    roundId: bigint | undefined,
    updates: readonly WeightedUpdate[],
    context: AggregationContext,
  ): Promise<AggregationResult> {
    const rule = this.rule(updates.length);
    try {
      return await rule.aggregate(updates, context, this.ctx.signal);
    } catch (error) {
      if (!(error instanceof RuleWorkerError)) throw error;
      this.ctx.log.warn(
        { roundId, err: error },
        "the aggregation rule's worker failed: screening on this thread",
      );
      return aggregationRule(rule.spec.name).create(rule.spec.options).aggregate(updates, context);
    }
  }

  /**
   * The task's rule instance, made at first use: `n` and the assumed Byzantine share only configure rules
   * that need them fixed (the guarded mean sizes its trimming from each round's group), and the groups are the
   * task model's input rows (aggregation/coordinate-groups.ts: the silent-coordinate evidence on top-k updates).
   */
  private rule(n: number): OffThreadRule {
    if (this.instance !== undefined) return this.instance;
    const options: AggregationRuleOptions = {
      n,
      f: Math.floor(n * ASSUMED_BYZANTINE_SHARE),
      groups: inputGroups(createModel(this.ctx.options.spec.model).layout),
    };
    this.instance = new OffThreadRule({ name: this.ctx.options.spec.aggregation.rule, options });
    return this.instance;
  }

  /**
   * Folds into the trust records the posted weights of this task's finalized rounds that another node
   * aggregated, since the last round folded and at most TRUST_FOLD_ROUNDS back: public data, so every node
   * folds them alike, and a trainer distrusted by the previous aggregator is not trusted afresh after a
   * rotation. A round not finalized yet when this runs is skipped.
   */
  async foldPastRounds(roundId: bigint, taskId: bigint): Promise<void> {
    const resets = this.instance?.resets ?? 0;
    if (resets !== this.foldedResets) [this.foldedBelow, this.foldedResets] = [0n, resets];
    let id = roundId - TRUST_FOLD_ROUNDS;
    if (id < this.foldedBelow) id = this.foldedBelow;
    if (id < 1n) id = 1n;
    for (; id < roundId; id++) {
      const past = await this.ctx.chain.readRound(id);
      if (past.taskId !== taskId || past.state !== RoundState.Finalized) continue;
      if (past.aggregator.toLowerCase() === this.ctx.me) continue;
      const updates = revealedUpdates(this.revealed.get(id), past.trainers.length, this.ctx.paramSize);
      this.rule(past.trainers.length).observeOutcome({
        round: Number(id),
        trainers: past.trainers,
        weights: past.weights,
        ...(updates === undefined ? {} : { updates }),
      });
      this.ctx.log.debug(
        { roundId: id, aggregator: past.aggregator, revealed: updates !== undefined },
        "folded a past round into the rule's history",
      );
    }
    for (const held of this.revealed.keys()) if (held < roundId) this.revealed.delete(held);
    if (roundId > this.foldedBelow) this.foldedBelow = roundId;
  }

  /** Whether this node holds the screened updates of `roundId` (`holdRevealed`). */
  holdsRevealed(roundId: bigint): boolean {
    return this.revealed.has(roundId);
  }

  /**
   * Keeps the screened updates of a round another node aggregated (`bytes` by trainer index, each checked against
   * its commitment) for `foldPastRounds`: their silent parts go into the rule's memories as if this node had
   * screened the round (aggregation/rules/guarded-mean-trust.ts), so a rotating aggregator does not reset them.
   */
  holdRevealed(roundId: bigint, bytes: readonly (Uint8Array | undefined)[]): void {
    this.revealed.set(roundId, bytes);
    for (const held of this.revealed.keys())
      if (held < roundId - TRUST_FOLD_ROUNDS || held < this.foldedBelow) this.revealed.delete(held);
  }
}

/**
 * The dense updates of held wire bytes as the aggregator screened them (decoded, through fixed point, as
 * aggregator.ts `acceptUpdate` holds them); undefined when none are held, the count is not the round's, or one does
 * not decode (bytes were checked against their commitment when kept, so that is not expected).
 */
function revealedUpdates(
  held: readonly (Uint8Array | undefined)[] | undefined,
  trainers: number,
  dimension: number,
): (Float32Array | undefined)[] | undefined {
  if (held === undefined || held.length !== trainers) return undefined;
  try {
    return held.map((bytes) => {
      if (bytes === undefined) return undefined;
      const dense = densify(decodeUpdate(bytes, { maxDimension: dimension }));
      if (dense.length !== dimension) throw new RangeError(`dimension ${dense.length}`);
      return decodeFixedPoint(encodeFixedPoint(dense));
    });
  } catch {
    return undefined;
  }
}
