/**
 * Statement watching (docs/protocol.md §5): the chain accepts an answer's statement without checking two
 * parts of it — the trainers' chunk hashes it claims, and that its public input is their Poseidon hash.
 * Every node other than the aggregator checks each answered statement and disputes a false one.
 */
import type { Hex } from "viem";

import { decodeAnswerStatement, encodeTrainerOpening } from "../../proofs/index.ts";
import type { UpdateCommitment } from "../../proofs/index.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { Keeper } from "./keeper.ts";
import { decodeLinkClaims } from "./link-answers.ts";
import type { RoundWork } from "./round-work.ts";
import type { Trainer } from "./trainer.ts";

export interface WatcherComponents {
  readonly keeper: Keeper;
  readonly trainer: Trainer;
}

export class Watcher {
  private readonly ctx: RoundContext;
  private readonly components: WatcherComponents;

  constructor(ctx: RoundContext, components: WatcherComponents) {
    this.ctx = ctx;
    this.components = components;
  }

  /**
   * Checks each answered statement: the Poseidon part by simulating `disputeStatement` (the chain's own
   * Poseidon, in an eth_call, costs no gas), the claimed hashes of every update this node holds (its own;
   * those it received as a sub-aggregator) against their commitments. It disputes a false one: a Poseidon
   * mismatch first trainer first like other duties, a misquoted update at once (only its holders can show
   * it). A true statement is checked once.
   */
  async watchStatements(roundId: bigint, round: RoundView, work: RoundWork, myIndex: number): Promise<void> {
    const { chain } = this.ctx;
    for (const { chunk, statement } of await chain.answeredStatements(roundId)) {
      if (work.statementsChecked.has(chunk)) continue;
      const openings = await this.misquotedOpenings(round, work, myIndex, Number(chunk), statement);
      let evidence: Hex | undefined;
      for (const candidate of ["0x" as Hex, ...openings]) {
        if (await chain.wouldSucceed("disputeStatement", [roundId, chunk, statement, candidate])) {
          evidence = candidate;
          break;
        }
      }
      if (evidence === undefined) {
        work.statementsChecked.add(chunk);
        continue;
      }
      if (evidence === "0x" && !this.components.keeper.dutyDue(work, `dispute-${chunk}`, myIndex)) continue;
      if (await chain.report("disputeStatement", [roundId, chunk, statement, evidence])) {
        work.statementsChecked.add(chunk);
        this.ctx.log.warn(
          { roundId, chunk, evidence: evidence === "0x" ? "poseidon" : "trainer opening" },
          "disputed a false statement: the aggregator is slashed",
        );
      }
    }
  }

  /**
   * Openings (dispute evidence) of the updates this node holds whose chunk hash at `chunk` differs from the
   * one the statement claims for them; weight-0 slots claim nothing.
   */
  private async misquotedOpenings(
    round: RoundView,
    work: RoundWork,
    myIndex: number,
    chunk: number,
    statement: Hex,
  ): Promise<Hex[]> {
    const held: { index: number; commitment: UpdateCommitment }[] = [];
    const own = await this.components.trainer.ownCommitment(work);
    if (myIndex >= 0 && own !== undefined) held.push({ index: myIndex, commitment: own });
    for (const [operator, received] of work.received) {
      const index = round.trainers.findIndex((t) => t.toLowerCase() === operator);
      if (index >= 0 && index !== myIndex) held.push({ index, commitment: received.commitment });
    }
    if (round.numLinks > 0) return linkMisquotes(held, round, chunk, statement);
    const claims = decodeAnswerStatement(statement);
    return held
      .filter(({ index, commitment }) => {
        if ((claims.weights[index] ?? 0) === 0) return false;
        const committed = commitment.chunkHashes[chunk];
        return committed !== undefined && committed !== claims.trainerChunkHashes[index];
      })
      .map(({ index, commitment }) => encodeTrainerOpening(index, commitment, chunk));
  }
}

/**
 * A chained round's answer names a (chunk, link) cell: the openings of held updates of that link whose chunk hash
 * differs from the one the link statement claims (slot k of the link, evidence against the link's commitments).
 */
function linkMisquotes(
  held: readonly { index: number; commitment: UpdateCommitment }[],
  round: RoundView,
  cell: number,
  statement: Hex,
): Hex[] {
  const claims = decodeLinkClaims(statement, round.trainers.length);
  const chunk = Math.floor(cell / round.numLinks);
  return claims.slots.flatMap((slot, k) => {
    const mine = held.find((h) => h.index === slot.trainer);
    if (mine === undefined || slot.weight === 0) return [];
    const committed = mine.commitment.chunkHashes[chunk];
    return committed !== undefined && committed !== slot.chunkHash
      ? [encodeTrainerOpening(k, mine.commitment, chunk)]
      : [];
  });
}
