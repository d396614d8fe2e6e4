/**
 * A trainer's commit that the chain turned away (issue #21): the update is kept compressed and resent as is on the
 * next tick, so a full round's retries neither train nor compress again (trainer.ts `commitTrained`).
 */
import type { Address, Hex } from "viem";

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

/** What `committedOnChain` reads: the round's trainers and their commitments, in commit order. */
export type ReadRoundCommits = (
  roundId: bigint,
) => Promise<{ readonly trainers: readonly Address[]; readonly commitments: readonly Hex[] }>;

/**
 * Whether round `roundId` already holds `commitment` as `me`'s (lower-case address). A commit transaction can be
 * mined after its sender stopped waiting for the receipt (a loaded chain); the retry is then refused
 * (`AlreadyCommitted`) although the commit is in. At 256 nodes two trainers took every refusal for a failure and
 * never delivered their committed updates (2026-12-06, docs/scaling.md). A read that fails counts as not held.
 */
export async function committedOnChain(
  readRound: ReadRoundCommits,
  roundId: bigint,
  me: string,
  commitment: Hex,
): Promise<boolean> {
  const round = await readRound(roundId).catch(() => undefined);
  if (round === undefined) return false;
  const index = round.trainers.findIndex((t) => t.toLowerCase() === me.toLowerCase());
  return index >= 0 && round.commitments[index]?.toLowerCase() === commitment.toLowerCase();
}
