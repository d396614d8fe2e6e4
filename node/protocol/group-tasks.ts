/**
 * Which group task a node trains in (docs/protocol.md §7, hierarchical rounds proven at every level): a parent
 * task's trainers are spread over its G group tasks by a hash of (parent task, operator address), so every node
 * computes every operator's group from chain data alone, nobody picks its group (its address is fixed by its
 * stake before the task exists), and a node's group stays the same from round to round (its replicas, its
 * leader's view of it). The spread is even in expectation only: with a mean of m trainers a group, a group holds
 * about m ± √m; a group round over its cap takes a newcomer only in place of a less-staked trainer (the
 * contract's `takeSlot`), so `groupCountFor` aims below the cap.
 */
import { encodeAbiParameters, hexToBigInt, keccak256 } from "viem";
import type { Address } from "viem";

import type { ChainReadClient } from "../chain/actions/client.ts";
import { MAX_GROUPS } from "../chain/actions/create-group-tasks.ts";
import { readGroupTasks, readParentTask } from "../chain/actions/read-task-links.ts";

/**
 * Trainers a group is sized for: 12 under a proven round's 16, so that a group of mean 12 is over 16 only at
 * more than one standard deviation (√12 ≈ 3.5) above it: about 1 group in 10 (Poisson(12) ≥ 17 = 0.10).
 */
export const GROUP_TARGET_TRAINERS = 12;

/** The group (0..groups-1) `operator` trains in under `parentTaskId`. */
export function groupIndexOf(operator: Address, parentTaskId: bigint, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`invalid group count ${groups}`);
  const digest = keccak256(
    encodeAbiParameters([{ type: "uint256" }, { type: "address" }], [parentTaskId, operator]),
  );
  return Number(hexToBigInt(digest) % BigInt(groups));
}

/**
 * How many group tasks a parent task of `trainers` expected trainers needs (2..MAX_GROUPS). Past MAX_GROUPS ×
 * GROUP_TARGET_TRAINERS (192) the groups run over their target: more trainers need a third level.
 */
export function groupCountFor(trainers: number): number {
  return Math.min(MAX_GROUPS, Math.max(2, Math.ceil(trainers / GROUP_TARGET_TRAINERS)));
}

/** A node's place in a parent task: the group it trains in, and the parent its group's leader commits to. */
export interface GroupView {
  readonly parentTaskId: bigint;
  /** Every group task of the parent, in link order. */
  readonly groupTaskIds: readonly bigint[];
  readonly groupIndex: number;
  /** The group task this node trains in. */
  readonly groupTaskId: bigint;
}

/**
 * `operator`'s group view of `taskId`, read from `TaskLinked` events: for a parent task, the group the operator
 * trains in; for a group task, the same view of its parent (the operator's own group, which need not be
 * `taskId`); undefined for a task with no groups and no parent (a flat task).
 */
export async function readGroupView(
  client: ChainReadClient,
  { taskId, operator, fromBlock }: { taskId: bigint; operator: Address; fromBlock?: bigint },
): Promise<GroupView | undefined> {
  const parentTaskId = (await readParentTask(client, { childTaskId: taskId, fromBlock })) ?? taskId;
  const groupTaskIds = await readGroupTasks(client, { parentTaskId, fromBlock });
  if (groupTaskIds.length === 0) return undefined;
  const groupIndex = groupIndexOf(operator, parentTaskId, groupTaskIds.length);
  return { parentTaskId, groupTaskIds, groupIndex, groupTaskId: groupTaskIds[groupIndex]! };
}
