/**
 * The on-chain set-up every round test and benchmark needs, once: fund operators from the treasury, stake
 * them, create a task, opt the aggregators in for it, fund it, open its first round. Every step is one of the
 * node's chain actions (node/chain/actions/), so a contract change is fixed in one place. Works on any
 * viem clients: a `hardhat node` process (local-network.ts) or Hardhat's in-process network.
 */
import type { Account, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  createTask,
  fundTask,
  openRound,
  setAggregatorOptIn,
  stake,
  transferTokens,
} from "../../node/chain/actions/index.ts";
import type { CreateTaskParameters, ProtocolAddresses } from "../../node/chain/actions/index.ts";
import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { lockAndSelect } from "../../node/chain/draws.ts";
import type { DrawDriver } from "../../node/chain/draws.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

export interface RoundFixtureChain {
  readonly publicClient: PublicClient<Transport, Chain>;
  /** Holds the VAIN supply: funds the operators, creates and funds the task, opens the round. */
  readonly treasury: Wallet;
  readonly contracts: ProtocolAddresses;
}

export interface FundStakeAndOpenRoundParameters {
  /** Operators to fund and stake (their ETH for gas is the caller's: Hardhat's accounts have it). */
  readonly operators: readonly Wallet[];
  /** VAIN each operator receives from the treasury before staking. */
  readonly tokensWei: bigint;
  readonly stakeWei: bigint;
  /** Operators (among `operators`) that opt in as aggregator candidates. */
  readonly aggregators?: readonly Wallet[];
  readonly task: CreateTaskParameters;
  /** The task's reward pool. */
  readonly fundWei: bigint;
  /** Open the task's first round (default true). */
  readonly open?: boolean;
}

export interface FundStakeAndOpenRoundReturnType {
  readonly taskId: bigint;
  /** The opened round, undefined with `open: false`. */
  readonly roundId: bigint | undefined;
}

/** Funds and stakes the operators, creates a task, opts the aggregators in for it, funds it and opens its round. */
export async function fundStakeAndOpenRound(
  chain: RoundFixtureChain,
  parameters: FundStakeAndOpenRoundParameters,
): Promise<FundStakeAndOpenRoundReturnType> {
  const client = (wallet: Wallet) => ({
    publicClient: chain.publicClient,
    walletClient: wallet,
    contracts: chain.contracts,
  });
  const treasury = client(chain.treasury);
  for (const operator of parameters.operators) {
    await transferTokens(treasury, { to: operator.account.address, amountWei: parameters.tokensWei });
    // approve + stake (not a permit): works with any wallet, including Hardhat's in-process accounts.
    await stake(client(operator), { amountWei: parameters.stakeWei, usePermit: false });
  }
  const { taskId } = await createTask(treasury, parameters.task);
  // Candidates volunteer per task: for this task, once it exists.
  for (const aggregator of parameters.aggregators ?? [])
    await setAggregatorOptIn(client(aggregator), { taskId, optIn: true });
  await fundTask(treasury, { taskId, amountWei: parameters.fundWei });
  if (parameters.open === false) return { taskId, roundId: undefined };
  const { roundId } = await openRound(treasury, { taskId });
  return { taskId, roundId };
}

export interface CommitAndSelectParameters {
  readonly roundId: bigint;
  /** Each trainer's commitment root and sample count, committed in this order. */
  readonly commits: readonly { readonly trainer: Wallet; readonly root: Hex; readonly samples: bigint }[];
  /** Moves the chain clock this many seconds (tests: Hardhat's `time.increase`): past the commit window. */
  readonly advanceTime: (seconds: number) => Promise<unknown>;
  readonly secondsPastCommit: number;
  /** Locks the selection and selects the aggregator (its transactions, and a block miner on a test chain). */
  readonly draws: DrawDriver;
}

/**
 * Commits every trainer's update to `roundId`, moves the clock past the commit window and selects the
 * aggregator: what every proof test does between opening a round and posting its aggregate.
 */
export async function commitAndSelect(
  chain: RoundFixtureChain,
  parameters: CommitAndSelectParameters,
): Promise<void> {
  for (const { trainer, root, samples } of parameters.commits) {
    const hash = await trainer.writeContract({
      address: chain.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "commitUpdate",
      args: [parameters.roundId, root, samples],
    });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`commitUpdate of ${trainer.account.address} reverted`);
  }
  await parameters.advanceTime(parameters.secondsPastCommit);
  await lockAndSelect(parameters.draws, parameters.roundId);
}
