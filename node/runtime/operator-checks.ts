/**
 * What a node checks about its own operator and configuration at start, so a trap is a clear warning in the
 * first lines of the log rather than a silent network that never includes it: no stake or a stake below the
 * minimum (peers refuse the node, it is never selected), no peer ID bound or another key's bound (peers refuse
 * it), no ETH for gas (it cannot commit), and the default data shard (every default node trains the same data).
 */
import type { Address } from "viem";

import { formatTokens } from "../chain/amounts.ts";
import type { ReadContext } from "../chain/operator.ts";
import { readOperatorStatus } from "../chain/operator-status.ts";
import type { OperatorStatus } from "../chain/operator-status.ts";
import type { NodeConfig } from "../config/config.ts";

/** One finding: a stable code for tests and metrics, and the line the operator reads. */
export interface OperatorWarning {
  readonly code:
    "NO_STAKE" | "STAKE_BELOW_MINIMUM" | "UNBOUND" | "BOUND_TO_OTHER_KEY" | "NO_GAS" | "SHARED_SHARD";
  readonly message: string;
}

/** Findings about the operator's chain state, given its status and this node's peer ID. */
export function operatorWarnings(status: OperatorStatus, nodePeerId: string): OperatorWarning[] {
  const out: OperatorWarning[] = [];
  const min = formatTokens(status.minStakeWei);
  if (status.activeStakeWei === 0n) {
    out.push({
      code: "NO_STAKE",
      message: `operator ${status.operator} has no active stake: peers refuse this node and it earns nothing; run \`vain-node stake <amount>\` (minimum ${min})`,
    });
  } else if (!status.isActive) {
    out.push({
      code: "STAKE_BELOW_MINIMUM",
      message: `operator ${status.operator} stakes ${formatTokens(status.activeStakeWei)}, below the minimum ${min}: it is inactive (peers refuse it, it is never selected); stake the difference`,
    });
  }
  if (status.peerId === null) {
    out.push({
      code: "UNBOUND",
      message: `no peer ID is bound to operator ${status.operator}: peers refuse this node; run \`vain-node bind\``,
    });
  } else if (status.peerId !== nodePeerId) {
    out.push({
      code: "BOUND_TO_OTHER_KEY",
      message: `operator ${status.operator} is bound to peer ID ${status.peerId}, not this node's ${nodePeerId}: peers refuse this node; run \`vain-node bind\` with this data dir`,
    });
  }
  if (status.ethBalanceWei === 0n) {
    out.push({
      code: "NO_GAS",
      message: `operator ${status.operator} has no ETH for gas: it cannot commit updates or claim rewards`,
    });
  }
  return out;
}

/** Findings about the configuration alone. */
export function configWarnings(config: NodeConfig): OperatorWarning[] {
  if (config.data.kind === "mnist" && config.data.shards === 1) {
    return [
      {
        code: "SHARED_SHARD",
        message:
          'this node trains on the whole bundled MNIST set (data.shards 1), the same data as every node with the default config: give each node its own shard (config "data": { "kind": "mnist", "shard": i, "shards": n }, or `vain-node init --shard i --shards n`)',
      },
    ];
  }
  return [];
}

/** Reads the operator's status and returns every finding (chain and config). */
export async function checkOperator(
  ctx: ReadContext,
  operator: Address,
  nodePeerId: string,
  config: NodeConfig,
): Promise<OperatorWarning[]> {
  const status = await readOperatorStatus(ctx, operator, BigInt(config.taskId));
  return [...operatorWarnings(status, nodePeerId), ...configWarnings(config)];
}
