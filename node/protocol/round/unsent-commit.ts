/**
 * A trainer's commit that the chain turned away (issue #21): the update is kept compressed and resent as is on the
 * next tick, so a full round's retries neither train nor compress again (trainer.ts `commitTrained`).
 */
import type { Hex } from "viem";

import type { UpdateCommitment } from "../../proofs/index.ts";
import type { TrainedUpdate } from "./trainer.ts";

/**
 * A compressed update whose commit the chain has not taken yet (a full round turned it away, `RoundFull`, or the
 * send failed): resent as is, never compressed or trained again (`Trainer.commitTrained`).
 */
export interface UnsentCommit {
  readonly roundId: bigint;
  /** The training result it was compressed from (a buffered trainer retries with the same object). */
  readonly trained: TrainedUpdate;
  readonly bytes: Uint8Array;
  readonly commitment: UpdateCommitment;
}

/** The chain did not take a commit (the simulation reverted: a full round, the window closed, ...). */
export class CommitNotAcceptedError extends Error {
  readonly roundId: bigint;
  readonly commitment: Hex;
  /** Why, as the gateway decoded it (e.g. "commitUpdate failed: ... (RoundFull)"). */
  readonly reason: string;

  constructor(roundId: bigint, commitment: Hex, reason: string) {
    super(`commit ${commitment} not accepted in round ${roundId}: ${reason}`);
    this.name = "CommitNotAcceptedError";
    this.roundId = roundId;
    this.commitment = commitment;
    this.reason = reason;
  }
}
