/**
 * A node collects what the round contract credits it, so a watcher never runs out of bond money (issue #18):
 * once per closed round it reclaims the bonds of its own challenges left pending when their round failed
 * through another chunk (`reclaimBond`; anyone may call it, nobody else has a reason to), then transfers
 * everything credited to it (`claim`: round rewards, bonds of challenges that failed the aggregator, reporter
 * shares). A round above the contract's weights array pays its trainers by claim instead: the node claims its
 * share of each closed one it kept (weight-claims.ts). A bond comes back as a credit, not to the wallet, and the next challenge is paid from the wallet.
 */
import { ChallengeStatus, RoundState, trainingRoundsAbi } from "../../chain/contracts.ts";
import type { RoundContext } from "./context.ts";
import type { RoundWorkStore } from "./round-work.ts";
import { claimShare } from "./weight-claims.ts";

export class Claims {
  private readonly ctx: RoundContext;
  private readonly work: RoundWorkStore;
  /** The task's round count and whether it had an active round, when this node last collected. */
  private seen = -1n;
  private running = false;

  constructor(ctx: RoundContext, work: RoundWorkStore) {
    this.ctx = ctx;
    this.work = work;
  }

  /**
   * Collects once each time a round of the task closed: when a new round opened (`roundCount` grew) or the
   * active one closed (`activeRound` 0). In the background; a failure is retried at the next close.
   */
  onTask(task: { readonly roundCount: bigint; readonly activeRound: bigint }): void {
    const key = task.roundCount * 2n + (task.activeRound === 0n ? 1n : 0n);
    if (key <= this.seen || this.running) return;
    this.seen = key;
    this.running = true;
    void this.collect()
      .catch((error: unknown) => this.ctx.log.debug({ err: error }, "collecting credits failed"))
      .finally(() => (this.running = false));
  }

  /** Reclaims this node's stranded bonds in the rounds it keeps, then claims its credit if any. */
  async collect(): Promise<void> {
    const { chain, options, me } = this.ctx;
    for (const [roundId, work] of this.work.kept()) {
      if (work.challenged.size === 0) continue;
      const round = await chain.readRound(roundId);
      if (round.state !== RoundState.Failed) continue;
      for (const chunk of work.challenged) {
        const challenge = await options.publicClient.readContract({
          address: options.contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "getChallenge",
          args: [roundId, BigInt(chunk)],
        });
        if (challenge.status !== ChallengeStatus.Pending || challenge.challenger.toLowerCase() !== me)
          continue;
        if (await chain.sendIfValid("reclaimBond", [roundId, BigInt(chunk)]))
          this.ctx.log.info(
            { roundId, chunk, bond: challenge.bond.toString() },
            "reclaimed a challenge bond",
          );
      }
    }
    // A large round's trainers claim their shares against its weight tree (weight-claims.ts); paid at once.
    for (const [roundId] of this.work.kept()) {
      const round = await chain.readRound(roundId);
      if (round.state === RoundState.Finalized || round.state === RoundState.Failed)
        await claimShare(this.ctx, roundId, round);
    }
    const owed = await options.publicClient.readContract({
      address: options.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "claimable",
      args: [options.wallet.account.address],
    });
    if (owed > 0n && (await chain.sendIfValid("claim", [])))
      this.ctx.log.info({ amountWei: owed.toString() }, "claimed round rewards and returned bonds");
  }
}
