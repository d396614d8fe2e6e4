/**
 * Group tasks and their parent on a running local network (node/demo/network.ts), created like its first task
 * (spec, model, reward and windows, read from chain) and funded like it, with a participant for each started on
 * the nodes' meshes beside the first task's: nodes that run several tasks on one mesh, as a node in a group task
 * and its parent does (docs/protocol.md §7). Round traffic is routed by round (round-mesh.ts); transactions share
 * one nonce sequence per wallet (rounds-gateway.ts). Each task's view of the network is what `runRound` drives.
 */
import { trainingRoundsAbi } from "../chain/contracts.ts";
import { createGroupTasks, fundTask } from "../chain/actions/index.ts";
import { taskRuleName } from "../chain/actions/create-task.ts";
import type { CreateTaskParameters } from "../chain/actions/create-task.ts";
import type { RoundParticipant } from "../protocol/round/index.ts";
import type { LocalVainNetwork } from "./network.ts";

/** Rounds of a new task its funding pays for (as the first task's: network.ts funds 100 rounds). */
const FUNDED_ROUNDS = 100n;

/** The first task's parameters, from chain: what a task created "like it" is created with. */
async function firstTaskParameters(net: LocalVainNetwork): Promise<CreateTaskParameters> {
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
    parameters: net.nodes[0]!.participant.parameterCount,
    rewardPerRoundWei: first.rewardPerRound,
    commitWindowS: first.commitWindow,
    aggregateWindowS: first.aggregateWindow,
    challengeWindowS: first.challengeWindow,
    answerWindowS: first.answerWindow,
    disputeWindowS: first.disputeWindow,
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

export interface GroupNetwork {
  /** The parent task: every node runs it (selection, watching); its trainers are the groups' leaders. */
  readonly parent: LocalVainNetwork;
  /** Group g's task with the nodes `members[g]`, each training there and committing its partials when it leads. */
  readonly groups: readonly LocalVainNetwork[];
}

/**
 * A parent task and one group task per entry of `members` (node indices), created like `net`'s first task with
 * `createGroupTasks` (the parent's commit window holds a whole group round) and each funded like it. Every node
 * runs the parent; a member runs its group too, and hands the partials it leads to its parent participant.
 * Membership is the test's choice here: on chain nothing binds an operator to its hashed group (group-tasks.ts).
 */
export async function addGroupTasks(
  net: LocalVainNetwork,
  members: readonly (readonly number[])[],
): Promise<GroupNetwork> {
  const parameters = await firstTaskParameters(net);
  const ctx = { publicClient: net.publicClient, walletClient: net.treasury, contracts: net.contracts };
  const { commitWindowS: _, ...schedule } = parameters;
  const { parentTaskId, groupTaskIds } = await createGroupTasks(ctx, {
    groups: members.length,
    parent: { ...schedule, proven: true },
    group: { ...schedule, commitWindowS: parameters.commitWindowS },
  });
  for (const taskId of [parentTaskId, ...groupTaskIds])
    await fundTask(ctx, { taskId, amountWei: parameters.rewardPerRoundWei * FUNDED_ROUNDS });
  const parents = new Map(net.nodes.map((node) => [node.index, node.participantFor(parentTaskId)]));
  const groups = members.map((indices, g) => {
    const participants = new Map(
      indices.map((index) => {
        const parent = parents.get(index)!;
        const participant = net.nodes[index]!.participantFor(groupTaskIds[g]!, {
          parentTaskId,
          onPartial: (parentRoundId, bytes) => void parent.adoptPartial(parentRoundId, bytes),
        });
        return [index, participant] as const;
      }),
    );
    return viewOf(net, groupTaskIds[g]!, participants, indices.length);
  });
  return { parent: viewOf(net, parentTaskId, parents, members.length), groups };
}
