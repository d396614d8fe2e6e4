/**
 * How `bench:attacks` scores a strategy: the attacker's accounts and the honest operators are declared
 * before play, their worth (wallet VAIN + slashable stake + claimable rewards and bonds) is read from the chain
 * before and after, and the attacker's net profit is its change in worth minus what the same accounts would
 * have earned by following the protocol in the same rounds (a strategy that earns only its honest share
 * profits 0). Gas is valued at 0 VAIN and reported apart (`attackerGasEth`: the native coin the attacker's
 * accounts spent per round, so an attack that fails without losing VAIN still shows what it cost). Honest stake lost is the drop of the honest
 * operators' slashable stake, whatever the reason.
 */
import type { Address, PublicClient, Chain, Transport } from "viem";
import { formatEther } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import type { Row } from "./common.ts";

/** What a strategy's play reports besides the balances the harness reads. */
export interface PlayOutcome {
  /** Rounds the attack ran (profit is per round). */
  readonly rounds: number;
  /** Whether a round's model (the task's accepted modelRef) ended up other than the honest one. */
  readonly modelCorrupted: boolean;
  /** What the attacker's accounts would have earned following the protocol in the same rounds (wei). */
  readonly honestEarningsWei?: bigint;
  /** One line: what happened (the revert that stopped it, who was slashed…). */
  readonly note: string;
}

/** A strategy, ready to play: its accounts are fixed before the first balance is read. */
export interface Scenario {
  readonly attackers: readonly Address[];
  readonly honest: readonly Address[];
  play(): Promise<PlayOutcome>;
}

export interface Strategy<W> {
  /** Short name (the table's `attack`). */
  readonly name: string;
  /** Creates the accounts and tasks; nothing the attacker earns or loses happens here. */
  setup(world: W, rounds: number): Promise<Scenario>;
}

export interface AttackRow extends Row {
  attack: string;
  attackerProfitVain: number;
  /** Native coin (ETH) the attacker's accounts spent on gas per round. */
  attackerGasEth: number;
  honestStakeLostVain: number;
  modelCorrupted: 0 | 1;
  rounds: number;
  seconds: number;
  note: string;
}

interface Addresses {
  readonly token: Address;
  readonly registry: Address;
  readonly rounds: Address;
}

/** Wallet VAIN + slashable stake + claimable of each account, and the slashable stake alone. */
export async function worth(
  client: PublicClient<Transport, Chain>,
  contracts: Addresses,
  accounts: readonly Address[],
): Promise<{ total: bigint; stake: bigint }> {
  let total = 0n;
  let stake = 0n;
  for (const account of accounts) {
    const [balance, staked, claimable] = await Promise.all([
      client.readContract({
        address: contracts.token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [account],
      }),
      client.readContract({
        address: contracts.registry,
        abi: stakeRegistryAbi,
        functionName: "slashableStake",
        args: [account],
      }),
      client.readContract({
        address: contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "claimable",
        args: [account],
      }),
    ]);
    total += balance + staked + claimable;
    stake += staked;
  }
  return { total, stake };
}

/** The accounts' native coin together (what gas is paid in). */
async function nativeBalance(
  client: PublicClient<Transport, Chain>,
  accounts: readonly Address[],
): Promise<bigint> {
  const balances = await Promise.all(accounts.map((address) => client.getBalance({ address })));
  return balances.reduce((sum, b) => sum + b, 0n);
}

/** Wei as a VAIN number (4 decimals are plenty for a table). */
export const vain = (wei: bigint): number => Number(Number(formatEther(wei)).toFixed(4));

/** Sets up and plays one strategy and scores it. */
export async function scoreStrategy<W>(
  strategy: Strategy<W>,
  world: W,
  rounds: number,
  chain: { readonly publicClient: PublicClient<Transport, Chain>; readonly contracts: Addresses },
): Promise<AttackRow> {
  const started = performance.now();
  const scenario = await strategy.setup(world, rounds);
  const attackerBefore = await worth(chain.publicClient, chain.contracts, scenario.attackers);
  const coinBefore = await nativeBalance(chain.publicClient, scenario.attackers);
  const honestBefore = await worth(chain.publicClient, chain.contracts, scenario.honest);
  const outcome = await scenario.play();
  const attackerAfter = await worth(chain.publicClient, chain.contracts, scenario.attackers);
  const gasWei = coinBefore - (await nativeBalance(chain.publicClient, scenario.attackers));
  const honestAfter = await worth(chain.publicClient, chain.contracts, scenario.honest);
  const gained = attackerAfter.total - attackerBefore.total - (outcome.honestEarningsWei ?? 0n);
  const lost = honestBefore.stake - honestAfter.stake;
  return {
    attack: strategy.name,
    attackerProfitVain: vain(gained) / Math.max(1, outcome.rounds),
    attackerGasEth: Number(formatEther(gasWei > 0n ? gasWei : 0n)) / Math.max(1, outcome.rounds),
    honestStakeLostVain: vain(lost > 0n ? lost : 0n),
    modelCorrupted: outcome.modelCorrupted ? 1 : 0,
    rounds: outcome.rounds,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    note: outcome.note,
  };
}

/** The row of a strategy that could not run (the bench goes on; the figure it would feed is -1). */
export function brokenRow(name: string, error: unknown): AttackRow {
  return {
    attack: name,
    attackerProfitVain: Number.NaN,
    attackerGasEth: Number.NaN,
    honestStakeLostVain: Number.NaN,
    modelCorrupted: 0,
    rounds: 0,
    seconds: 0,
    note: `could not run: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
  };
}
