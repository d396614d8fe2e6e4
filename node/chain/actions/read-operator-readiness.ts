/**
 * Whether an operator and this node's peer ID can take part in the network, with one clear warning per
 * problem and the command that fixes it (docs/protocol.md §2). The node calls it at start so an unstaked,
 * under-staked or unbound node says so instead of being silently refused by every peer.
 */
import type { Address } from "viem";

import { formatTokenAmount, formatTokens } from "../amounts.ts";
import { stakeRegistryAbi } from "../contracts.ts";
import { peerIdFromChainBytes, peerIdToChainBytes } from "../peer-id.ts";
import type { ChainReadClient } from "./client.ts";
import { readChain } from "./write.ts";

export interface ReadOperatorReadinessParameters {
  readonly operator: Address;
  /** This node's libp2p peer ID ("12D3KooW…"). */
  readonly peerId: string;
}

/** One thing that keeps the node out of the network. */
export type OperatorReadinessWarningCode =
  /** No active stake at all. */
  | "UNSTAKED"
  /** Some active stake, below the registry's minimum: inactive. */
  | "BELOW_MIN_STAKE"
  /** Neither the operator nor this node's peer ID is bound. */
  | "UNBOUND"
  /** The operator is bound to a different peer ID than this node's. */
  | "BOUND_TO_ANOTHER_PEER_ID"
  /** This node's peer ID is bound to a different operator. */
  | "PEER_ID_HELD_BY_ANOTHER_OPERATOR";

export interface OperatorReadinessWarning {
  readonly code: OperatorReadinessWarningCode;
  /** One line: what is wrong, what it means, and the command that fixes it. */
  readonly message: string;
}

/** What the registry says about the operator and the peer ID, read at one block. */
export interface OperatorReadinessFacts {
  readonly operator: Address;
  readonly peerId: string;
  readonly activeStakeWei: bigint;
  readonly unbondingStakeWei: bigint;
  readonly minStakeWei: bigint;
  /** The peer ID the operator has bound, or null. */
  readonly boundPeerId: string | null;
  /** The operator this node's peer ID is bound to, or null. */
  readonly peerIdOperator: Address | null;
}

export interface ReadOperatorReadinessReturnType extends OperatorReadinessFacts {
  readonly blockNumber: bigint;
  /** True when there is no warning: active, and this node's peer ID is bound to this operator. */
  readonly ready: boolean;
  readonly warnings: readonly OperatorReadinessWarning[];
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The warnings for `facts`, most fundamental first (stake before binding: binding needs the minimum). */
export function operatorReadinessWarnings(facts: OperatorReadinessFacts): OperatorReadinessWarning[] {
  const { operator, peerId, activeStakeWei, unbondingStakeWei, minStakeWei, boundPeerId, peerIdOperator } =
    facts;
  const warnings: OperatorReadinessWarning[] = [];
  const shortfall = minStakeWei - activeStakeWei;
  if (activeStakeWei === 0n) {
    const unbonding = unbondingStakeWei > 0n ? ` (${formatTokens(unbondingStakeWei)} is unbonding)` : "";
    warnings.push({
      code: "UNSTAKED",
      message: `operator ${operator} has no active stake${unbonding}: peers will refuse this node and it can neither train nor aggregate; stake at least ${formatTokens(minStakeWei)} with \`vain-node stake ${formatTokenAmount(minStakeWei)}\``,
    });
  } else if (shortfall > 0n) {
    warnings.push({
      code: "BELOW_MIN_STAKE",
      message: `operator ${operator} has ${formatTokens(activeStakeWei)} of active stake, below the minimum ${formatTokens(minStakeWei)}: it is inactive (refused by peers, never selected); stake ${formatTokens(shortfall)} more with \`vain-node stake ${formatTokenAmount(shortfall)}\``,
    });
  }
  const sameOperator = peerIdOperator !== null && peerIdOperator.toLowerCase() === operator.toLowerCase();
  if (peerIdOperator !== null && !sameOperator) {
    warnings.push({
      code: "PEER_ID_HELD_BY_ANOTHER_OPERATOR",
      message: `this node's peer ID ${peerId} is bound to another operator, ${peerIdOperator}: peers will refuse it as ${operator}; run the node with that operator's key, or with a new node key bound by \`vain-node bind\``,
    });
  } else if (boundPeerId === null) {
    const after = shortfall > 0n ? " once the operator has the minimum stake (binding needs it)" : "";
    warnings.push({
      code: "UNBOUND",
      message: `this node's peer ID ${peerId} is not bound to operator ${operator}: peers will refuse it; run \`vain-node bind\`${after}`,
    });
  } else if (!sameOperator) {
    warnings.push({
      code: "BOUND_TO_ANOTHER_PEER_ID",
      message: `operator ${operator} is bound to another peer ID (${boundPeerId}), not this node's ${peerId}: peers will refuse this node; run \`vain-node bind\` to move the binding to this node's key`,
    });
  }
  return warnings;
}

/**
 * Reads the operator's stake and both sides of the peer binding at one block and says what, if anything,
 * keeps the node out of the network.
 *
 * @example
 * const readiness = await readOperatorReadiness(client, { operator, peerId: node.peerId.toString() });
 * for (const warning of readiness.warnings) log.warn(warning.message);
 */
export async function readOperatorReadiness(
  client: ChainReadClient,
  { operator, peerId }: ReadOperatorReadinessParameters,
): Promise<ReadOperatorReadinessReturnType> {
  const peerIdBytes = peerIdToChainBytes(peerId);
  const registry = { address: client.contracts.registry, abi: stakeRegistryAbi } as const;
  return readChain(client, "read the operator's stake and binding", async () => {
    // getBlock, not getBlockNumber: viem caches the block number for a polling interval.
    const { number: blockNumber } = await client.publicClient.getBlock();
    const at = { blockNumber } as const;
    const [activeStakeWei, unbondingStakeWei, minStakeWei, boundBytes, peerIdOwner] = await Promise.all([
      client.publicClient.readContract({ ...registry, ...at, functionName: "activeStake", args: [operator] }),
      client.publicClient.readContract({
        ...registry,
        ...at,
        functionName: "unbondingStake",
        args: [operator],
      }),
      client.publicClient.readContract({ ...registry, ...at, functionName: "minStake" }),
      client.publicClient.readContract({ ...registry, ...at, functionName: "peerIdOf", args: [operator] }),
      client.publicClient.readContract({
        ...registry,
        ...at,
        functionName: "operatorOf",
        args: [peerIdBytes],
      }),
    ]);
    const facts: OperatorReadinessFacts = {
      operator,
      peerId,
      activeStakeWei,
      unbondingStakeWei,
      minStakeWei,
      boundPeerId: peerIdFromChainBytes(boundBytes),
      peerIdOperator: peerIdOwner === ZERO_ADDRESS ? null : peerIdOwner,
    };
    const warnings = operatorReadinessWarnings(facts);
    return { ...facts, blockNumber, ready: warnings.length === 0, warnings };
  });
}
