/**
 * Watches the chain (directly, not through the proxy the soak cuts) for what the soak judges: every round's
 * phase over time, rounds that overstay a phase (stuck), who was selected to aggregate, and every slash.
 * A round is stuck when it is still in a phase `STUCK_MARGIN_S` of chain time after that phase's deadline: any
 * node may then move it on (keeper duties), so only a network that stopped acting leaves it there.
 */
import { createPublicClient, http } from "viem";
import type { Address, PublicClient } from "viem";

import { RoundState, stakeRegistryAbi, trainingRoundsAbi } from "../../../node/chain/contracts.ts";
import type { Deployment } from "../../../node/chain/deployment.ts";

/** Chain seconds past a phase's deadline after which a round counts as stuck (keeper back-off is a few s). */
export const STUCK_MARGIN_S = 60;

export type Phase = "open" | "aggregating" | "challenging" | "finalized" | "failed";

const PHASES: Readonly<Record<number, Phase>> = {
  [RoundState.Open]: "open",
  [RoundState.Aggregating]: "aggregating",
  [RoundState.Challenging]: "challenging",
  [RoundState.Finalized]: "finalized",
  [RoundState.Failed]: "failed",
};

export interface RoundTrack {
  readonly id: bigint;
  phase: Phase;
  /** Wall-clock ms when the observer first saw the round and when it reached a final state. */
  readonly seenAt: number;
  closedAt?: number;
  aggregator?: Address;
  /**
   * Every aggregator the round had (the drawn one, then a backup that took over), each with the wall-clock ms the
   * observer first saw it: a slash is judged against the moment its duty was drawn.
   */
  readonly draws: Array<{ readonly aggregator: string; readonly at: number }>;
  /** Trainers that committed (0 on a round that closed with nobody committed: no work done or lost). */
  trainers: number;
  /** Their operators (lower case). */
  committers: string[];
  /** Posted weights, in the order of `committers` (empty until an aggregate is posted). */
  weights: bigint[];
  /** Largest chain-time overstay past the current phase's deadline (s). */
  maxOverdueS: number;
  stuck: boolean;
  readonly phaseAt: Partial<Record<Phase, number>>;
}

export interface SlashRecord {
  readonly operator: Address;
  readonly amountWei: bigint;
  readonly reason: number;
  readonly block: bigint;
  readonly at: number;
}

export class ChainObserver {
  readonly rounds = new Map<bigint, RoundTrack>();
  readonly slashes: SlashRecord[] = [];
  private readonly client: PublicClient;
  private readonly roundsAddress: Address;
  private readonly registry: Address;
  private nextSlashBlock: bigint;
  private listeners: Array<(round: RoundTrack) => void> = [];

  constructor(rpcUrl: string, deployment: Deployment) {
    this.client = createPublicClient({ transport: http(rpcUrl) });
    this.roundsAddress = deployment.contracts.TrainingRounds.address as Address;
    this.registry = deployment.contracts.StakeRegistry.address as Address;
    this.nextSlashBlock = BigInt(deployment.deploymentBlock);
  }

  /** Called on every phase change a poll sees. */
  onChange(listener: (round: RoundTrack) => void): void {
    this.listeners.push(listener);
  }

  get closed(): RoundTrack[] {
    return [...this.rounds.values()].filter((r) => r.phase === "finalized" || r.phase === "failed");
  }

  latest(): RoundTrack | undefined {
    let last: RoundTrack | undefined;
    for (const round of this.rounds.values()) if (last === undefined || round.id > last.id) last = round;
    return last;
  }

  /** An operator's active stake and the registry's minimum (wei), read directly (not through the cut proxy). */
  async stakeOf(operator: Address): Promise<{ active: bigint; min: bigint }> {
    const [active, min] = await Promise.all([
      this.client.readContract({
        address: this.registry,
        abi: stakeRegistryAbi,
        functionName: "activeStake",
        args: [operator],
      }),
      this.client.readContract({ address: this.registry, abi: stakeRegistryAbi, functionName: "minStake" }),
    ]);
    return { active, min };
  }

  async poll(): Promise<void> {
    const block = await this.client.getBlock();
    const now = Number(block.timestamp);
    const [, count] = await this.client.readContract({
      address: this.roundsAddress,
      abi: trainingRoundsAbi,
      functionName: "counts",
    });
    for (let id = 1n; id <= count; id++) {
      const known = this.rounds.get(id);
      if (known?.closedAt !== undefined) continue;
      const round = await this.client.readContract({
        address: this.roundsAddress,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [id],
      });
      const phase = PHASES[round.state] ?? "open";
      const track: RoundTrack = known ?? {
        id,
        phase,
        seenAt: Date.now(),
        draws: [],
        trainers: 0,
        committers: [],
        weights: [],
        maxOverdueS: 0,
        stuck: false,
        phaseAt: { [phase]: Date.now() },
      };
      this.rounds.set(id, track);
      if (round.aggregator !== "0x0000000000000000000000000000000000000000") {
        track.aggregator = round.aggregator;
        const drawn = round.aggregator.toLowerCase();
        if (track.draws.at(-1)?.aggregator !== drawn) track.draws.push({ aggregator: drawn, at: Date.now() });
      }
      track.trainers = round.trainers.length;
      track.committers = round.trainers.map((t) => t.toLowerCase());
      track.weights = [...round.weights];
      const changed = known === undefined || known.phase !== phase;
      track.phase = phase;
      if (changed) track.phaseAt[phase] ??= Date.now();
      if (phase === "finalized" || phase === "failed") track.closedAt = Date.now();
      else {
        const deadline =
          phase === "open"
            ? round.commitDeadline
            : phase === "aggregating"
              ? round.aggregateDeadline
              : [round.challengeDeadline, round.disputeDeadline, round.lastAnswerDeadline].reduce(
                  (a, b) => (b > a ? b : a),
                  0n,
                );
        const overdue = now - Number(deadline);
        track.maxOverdueS = Math.max(track.maxOverdueS, overdue);
        if (overdue > STUCK_MARGIN_S) track.stuck = true;
      }
      if (changed) for (const listener of this.listeners) listener(track);
    }
    const logs = await this.client.getContractEvents({
      address: this.registry,
      abi: stakeRegistryAbi,
      eventName: "Slashed",
      fromBlock: this.nextSlashBlock,
      toBlock: block.number,
    });
    for (const log of logs) {
      this.slashes.push({
        operator: log.args.operator as Address,
        amountWei: log.args.amount ?? 0n,
        reason: Number(log.args.reason ?? 0),
        block: log.blockNumber,
        at: Date.now(),
      });
    }
    this.nextSlashBlock = block.number + 1n;
  }
}
