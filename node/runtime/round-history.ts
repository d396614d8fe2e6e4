/**
 * The status API's round history: each finished round of a task this node runs gets one row (the new model's
 * accuracy on the node's test data, bytes, proof time, the task), shown by the dashboard and kept in the data
 * directory, so a restarted node shows the same history (issue #25). A node in a group task runs its parent's
 * task too (task-participants.ts): the parent's rounds, which it may aggregate, get rows from that participant;
 * rounds of tasks it does not run get none.
 */
import type { Logger } from "pino";
import type { Address, Chain, PublicClient, Transport } from "viem";

import type { ChainStatusSource } from "../api/chain-source.ts";
import { RoundState, trainingRoundsAbi } from "../chain/contracts.ts";
import type { RoundOutcome, RoundView } from "../protocol/round/index.ts";
import type { HistoryFile } from "./history-file.ts";
import type { TaskParticipants } from "./task-participants.ts";

/**
 * Rounds behind the newest one looked at when the node starts (a node down longer records only these). After
 * that every round opened since the last pass is looked at and followed until it finishes: several tasks' rounds
 * interleave (a group task's and its parent's), and a parent round finishes after rounds opened later.
 */
const ROUNDS_LOOKED_BACK = 3n;

/** A model's figures on the node's test data; null where unknown (the dashboard leaves it out, not as a 0). */
export type RoundEvaluation = { accuracy: number | null; loss: number | null };

export interface RoundHistoryComponents {
  /** The node's participants: which round is whose (`of`), and the chain reads (`main`). */
  readonly participants: Pick<TaskParticipants, "main" | "of">;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly rounds: Address;
  readonly status: ChainStatusSource;
  readonly history: HistoryFile;
  /** Evaluates a model on the node's test data. */
  evaluate(params: Float32Array): Promise<RoundEvaluation>;
  /**
   * Called once for each finished round of this node's tasks (finalized or failed), with the node's role in it
   * (own-outcome.ts folds the node's own result into its reputation). Not called again for a round already in
   * the saved history.
   */
  onFinished?(roundId: bigint, round: RoundView, role: RoundOutcome["role"] | undefined): Promise<void>;
  readonly log: Logger;
}

export class RoundHistoryRecorder {
  private readonly components: RoundHistoryComponents;
  /** Round IDs with a row already (from the saved history, or recorded since). */
  private readonly recorded = new Set<string>();
  /** Rounds of this node's tasks (or not read yet) that had not finished at the last pass. */
  private readonly unfinished = new Set<bigint>();
  /** The newest round ID looked at so far. */
  private newestSeen = 0n;

  constructor(components: RoundHistoryComponents) {
    this.components = components;
  }

  /** Loads the saved history into the status API; those rounds are not recorded again. */
  async load(): Promise<void> {
    for (const row of await this.components.history.load()) {
      this.components.status.addRoundMetrics(row);
      this.recorded.add(row.roundId);
    }
  }

  /** Adds finished rounds this node took part in to the status history, with the new model's accuracy. */
  async recordFinishedRounds(): Promise<void> {
    const { participants, publicClient, rounds, status, history, log } = this.components;
    const [, latest] = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "counts",
    });
    const first = latest > ROUNDS_LOOKED_BACK ? latest - ROUNDS_LOOKED_BACK : 1n;
    for (let id = this.newestSeen >= first ? this.newestSeen + 1n : first; id <= latest; id++)
      if (!this.recorded.has(id.toString())) this.unfinished.add(id);
    if (latest > this.newestSeen) this.newestSeen = latest;
    for (const id of [...this.unfinished].sort((a, b) => (a < b ? -1 : 1))) {
      const key = id.toString();
      const round = await participants.main.readRound(id);
      const participant = participants.of(round.taskId);
      // Another task's round: not this node's history, and not read again.
      if (participant === undefined) this.unfinished.delete(id);
      if (participant === undefined || round.state < RoundState.Finalized) continue;
      this.unfinished.delete(id);
      this.recorded.add(key);
      const outcome = participant.outcome(id);
      const params = participant.models.get(
        round.state === RoundState.Finalized ? round.modelRef : round.baseModelRef,
      );
      // Without the round's model (it finished while this node was down) the figures are unknown: null, which
      // the dashboard leaves out of the plots, not 0, which it would draw as a collapse.
      const unknown: RoundEvaluation = { accuracy: null, loss: null };
      const evaluation =
        params === undefined ? unknown : await this.components.evaluate(params).catch(() => unknown);
      const row = status.recordRoundMetrics({
        roundId: key,
        taskId: round.taskId.toString(),
        accuracy: evaluation.accuracy,
        loss: evaluation.loss,
        bytesSent: outcome?.bytesSent ?? 0,
        bytesReceived: outcome?.bytesReceived ?? 0,
        proofMs: outcome?.proofMs,
      });
      if (row !== undefined)
        await history
          .record(row)
          .catch((error: unknown) => log.warn({ err: error }, "could not save the round history"));
      await this.components
        .onFinished?.(id, round, outcome?.role)
        .catch((error: unknown) => log.warn({ err: error, roundId: key }, "round outcome not folded"));
    }
  }
}
