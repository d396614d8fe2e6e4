/**
 * A round's challenges as the chain's events and state tell them: the ones still awaiting an answer (the
 * aggregator's duty) and the answers posted (every watcher checks each answer's statement). Searches start at the
 * round's opening block (the gateway keeps it per round).
 */
import type { Address, Chain, Hex, PublicClient, Transport } from "viem";

import { ChallengeStatus, trainingRoundsAbi } from "../../chain/contracts.ts";

/** A challenged chunk and the chain time its answer is due by. */
export interface PendingChallenge {
  readonly chunk: number;
  readonly answerDeadline: bigint;
}

/** An answered chunk and the statement its proof was checked against. */
export interface AnsweredStatement {
  readonly chunk: bigint;
  readonly statement: Hex;
}

/** Challenges of round `roundId` still awaiting their answer. */
export async function readPendingChallenges(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
  fromBlock: bigint,
): Promise<PendingChallenge[]> {
  const logs = await publicClient.getContractEvents({
    address: rounds,
    abi: trainingRoundsAbi,
    eventName: "ChunkChallenged",
    args: { roundId },
    fromBlock,
  });
  const out: PendingChallenge[] = [];
  for (const log of logs) {
    const chunk = log.args.chunkIndex;
    if (chunk === undefined) continue;
    const challenge = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getChallenge",
      args: [roundId, chunk],
    });
    if (challenge.status === ChallengeStatus.Pending)
      out.push({ chunk: Number(chunk), answerDeadline: challenge.answerDeadline });
  }
  return out;
}

/** Every answer posted in round `roundId`. */
export async function readAnsweredStatements(
  publicClient: PublicClient<Transport, Chain>,
  rounds: Address,
  roundId: bigint,
  fromBlock: bigint,
): Promise<AnsweredStatement[]> {
  const answers = await publicClient.getContractEvents({
    address: rounds,
    abi: trainingRoundsAbi,
    eventName: "ChallengeAnswered",
    args: { roundId },
    fromBlock,
  });
  return answers.flatMap((answer) => {
    const { chunkIndex, statement } = answer.args;
    return chunkIndex === undefined || statement === undefined ? [] : [{ chunk: chunkIndex, statement }];
  });
}
