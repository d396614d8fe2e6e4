/**
 * The operator directory (docs/incentives.md): every address that ever staked, with its peer ID, self and
 * delegated stake, commission and pending change, delegators, rounds served (commits as trainer plus rounds
 * it was selected to aggregate), slash history and, when the caller passes them, reputation scores as seen
 * by a node. Read from the registry's views and the contracts' events, so it needs no indexer.
 */
import type { Address, Hex } from "viem";

import { peerIdFromChainBytes } from "../peer-id.ts";
import { stakeRegistryAbi, trainingRoundsAbi } from "../contracts.ts";
import type { ChainReadClient } from "./client.ts";
import { readCommission } from "./read-commission.ts";
import { readChain } from "./write.ts";

export interface ReadOperatorsParameters {
  /** First block to scan for events (default 0: the whole chain, fine for a local or young chain). */
  readonly fromBlock?: bigint;
  /** Reputation by peer ID as a node sees it (e.g. from its status API); missing = unknown. */
  readonly reputation?: ReadonlyMap<string, number>;
}

export interface OperatorSlash {
  readonly amountWei: bigint;
  readonly reason: number;
  readonly blockNumber: bigint;
  readonly transactionHash: Hex;
}

export interface OperatorEntry {
  readonly operator: Address;
  /** libp2p peer ID (base58) or null when none is bound. */
  readonly peerId: string | null;
  readonly selfStakeWei: bigint;
  readonly delegatedStakeWei: bigint;
  /** Counted stake for admission and selection (self + delegation up to the cap; 0 while retired). */
  readonly countedStakeWei: bigint;
  readonly delegators: number;
  readonly commissionBps: bigint;
  readonly pendingCommissionBps: bigint;
  /** Unix seconds when the pending raise applies (0 when none). */
  readonly commissionEffectiveAt: bigint;
  readonly retired: boolean;
  readonly active: boolean;
  readonly roundsServed: number;
  readonly slashes: readonly OperatorSlash[];
  readonly reputation: number | null;
}

export type ReadOperatorsReturnType = readonly OperatorEntry[];

export async function readOperators(
  client: ChainReadClient,
  parameters: ReadOperatorsParameters = {},
): Promise<ReadOperatorsReturnType> {
  const fromBlock = parameters.fromBlock ?? 0n;
  const { registry, rounds } = client.contracts;
  const [staked, slashed, commits, selected] = await readChain(client, "read the operators' events", () =>
    Promise.all([
      client.publicClient.getContractEvents({
        address: registry,
        abi: stakeRegistryAbi,
        eventName: "Staked",
        fromBlock,
      }),
      client.publicClient.getContractEvents({
        address: registry,
        abi: stakeRegistryAbi,
        eventName: "Slashed",
        fromBlock,
      }),
      client.publicClient.getContractEvents({
        address: rounds,
        abi: trainingRoundsAbi,
        eventName: "UpdateCommitted",
        fromBlock,
      }),
      client.publicClient.getContractEvents({
        address: rounds,
        abi: trainingRoundsAbi,
        eventName: "AggregatorSelected",
        fromBlock,
      }),
    ]),
  );
  const served = new Map<string, number>();
  const count = (who: Address | undefined): void => {
    if (who !== undefined) served.set(who.toLowerCase(), (served.get(who.toLowerCase()) ?? 0) + 1);
  };
  for (const e of commits) count(e.args.trainer);
  for (const e of selected) count(e.args.aggregator);
  const operators = [
    ...new Set(staked.flatMap((e) => (e.args.operator === undefined ? [] : [e.args.operator]))),
  ];
  return Promise.all(
    operators.map(async (operator): Promise<OperatorEntry> => {
      const read = <T>(what: string, f: () => Promise<T>): Promise<T> => readChain(client, what, f);
      const call = { address: registry, abi: stakeRegistryAbi } as const;
      const [peerIdHex, selfStakeWei, countedStakeWei, pool, active, commission] = await Promise.all([
        read("read the peer ID", () =>
          client.publicClient.readContract({ ...call, functionName: "peerIdOf", args: [operator] }),
        ),
        read("read the self-stake", () =>
          client.publicClient.readContract({ ...call, functionName: "selfStake", args: [operator] }),
        ),
        read("read the counted stake", () =>
          client.publicClient.readContract({ ...call, functionName: "activeStake", args: [operator] }),
        ),
        read("read the pool", () =>
          client.publicClient.readContract({ ...call, functionName: "poolOf", args: [operator] }),
        ),
        read("read the activity", () =>
          client.publicClient.readContract({ ...call, functionName: "isActiveOperator", args: [operator] }),
        ),
        readCommission(client, { operator }),
      ]);
      const peerId = peerIdFromChainBytes(peerIdHex);
      return {
        operator,
        peerId,
        selfStakeWei,
        delegatedStakeWei: pool.activeAmount,
        countedStakeWei,
        delegators: pool.delegators,
        commissionBps: commission.currentBps,
        pendingCommissionBps: commission.pendingBps,
        commissionEffectiveAt: commission.effectiveAt,
        retired: pool.retiredAt !== 0n,
        active,
        roundsServed: served.get(operator.toLowerCase()) ?? 0,
        slashes: slashed
          .filter((e) => e.args.operator?.toLowerCase() === operator.toLowerCase())
          .map((e) => ({
            amountWei: e.args.amount ?? 0n,
            reason: e.args.reason ?? 0,
            blockNumber: e.blockNumber,
            transactionHash: e.transactionHash,
          })),
        reputation: peerId === null ? null : (parameters.reputation?.get(peerId) ?? null),
      };
    }),
  );
}

/**
 * How the operator directory sorts by each column, shared by `vain-node operators --sort` and the dashboard:
 * largest first, except the commission and the slashes (smallest first).
 */
export const OPERATOR_SORTS: Readonly<Record<string, (a: OperatorEntry, b: OperatorEntry) => number>> = {
  stake: (a, b) => compareWei(b.countedStakeWei, a.countedStakeWei),
  self: (a, b) => compareWei(b.selfStakeWei, a.selfStakeWei),
  delegated: (a, b) => compareWei(b.delegatedStakeWei, a.delegatedStakeWei),
  commission: (a, b) => compareWei(a.commissionBps, b.commissionBps),
  rounds: (a, b) => b.roundsServed - a.roundsServed,
  slashes: (a, b) => a.slashes.length - b.slashes.length,
  reputation: (a, b) => (b.reputation ?? -1) - (a.reputation ?? -1),
};

function compareWei(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
