/**
 * Group tasks and their parent on a running local network (node/demo/network.ts), created like its first task
 * (spec, model, reward and windows, read from chain) and funded like it, with a participant for each started on
 * the nodes' meshes beside the first task's: nodes that run several tasks on one mesh, as a node in a group task
 * and its parent does (docs/protocol.md §7). Round traffic is routed by round (round-mesh.ts); transactions share
 * one nonce sequence per wallet (rounds-gateway.ts). Each task's view of the network is what `runRound` drives.
 */
import { trainingRoundsAbi } from "../chain/contracts.ts";
import {
  createGroupTasks,
  createTask,
  fundTask,
  linkTask,
  parentCommitWindowS,
  scheduleOf,
} from "../chain/actions/index.ts";
import { taskRuleName } from "../chain/actions/create-task.ts";
import type { CreateTaskParameters } from "../chain/actions/create-task.ts";
import type { RoundParticipant } from "../protocol/round/index.ts";
import { drawChainOf, drawTreeMembers } from "./group-draw.ts";
import type { LocalVainNetwork } from "./network.ts";
import { sendAgain } from "./send-again.ts";

/** Rounds of a new task its funding pays for (as the first task's: network.ts funds 100 rounds). */
const FUNDED_ROUNDS = 100n;

/** The first task's parameters, from chain: what a task created "like it" is created with. */
async function firstTaskParameters(
  net: TaskTreeChain,
  parameterCount: number,
): Promise<CreateTaskParameters> {
  const first = await net.publicClient.readContract({
    address: net.contracts.rounds,
    abi: trainingRoundsAbi,
    functionName: "getTask",
    args: [net.taskId],
  });
  const rule = taskRuleName(first.ruleId);
  if (rule === undefined) throw new Error(`task ${net.taskId} has an unknown rule ${first.ruleId}`);
  return {
    modelRef: first.modelRef,
    specHash: first.specHash,
    parameters: parameterCount,
    rewardPerRoundWei: first.rewardPerRound,
    ...scheduleOf(first),
    rule,
    proven: first.proven,
    roundIntervalS: first.roundInterval,
  };
}

/** `net` as task `taskId` sees it: its nodes (by index) with their participants of that task. */
function viewOf(
  net: LocalVainNetwork,
  taskId: bigint,
  participants: ReadonlyMap<number, RoundParticipant>,
  trainers: number,
): LocalVainNetwork {
  const nodes = net.nodes
    .filter((node) => participants.has(node.index))
    .map((node) => ({ ...node, participant: participants.get(node.index)! }));
  for (const node of nodes) node.participant.start();
  return { ...net, taskId, nodes, trainers };
}

/** The chain side of a network whose tasks a tree is created on: the treasury creates and funds them. */
export type TaskTreeChain = Pick<LocalVainNetwork, "publicClient" | "treasury" | "contracts" | "taskId">;

/**
 * A task tree's IDs: the root, its middle tasks (none with two levels) and the leaf group tasks, `leaves[m]` under
 * middle m (two levels: `leaves[0]`, every group under the root).
 */
export interface TaskTree {
  readonly root: bigint;
  readonly middles: readonly bigint[];
  readonly leaves: readonly (readonly bigint[])[];
}

/**
 * Creates and funds a task tree like `net`'s first task (its spec, model, reward and windows): with `middleLeaves`
 * all 0, a root over that many group tasks (its commit window holds a whole group round); else a root over one
 * middle task per entry, with that many leaf tasks under it (each level's commit window holds a whole round of the
 * level below, `parentCommitWindowS`). Only chain calls: who runs which task is the caller's.
 */
export async function createTaskTree(
  net: TaskTreeChain,
  parameterCount: number,
  middleLeaves: readonly number[],
): Promise<TaskTree> {
  const parameters = await firstTaskParameters(net, parameterCount);
  const ctx = { publicClient: net.publicClient, walletClient: net.treasury, contracts: net.contracts };
  // Single transactions sent again if their HTTP request failed before the chain had them (send-again.ts).
  const again = <T>(send: () => Promise<T>, ifLanded?: () => T) =>
    sendAgain(net.publicClient, net.treasury.account.address, send, ifLanded);
  const fund = async (ids: readonly bigint[]) => {
    for (const taskId of ids)
      await again(
        () => fundTask(ctx, { taskId, amountWei: parameters.rewardPerRoundWei * FUNDED_ROUNDS }),
        () => undefined,
      );
  };
  if (middleLeaves.every((leaves) => leaves === 0)) {
    const { commitWindowS: _, ...schedule } = parameters;
    const { parentTaskId, groupTaskIds } = await createGroupTasks(ctx, {
      groups: middleLeaves.length,
      parent: { ...schedule, proven: true },
      group: { ...schedule, commitWindowS: parameters.commitWindowS },
    });
    await fund([parentTaskId, ...groupTaskIds]);
    return { root: parentTaskId, middles: [], leaves: [groupTaskIds] };
  }
  const leaf: CreateTaskParameters = { ...parameters, proven: true };
  const middleCommitWindowS = parentCommitWindowS(leaf);
  const { parentTaskId: root, groupTaskIds: middles } = await createGroupTasks(ctx, {
    groups: middleLeaves.length,
    parent: { ...leaf, commitWindowS: parentCommitWindowS({ ...leaf, commitWindowS: middleCommitWindowS }) },
    group: { ...leaf, commitWindowS: middleCommitWindowS },
  });
  const leaves: bigint[][] = [];
  for (const [m, count] of middleLeaves.entries()) {
    const ids: bigint[] = [];
    for (let l = 0; l < count; l++) {
      const { taskId } = await again(() => createTask(ctx, leaf));
      await again(
        () => linkTask(ctx, { childTaskId: taskId, parentTaskId: middles[m]! }),
        () => undefined,
      );
      ids.push(taskId);
    }
    leaves.push(ids);
  }
  await fund([root, ...middles, ...leaves.flat()]);
  return { root, middles, leaves };
}

export interface GroupNetwork {
  /** The parent task: every node runs it (selection, watching); its trainers are the groups' leaders. */
  readonly parent: LocalVainNetwork;
  /** Group g's task with the nodes `members[g]`, each training there and committing its partials when it leads. */
  readonly groups: readonly LocalVainNetwork[];
  /** Each group's nodes as drawn (the composition asked for, when a seed gave it). */
  readonly members: readonly (readonly number[])[];
}

/**
 * A parent task and one group task per entry of `members` (node indices), created like `net`'s first task with
 * `createGroupTasks` (the parent's commit window holds a whole group round) and each funded like it. Every node
 * runs the parent; a member runs its group too, and hands the partials it leads to its parent participant.
 * Membership is the chain's draw (group-draw.ts): the composition asked for when a seed gives it, else the groups
 * the seed drew for the listed nodes (`GroupNetwork.members`).
 */
export async function addGroupTasks(
  net: LocalVainNetwork,
  members: readonly (readonly number[])[],
): Promise<GroupNetwork> {
  const tree = await createTaskTree(
    net,
    net.nodes[0]!.participant.parameterCount,
    members.map(() => 0),
  );
  const parentTaskId = tree.root;
  const [drawn] = await drawTreeMembers(drawChainOf(net), tree, [members]);
  const parents = new Map(net.nodes.map((node) => [node.index, node.participantFor(parentTaskId)]));
  const groups = drawn!.map((indices, g) => {
    const participants = new Map(
      indices.map((index) => {
        const parent = parents.get(index)!;
        const participant = net.nodes[index]!.participantFor(tree.leaves[0]![g]!, {
          parentTaskId,
          onPartial: (parentRoundId, bytes) => void parent.adoptPartial(parentRoundId, bytes),
        });
        return [index, participant] as const;
      }),
    );
    return viewOf(net, tree.leaves[0]![g]!, participants, indices.length);
  });
  return { parent: viewOf(net, parentTaskId, parents, members.length), groups, members: drawn! };
}

/** A three-level hierarchy on `net`: the root, its middle tasks, and the leaf group tasks under each middle. */
export interface ThreeLevelNetwork {
  readonly root: LocalVainNetwork;
  readonly middles: readonly LocalVainNetwork[];
  /** `leaves[m][l]`: leaf group l under middle m. */
  readonly leaves: readonly (readonly LocalVainNetwork[])[];
  /** `members[m][l]`: leaf l of middle m's nodes as drawn (the composition asked for, when a seed gave it). */
  readonly members: readonly (readonly (readonly number[])[])[];
}

/**
 * Three levels (MAX_TASK_LEVELS): a root task, one middle task per entry of `members`, and under middle m one leaf
 * group task per entry of `members[m]` (node indices), each created like `net`'s first task and funded like it.
 * Each level's commit window holds a whole round of the level below (`parentCommitWindowS`). Every node runs the
 * root, a node runs the middle above its leaf and its leaf, and each participant hands the partials it leads to
 * the one above, as `vain-node`'s TaskParticipants does.
 */
export async function addThreeLevelTasks(
  net: LocalVainNetwork,
  members: readonly (readonly (readonly number[])[])[],
): Promise<ThreeLevelNetwork> {
  const tree = await createTaskTree(
    net,
    net.nodes[0]!.participant.parameterCount,
    members.map((leaves) => leaves.length),
  );
  const { root: rootId, middles: middleIds, leaves: leafIds } = tree;
  const drawn = await drawTreeMembers(drawChainOf(net), tree, members);
  const roots = new Map(net.nodes.map((node) => [node.index, node.participantFor(rootId)]));
  const handOff = (above: RoundParticipant) => (roundId: bigint, bytes: Uint8Array) =>
    void above.adoptPartial(roundId, bytes);
  const middles = drawn.map(
    (leaves, m) =>
      new Map(
        leaves.flat().map((index) => {
          const roles = { parentTaskId: rootId, onPartial: handOff(roots.get(index)!) };
          return [index, net.nodes[index]!.participantFor(middleIds[m]!, roles)] as const;
        }),
      ),
  );
  const leafViews = drawn.map((leaves, m) =>
    leaves.map((indices, l) => {
      const participants = new Map(
        indices.map((index) => {
          const roles = { parentTaskId: middleIds[m]!, onPartial: handOff(middles[m]!.get(index)!) };
          return [index, net.nodes[index]!.participantFor(leafIds[m]![l]!, roles)] as const;
        }),
      );
      return viewOf(net, leafIds[m]![l]!, participants, indices.length);
    }),
  );
  return {
    root: viewOf(net, rootId, roots, members.length),
    middles: middles.map((participants, m) => viewOf(net, middleIds[m]!, participants, drawn[m]!.length)),
    leaves: leafViews,
    members: drawn,
  };
}
