/**
 * The status API's round history: each finished round this node knows of gets one row (the new model's accuracy
 * on the node's test data, bytes, proof time), shown by the dashboard and kept in the data directory, so a
 * restarted node shows the same history (issue #25).
 */
import type { Logger } from "pino";
import type { Address, Chain, PublicClient, Transport } from "viem";

import type { ChainStatusSource } from "../api/chain-source.ts";
import { RoundState, trainingRoundsAbi } from "../chain/contracts.ts";
import type { RoundParticipant } from "../protocol/round/index.ts";
import type { HistoryFile } from "./history-file.ts";

/** Rounds behind the newest one looked at on each pass (a node down longer records only these). */
const ROUNDS_LOOKED_BACK = 3n;

/** A model's figures on the node's test data; null where unknown (the dashboard leaves it out, not as a 0). */
export type RoundEvaluation = { accuracy: number | null; loss: number | null };

export interface RoundHistoryComponents {
  readonly participant: RoundParticipant;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly rounds: Address;
  readonly status: ChainStatusSource;
  readonly history: HistoryFile;
  /** Evaluates a model on the node's test data. */
  evaluate(params: Float32Array): Promise<RoundEvaluation>;
  readonly log: Logger;
}

export class RoundHistoryRecorder {
  private readonly components: RoundHistoryComponents;
  /** Round IDs with a row already (from the saved history, or recorded since). */
  private readonly recorded = new Set<string>();

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
    const { participant, publicClient, rounds, status, history, log } = this.components;
    const task = await participant.readTask().catch(() => undefined);
    if (task === undefined || task.roundCount === 0n) return;
    const [, latest] = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "counts",
    });
    for (let id = latest > ROUNDS_LOOKED_BACK ? latest - ROUNDS_LOOKED_BACK : 1n; id <= latest; id++) {
      const key = id.toString();
      if (this.recorded.has(key)) continue;
      const round = await participant.readRound(id);
      if (round.state < RoundState.Finalized) continue;
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
    }
  }
}
