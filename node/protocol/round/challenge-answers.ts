/**
 * The aggregator's answers to challenges (docs/protocol.md §5): each pending challenge answered once, in the
 * background, with a zk proof of the chunk (a flat round) or of the (chunk, link) cell (a chained round,
 * link-answers.ts). Proofs take the process's proving slot one at a time, earliest answer deadline first
 * (proofs/proof-queue.ts: the contract gives each challenge its own window on that assumption). Every proof's
 * time counts in this node's proving budget.
 */
import type { Hex } from "viem";

import { encodeChunkProofCalldata, proofQueue, proveChunk } from "../../proofs/index.ts";
import type { RoundContext } from "./context.ts";
import { proveCell } from "./link-answers.ts";
import type { ProvingBudget } from "./proving-budget.ts";
import type { AggregationRecord, AggregatorWork } from "./round-work.ts";

export class ChallengeAnswers {
  private readonly ctx: RoundContext;
  private readonly components: { readonly provingBudget: ProvingBudget };

  constructor(ctx: RoundContext, components: { readonly provingBudget: ProvingBudget }) {
    this.ctx = ctx;
    this.components = components;
  }

  /** CHALLENGING: answer each pending challenge once, with a zk proof of the chunk (in the background). */
  answerChallenges(
    roundId: bigint,
    challenges: readonly { chunk: number; answerDeadline: bigint }[],
    work: AggregatorWork,
  ): void {
    if (challenges.length > 0) work.challengesSeenAt ??= Date.now();
    // Nothing to prove from yet (a restarted aggregator still rebuilding): a chunk marked answering now would
    // never be answered once the rebuild is done.
    if (!this.ctx.adversary.answersChallenges() || work.aggregation === undefined) return;
    for (const { chunk, answerDeadline } of challenges) {
      if (work.answering.has(chunk)) continue;
      work.answering.add(chunk);
      work.answersInFlight += 1;
      void proofQueue
        .run(() => this.answer(roundId, chunk, work), { deadline: answerDeadline, signal: this.ctx.signal })
        .catch((error: unknown) => {
          work.answering.delete(chunk);
          this.ctx.log.warn({ err: error, roundId, chunk }, "answering a challenge failed");
        })
        .finally(() => {
          work.answersInFlight -= 1;
        });
    }
  }

  private async answer(roundId: bigint, chunk: number, work: AggregatorWork): Promise<void> {
    const aggregation = work.aggregation;
    if (aggregation === undefined) return;
    const started = performance.now();
    const { calldata, proveMs } = await this.prove(roundId, chunk, aggregation);
    const ms = performance.now() - started;
    work.proofMs = (work.proofMs ?? 0) + ms;
    this.ctx.options.events?.onProof?.(roundId, chunk, ms);
    const fits = this.components.provingBudget.record(proveMs);
    const sent = await this.ctx.chain.trySend("answerChallenge", [roundId, BigInt(chunk), calldata]);
    if (!sent.sent) {
      // Not landed (an outage longer than the retry budget, a lost race): the next tick answers again while
      // the chain still lists the challenge as pending; an answer that did land is no longer pending. The reason
      // at warn: 16 of 63 leaf rounds at 1,000 nodes (session 23) failed on answers refused, why only at debug.
      work.answering.delete(chunk);
      this.ctx.log.warn(
        { roundId, chunk, reason: sent.reason, proofMs: Math.round(ms) },
        "challenge answer not accepted; retrying while it is pending",
      );
      return;
    }
    this.ctx.log.info({ roundId, chunk, proofMs: Math.round(ms) }, "challenge answered with a zk proof");
    if (!fits)
      this.ctx.log.warn(
        {
          roundId,
          chunk,
          proofMs: Math.round(proveMs),
          neededMs: this.components.provingBudget.neededMs(),
        },
        "this proof took longer than the task's answer window allows: a slower one would be slashed",
      );
  }

  /** The answer bytes for a challenged chunk (flat round) or (chunk, link) cell (chained round). */
  private async prove(
    roundId: bigint,
    chunkOrCell: number,
    aggregation: AggregationRecord,
  ): Promise<{ calldata: Hex; proveMs: number }> {
    if (aggregation.links !== undefined)
      return proveCell(aggregation.links, chunkOrCell, aggregation.aggregateCommitment);
    const witness = this.ctx.adversary.proofWitness(aggregation.encoded, aggregation.aggregate);
    const proof = await proveChunk(roundId, chunkOrCell, [...witness], aggregation.weights, {
      signal: this.ctx.signal,
    });
    return {
      calldata: encodeChunkProofCalldata(proof, aggregation.aggregateCommitment),
      proveMs: proof.proveMs,
    };
  }
}
