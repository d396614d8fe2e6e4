/**
 * A node in a task hierarchy changes group when the group epoch does (docs/protocol.md §7): each epoch's seed
 * draws every operator's group anew, so the group task this node trains in (and, three levels deep, the middle
 * task above it) may change once a day. This watch reads the chain's epoch every `intervalMs`; when a new epoch's
 * draw moves the node, it waits until the node holds no duty in a round of the tasks it runs (the aggregator or
 * backup of an unfinished round, or a trainer of its trained task's round not yet aggregated: a node stopped then
 * would miss the aggregation, a slashable fault, or its update's delivery), then asks to be run again
 * (`onRegroup`): the node restarts on its new path, resuming its round state from the data directory. Meanwhile
 * the round participant's group gate keeps it out of rounds of its old group (group-gate.ts).
 */
import type { Address } from "viem";

import type { ChainReadClient, ChainWriteClient } from "../chain/actions/client.ts";
import { groupEpochAt } from "../chain/actions/read-group-seed.ts";
import { readChain } from "../chain/actions/write.ts";
import { RoundState, trainingRoundsAbi } from "../chain/contracts.ts";
import { readDraws } from "../chain/draws.ts";
import { currentGroupSeed, readTaskPath } from "../protocol/group-tasks.ts";
import type { GroupLog, TaskPath } from "../protocol/group-tasks.ts";

export interface GroupRegroupInit {
  readonly client: ChainReadClient;
  /** Draws the new epoch's seed if nobody has. */
  readonly draw?: ChainWriteClient;
  readonly operator: Address;
  /** The task the operator configured (any task of the hierarchy). */
  readonly configuredTaskId: bigint;
  /** The path the node runs now. */
  readonly path: TaskPath;
  readonly fromBlock?: bigint;
  readonly log: GroupLog;
  /** How often the epoch is read, ms. */
  readonly intervalMs: number;
  /** Called once, when the node should run again on `next` (it has no duty left on its old path). */
  readonly onRegroup: (next: TaskPath) => void;
}

/**
 * How often a node in a hierarchy reads the group epoch, ms: an epoch lasts a day (GROUP_EPOCH_S), and the group
 * gate keeps the node out of its old group's rounds meanwhile, so a minute late costs at most a round's start.
 */
export const GROUP_EPOCH_CHECK_INTERVAL_MS = 60_000;

/** The tasks a path runs, the trained one first. */
const tasksOf = (path: TaskPath): bigint[] => [path.trainedTaskId, ...path.ancestorTaskIds];

export class GroupRegroup {
  private readonly init: GroupRegroupInit;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Ends a seed draw in flight (it waits for its seed block) when the watch stops. */
  private stopping = new AbortController();
  private checking = false;
  private done = false;
  /** The epoch whose draw the node's path follows. */
  private epoch: bigint | undefined;

  constructor(init: GroupRegroupInit) {
    this.init = init;
    this.epoch = init.path.seed?.epoch;
  }

  start(): void {
    // Flat tasks too: a node whose start could not read or draw its groups runs the configured task, and this
    // watch is what moves it into its group once the chain answers (a flat task costs a block read a minute).
    if (this.timer !== undefined) return;
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.timer = setInterval(() => void this.check(), this.init.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort();
  }

  /** One look at the chain: the epoch, the new draw, and whether the node is free to move. */
  async check(): Promise<void> {
    if (this.checking || this.done) return;
    this.checking = true;
    try {
      const { client, log } = this.init;
      const latest = await readChain(client, "read the chain time", () => client.publicClient.getBlock());
      const epoch = groupEpochAt(latest.timestamp);
      if (epoch === this.epoch) return;
      // Read, not `trainingTaskOf`: a chain that cannot be read (or a seed that cannot be drawn) throws, and the
      // next check asks again, rather than looking like a flat task.
      const next = await readTaskPath(client, {
        taskId: this.init.configuredTaskId,
        operator: this.init.operator,
        fromBlock: this.init.fromBlock,
        seed: () => currentGroupSeed(client, { draw: this.init.draw, signal: this.stopping.signal }),
      });
      if (tasksOf(next).join() === tasksOf(this.init.path).join()) {
        this.epoch = epoch;
        return;
      }
      const duty = await this.dutyLeft();
      if (duty !== undefined) {
        log.info({ groupEpoch: String(epoch), duty }, "drawn into another group: moving once this duty ends");
        return;
      }
      log.info(
        {
          groupEpoch: String(epoch),
          from: String(this.init.path.trainedTaskId),
          to: String(next.trainedTaskId),
        },
        "this epoch's seed drew the operator into another group: running again on the new group task",
      );
      this.done = true;
      this.stop();
      this.init.onRegroup(next);
    } catch (error) {
      if (this.stopping.signal.aborted) return; // stopped mid-draw: nothing to say
      this.init.log.warn({ err: error }, "could not check the group epoch: checking again later");
    } finally {
      this.checking = false;
    }
  }

  /** A duty the node still holds on its current path, said in a few words (undefined: none). */
  private async dutyLeft(): Promise<string | undefined> {
    const { client } = this.init;
    const me = this.init.operator.toLowerCase();
    for (const [at, taskId] of tasksOf(this.init.path).entries()) {
      const task = await readChain(client, "read a task", () =>
        client.publicClient.readContract({
          address: client.contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "getTask",
          args: [taskId],
        }),
      );
      if (task.activeRound === 0n) continue;
      const roundId = task.activeRound;
      const [round, draws] = await readChain(client, "read a round", () =>
        Promise.all([
          client.publicClient.readContract({
            address: client.contracts.rounds,
            abi: trainingRoundsAbi,
            functionName: "getRound",
            args: [roundId],
          }),
          readDraws(client.publicClient, client.contracts.rounds, roundId),
        ]),
      );
      if (round.state === RoundState.Finalized || round.state === RoundState.Failed) continue;
      if (round.aggregator.toLowerCase() === me || draws.backup.toLowerCase() === me)
        return `aggregator of round ${roundId}`;
      const trains = round.trainers.some((t) => t.toLowerCase() === me);
      if (at === 0 && trains && round.state !== RoundState.Challenging) return `trainer in round ${roundId}`;
    }
    return undefined;
  }
}
