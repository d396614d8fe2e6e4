/**
 * The types of the round roles' chain gateway (rounds-gateway.ts): the TrainingRounds calls a node makes, their
 * arguments, the task as a node reads it, and what became of a write.
 */
import type { Logger } from "pino";
import type {
  Account,
  Address,
  Chain,
  ContractFunctionArgs,
  Hex,
  PublicClient,
  Transport,
  WalletClient,
} from "viem";

import type { trainingRoundsAbi } from "../../chain/contracts.ts";

/** The TrainingRounds functions a node calls. */
export type RoundsWrite =
  | "commitUpdate"
  | "lockSelection"
  | "selectAggregator"
  | "postLinkRoot"
  | "postAggregate"
  | "drawSamples"
  | "answerChallenge"
  | "resolveUnansweredChallenge"
  | "disputeStatement"
  | "reportMissedAggregation"
  | "finalizeRound"
  | "openRound"
  | "commitPartial"
  | "challenge"
  | "reportEquivocation"
  | "reportSignedConflict"
  | "commitReport"
  | "revealReport"
  | "reclaimBond"
  | "claim"
  | "postWeightsRoot"
  | "claimTrainerShare";

/** The reports that pay a reporter (or a challenger's share): sent committed, then revealed (`report`). */
export type RoundsReport =
  | "reportMissedAggregation"
  | "reportEquivocation"
  | "reportSignedConflict"
  | "resolveUnansweredChallenge"
  | "disputeStatement"
  | "challenge";

/** The arguments of a `RoundsWrite`, typed from the ABI. */
export type RoundsWriteArgs<F extends RoundsWrite> = ContractFunctionArgs<
  typeof trainingRoundsAbi,
  "nonpayable",
  F
>;

export interface RoundsGatewayInit {
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly wallet: WalletClient<Transport, Chain, Account>;
  readonly contracts: { readonly rounds: Address; readonly registry: Address };
  readonly taskId: bigint;
  readonly log: Logger;
  /** Aborted when the node stops: a write retrying through an RPC outage gives up at once. */
  readonly signal?: () => AbortSignal;
  /**
   * How long a write waits for its receipt before the node stops waiting (ms; default viem's 180 s). A commit
   * mined after that is still found on chain (unsent-commit.ts `committedOnChain`); a test shortens it.
   */
  readonly receiptTimeoutMs?: number;
}

export interface TaskView {
  readonly modelRef: Hex;
  readonly numChunks: number;
  readonly activeRound: bigint;
  readonly roundCount: bigint;
  /** False for a task ID nobody created yet (the chain returns an all-zero task). */
  readonly exists: boolean;
  readonly closed: boolean;
  readonly rewardPoolWei: bigint;
  /** Unix seconds from which the next round may open. */
  readonly nextOpenTime: bigint;
  /** The task's rule: its rounds are proven (challenged chunks are answered with zk proofs). */
  readonly proven: boolean;
  /** The task's aggregation rule's on-chain id (chain/actions/create-task.ts `taskRuleId`). */
  readonly ruleId: number;
  /** Seconds trainers have to train and commit in each round (fixed at task creation). */
  readonly commitWindowS: bigint;
  /** Seconds a selected aggregator (or its backup, from its takeover) has to post (fixed at task creation). */
  readonly aggregateWindowS: bigint;
  /** Seconds an aggregator has to answer each challenge with a proof (fixed at task creation). */
  readonly answerWindowS: bigint;
  /** Seconds an answered statement stays disputable (fixed at task creation). */
  readonly disputeWindowS: bigint;
  /** The task spec's content address (task-spec-hash.ts); zero when the creator registered none. */
  readonly specHash: Hex;
}

/** What became of one write: sent and mined, or not sent and why (a decoded revert, an outage, ...). */
export type SendOutcome = { readonly sent: true } | { readonly sent: false; readonly reason: string };
