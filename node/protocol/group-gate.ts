/**
 * Whether this node trains in a group task's round (docs/protocol.md §7): the contract takes an update into a
 * group round only from an operator the seed of the round's group epoch draws into that group at every level, and
 * only if the operator's stake is older than the seed (`NotGroupMember`, `StakeNewerThanGroupSeed`). A node
 * checks the same before it trains, so it neither trains for nothing nor sends a commit that reverts: around an
 * epoch change (a round opened in the epoch before its node regrouped, or after), for an operator staked after
 * the draw, after the creator linked another group (every draw moves), or for a round opened before its task was
 * linked. A missing seed of the current epoch is drawn here, in the background: the draw waits SEED_BLOCK_DELAY
 * blocks between its two transactions (anyone may take either step), and the participant's tick must not.
 */
import type { Address } from "viem";

import type { ChainReadClient, ChainWriteClient } from "../chain/actions/client.ts";
import { drawGroupSeed } from "../chain/actions/draw-group-seed.ts";
import type { DrawGroupSeedParameters } from "../chain/actions/draw-group-seed.ts";
import { groupEpochAt, readGroupSeed, readSeedEligibility } from "../chain/actions/read-group-seed.ts";
import type { GroupSeed } from "../chain/actions/read-group-seed.ts";
import { readChain } from "../chain/actions/write.ts";
import { readDraws } from "../chain/draws.ts";
import { readTaskPath } from "./group-tasks.ts";

/** Where the gate says why it skipped a round (a pino logger). */
export interface GroupGateLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface GroupGateInit {
  readonly client: ChainReadClient;
  /** Draws a missing seed of the current epoch (the node's wallet); without it such a round is skipped. */
  readonly draw?: ChainWriteClient;
  readonly operator: Address;
  /** First block of the task-link events (the deployment's block). */
  readonly fromBlock?: bigint;
  readonly log: GroupGateLog;
  /** How a draw waits (`mine` for test chains that mine only for transactions; `spreadMs`); the defaults else. */
  readonly drawing?: Omit<DrawGroupSeedParameters, "signal">;
}

/** Why a round is skipped for now, asked again next tick (the seed is being drawn, the chain could not be read). */
const NOT_YET = Symbol("not yet");

/** Rounds whose verdict is kept: far more than a node's open rounds at once. */
const VERDICTS_KEPT = 64;

export class GroupGate {
  private readonly init: GroupGateInit;
  /** Per round: why this node does not train in it (undefined: it does). Only settled verdicts are kept. */
  private readonly verdicts = new Map<bigint, string | undefined>();
  /** The current epoch's seed draw in flight: one at a time. */
  private drawing: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(init: GroupGateInit) {
    this.init = init;
  }

  /**
   * Why this node does not train in round `roundId` of group task `taskId` (undefined: it trains). Decided once
   * a round from chain data; a chain that cannot be read skips this tick (and says so) and is asked again.
   */
  async refusal(taskId: bigint, roundId: bigint): Promise<string | undefined> {
    if (this.verdicts.has(roundId)) return this.verdicts.get(roundId);
    let verdict: string | undefined | typeof NOT_YET;
    try {
      verdict = await this.decide(taskId, roundId);
    } catch (error) {
      this.init.log.warn(
        { err: error, roundId: String(roundId) },
        "could not read the round's group draw: not training in it this tick",
      );
      return "the round's group draw could not be read";
    }
    if (verdict === NOT_YET) return "its group epoch's seed is being drawn";
    if (this.verdicts.size >= VERDICTS_KEPT) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(roundId, verdict);
    if (verdict !== undefined)
      this.init.log.info(
        { roundId: String(roundId), taskId: String(taskId) },
        `not training in this round: ${verdict}`,
      );
    return verdict;
  }

  /** Ends a seed draw in flight (with the node). */
  stop(): void {
    this.stopping.abort();
  }

  private async decide(taskId: bigint, roundId: bigint): Promise<string | undefined | typeof NOT_YET> {
    const { client, operator, fromBlock } = this.init;
    const { groupEpoch } = await readChain(client, "read the round's draws", () =>
      readDraws(client.publicClient, client.contracts.rounds, roundId),
    );
    if (groupEpoch === 0n) return "it opened before its task became a group task: it takes nobody's update";
    const seed = await this.seedOf(groupEpoch);
    if (seed === NOT_YET) return NOT_YET;
    if (seed === undefined) return `nobody drew group epoch ${groupEpoch}'s seed, and it is over`;
    if (!(await readSeedEligibility(client, { operator, seed })))
      return (
        `this operator's stake was below the minimum before group epoch ${groupEpoch}'s seed was drawn ` +
        `(block ${seed.seedBlock}): it trains in group rounds from the next epoch on`
      );
    const path = await readTaskPath(client, { taskId, operator, fromBlock, seed: async () => seed });
    if (path.trainedTaskId !== taskId)
      return `group epoch ${groupEpoch}'s seed drew this operator into task ${path.trainedTaskId}, not this one`;
    return undefined;
  }

  /**
   * The epoch's seed; NOT_YET while it is the current epoch's and not fixed (a draw is started in the background
   * if this node may draw and none runs), undefined if it never will be (a past epoch nobody drew).
   */
  private async seedOf(epoch: bigint): Promise<GroupSeed | undefined | typeof NOT_YET> {
    const { client, draw, drawing, log } = this.init;
    const seed = await readGroupSeed(client, { epoch });
    if (seed !== undefined) return seed;
    const latest = await readChain(client, "read the chain time", () => client.publicClient.getBlock());
    if (groupEpochAt(latest.timestamp) !== epoch) return undefined;
    if (draw !== undefined && this.drawing === undefined && !this.stopping.signal.aborted) {
      log.info({ groupEpoch: String(epoch) }, "drawing this group epoch's seed (nobody has)");
      this.drawing = drawGroupSeed(draw, { ...drawing, signal: this.stopping.signal })
        .then(
          () => undefined,
          (error: unknown) => {
            if (!this.stopping.signal.aborted)
              log.warn(
                { err: error, groupEpoch: String(epoch) },
                "could not draw the group seed: trying again",
              );
          },
        )
        .finally(() => (this.drawing = undefined));
    }
    return NOT_YET;
  }
}
