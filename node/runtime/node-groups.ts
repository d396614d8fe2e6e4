/**
 * A node's place in a task hierarchy, for one run (docs/protocol.md §7): the path this group epoch's seed draws it
 * into (the seed drawn if nobody has), the gate that keeps its trained task's participant out of rounds the draw
 * does not give it, and the watch that asks for a run on the new path once a new epoch's draw moves it.
 */
import type { Address } from "viem";

import type { ChainReadClient, ChainWriteClient } from "../chain/actions/client.ts";
import { GroupGate } from "../protocol/group-gate.ts";
import { trainingTaskOf } from "../protocol/group-tasks.ts";
import type { GroupLog, TaskPath } from "../protocol/group-tasks.ts";
import { GROUP_EPOCH_CHECK_INTERVAL_MS, GroupRegroup } from "./group-regroup.ts";

export interface NodeGroupsInit {
  readonly client: ChainReadClient;
  /** The node's wallet: draws a missing seed. */
  readonly draw: ChainWriteClient;
  readonly operator: Address;
  readonly configuredTaskId: bigint;
  readonly fromBlock: bigint;
  readonly log: GroupLog;
  /** A new epoch's draw moved the node and it holds no duty on its old path (VainNodeOptions.onRegroup). */
  readonly onRegroup: () => void;
  /** Ends a start-up seed draw (it waits for its seed block) when the node is stopped while starting. */
  readonly signal?: AbortSignal;
}

export interface NodeGroups {
  readonly path: TaskPath;
  /** For the trained task's participant; undefined for a flat task. */
  readonly gate: GroupGate | undefined;
  /** Started by the caller after the participants. */
  readonly regroup: GroupRegroup;
  /** Stops the regroup watch and any seed draw in flight; with the node. */
  stop(): void;
}

export async function nodeGroups(init: NodeGroupsInit): Promise<NodeGroups> {
  const { client, draw, operator, configuredTaskId: taskId, fromBlock, log } = init;
  const path = await trainingTaskOf(client, { taskId, operator, fromBlock, log, draw, signal: init.signal });
  const gate =
    path.levels.length === 0 ? undefined : new GroupGate({ client, draw, operator, fromBlock, log });
  const regroup = new GroupRegroup({
    client,
    draw,
    operator,
    configuredTaskId: taskId,
    path,
    fromBlock,
    log,
    intervalMs: GROUP_EPOCH_CHECK_INTERVAL_MS,
    onRegroup: init.onRegroup,
  });
  return {
    path,
    gate,
    regroup,
    stop: () => {
      regroup.stop();
      gate?.stop();
    },
  };
}
