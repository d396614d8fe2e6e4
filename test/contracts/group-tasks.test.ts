/**
 * The node side of group tasks, first piece (docs/protocol.md §7, hierarchical rounds proven at every level,
 * issue #21), on Hardhat's simulated chain: one parent task and G proven group tasks created and linked from
 * one description (`createGroupTasks`), read back from `TaskLinked` (`readGroupTasks`, `readParentTask`), and
 * every operator's group (`readTaskPath`). A parent takes no trainer's update; a group round trains the
 * parent's model; a stranger cannot link its own task under someone else's parent; a description the chain
 * would refuse, or whose parent cannot hold a group round, creates nothing.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, getAddress, http, keccak256, toHex } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  createGroupTasks,
  createTask,
  fundTask,
  linkTask,
  openRound,
  parentCommitWindowS,
  readGroupTasks,
  readParentTask,
  stake,
  transferTokens,
} from "../../node/chain/actions/index.ts";
import type { CreateTaskParameters } from "../../node/chain/actions/index.ts";
import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { commitVerdict } from "./support/commit-verdict.ts";
import { simulatedChainDrawing } from "./support/draw-seed.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { InvalidArgumentError } from "../../node/chain/errors.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import {
  currentGroupSeed,
  groupCountFor,
  groupIndexOf,
  readTaskPath,
  trainingTaskOf,
} from "../../node/protocol/group-tasks.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const [creator, stranger, trainer] = (await viem.getWalletClients()) as unknown as [Wallet, Wallet, Wallet];

const TASK: CreateTaskParameters = {
  modelRef: ("0x" + "11".repeat(32)) as Hex,
  parameters: 200,
  rewardPerRoundWei: 10n ** 18n,
};
const GROUP_SCHEDULE = {
  commitWindowS: 20n,
  aggregateWindowS: 30n,
  challengeWindowS: 5n,
  answerWindowS: 60n,
  disputeWindowS: 10n,
};

describe("group tasks: created and linked from one description, read back by every node", () => {
  const deployment = deployProtocol({ publicClient, walletClient: creator });
  const client = async (wallet: Wallet) => ({
    publicClient,
    walletClient: wallet,
    contracts: protocolAddresses(await deployment),
  });
  const getTask = async (taskId: bigint) =>
    publicClient.readContract({
      address: (await client(creator)).contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [taskId],
    });
  const taskCount = async () =>
    (
      await publicClient.readContract({
        address: (await client(creator)).contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "counts",
      })
    )[0];

  it("creates a parent and 3 proven groups, linked; the parent's commit window holds a group round", async () => {
    const c = await client(creator);
    const created = await createGroupTasks(c, {
      groups: 3,
      parent: { ...TASK, proven: true, aggregateWindowS: 40n },
      group: { rewardPerRoundWei: 10n ** 17n, ...GROUP_SCHEDULE },
    });
    expect(created.groupTaskIds).to.have.length(3);
    // 1 parent + 3 groups + 3 links.
    expect(created.transactionHashes).to.have.length(7);
    expect(await readGroupTasks(c, { parentTaskId: created.parentTaskId })).to.deep.equal(
      created.groupTaskIds,
    );
    for (const groupTaskId of created.groupTaskIds) {
      expect(await readParentTask(c, { childTaskId: groupTaskId })).to.equal(created.parentTaskId);
      const group = await getTask(groupTaskId);
      expect(group.proven).to.equal(true);
      expect(group.partialsOnly).to.equal(false);
      expect(group.rewardPerRound).to.equal(10n ** 17n);
      expect(group.commitWindow).to.equal(20n);
      expect(group.modelRef).to.equal(TASK.modelRef);
    }
    expect(await readParentTask(c, { childTaskId: created.parentTaskId })).to.equal(undefined);
    const parent = await getTask(created.parentTaskId);
    expect(parent.partialsOnly).to.equal(true);
    expect(parent.proven).to.equal(true);
    expect(parent.aggregateWindow).to.equal(40n);
    // commit 20 + 4 × 30 aggregate + 5 challenge + 16 × 60 answers + 10 dispute, + 60 s for the partial commit.
    expect(parent.commitWindow).to.equal(parentCommitWindowS(GROUP_SCHEDULE));
    expect(parent.commitWindow).to.equal(20n + 120n + 5n + 960n + 10n + 60n);
  });

  it("refuses a trainer's update in the parent's round; a group round trains the parent's model", async () => {
    const c = await client(creator);
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 2, parent: TASK });
    await transferTokens(c, { to: trainer.account.address, amountWei: 1_000n * 10n ** 18n });
    await stake(await client(trainer), { amountWei: 500n * 10n ** 18n, usePermit: false });
    for (const taskId of [parentTaskId, ...groupTaskIds])
      await fundTask(c, { taskId, amountWei: 10n ** 20n });
    const { roundId: parentRound } = await openRound(c, { taskId: parentTaskId });
    const attempt = (roundId: bigint) =>
      commitVerdict(publicClient, c.contracts.rounds, trainer.account, roundId);
    expect(await attempt(parentRound)).to.contain("PartialsOnly");
    const { roundId: groupRound } = await openRound(c, { taskId: groupTaskIds[0]! });
    const [parentView, groupView] = await Promise.all(
      [parentRound, groupRound].map((roundId) =>
        publicClient.readContract({
          address: c.contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "getRound",
          args: [roundId],
        }),
      ),
    );
    expect(groupView!.baseModelRef).to.equal(parentView!.baseModelRef);
    expect(groupView!.partialsOnly).to.equal(false);
    expect(parentView!.partialsOnly).to.equal(true);
    // The group round takes the trainer's update only in the group this epoch's seed drew for it, as the node
    // computes it (the creator draws the seed here; the trainer staked blocks before).
    const seed = (await currentGroupSeed(c, { draw: c, ...simulatedChainDrawing(publicClient) }))!;
    const drawn = groupIndexOf(trainer.account.address, parentTaskId, 2, seed.seed);
    const { roundId: otherRound } = await openRound(c, { taskId: groupTaskIds[1]! });
    const rounds = [groupRound, otherRound];
    expect(await attempt(rounds[drawn]!)).to.equal("accepted");
    expect(await attempt(rounds[1 - drawn]!)).to.contain("NotGroupMember");
  });

  it("a stranger cannot link its own task under someone else's parent: the groups read back unchanged", async () => {
    const c = await client(creator);
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 2, parent: TASK });
    const s = await client(stranger);
    const own = await createTask(s, TASK);
    const linked = await linkTask(s, { childTaskId: own.taskId, parentTaskId }).then(
      () => "linked",
      (error: unknown) => String(error),
    );
    expect(linked).to.contain("InvalidLink");
    expect(await readGroupTasks(c, { parentTaskId })).to.deep.equal(groupTaskIds);
    expect(await readParentTask(c, { childTaskId: own.taskId })).to.equal(undefined);
  });

  it("refuses, before any transaction, a description the chain or the schedule would not hold", async () => {
    const c = await client(creator);
    const before = await taskCount();
    const refusals: [string, Promise<unknown>][] = [
      ["one group", createGroupTasks(c, { groups: 1, parent: TASK })],
      ["17 groups", createGroupTasks(c, { groups: 17, parent: TASK })],
      ["an unproven parent", createGroupTasks(c, { groups: 2, parent: { ...TASK, proven: false } })],
      [
        "a parent commit window shorter than a group round",
        createGroupTasks(c, { groups: 2, parent: { ...TASK, commitWindowS: 600n } }),
      ],
    ];
    for (const [what, attempt] of refusals) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, what).to.be.instanceOf(InvalidArgumentError);
    }
    expect(await taskCount()).to.equal(before);
  });

  it("puts every operator in exactly one group, the same for every node, spread over all groups", async () => {
    const c = await client(creator);
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 4, parent: TASK });
    const drawn = (await currentGroupSeed(c, { draw: c, ...simulatedChainDrawing(publicClient) }))!;
    const seed = drawn.seed;
    const operators: Address[] = Array.from({ length: 400 }, (_, i) =>
      getAddress(keccak256(toHex(`operator ${i}`)).slice(0, 42)),
    );
    const sizes = [0, 0, 0, 0];
    for (const operator of operators) sizes[groupIndexOf(operator, parentTaskId, 4, seed)]! += 1;
    // 400 over 4: 100 each in expectation, each within 5 standard deviations (√75 ≈ 8.7).
    for (const size of sizes) expect(size).to.be.within(57, 143);
    // Case does not move an operator, and the view from the parent and from any of its groups is the same.
    const me = operators[7]!;
    const index = groupIndexOf(me, parentTaskId, 4, seed);
    expect(groupIndexOf(me.toLowerCase() as Address, parentTaskId, 4, seed)).to.equal(index);
    for (const taskId of [parentTaskId, ...groupTaskIds]) {
      const path = await readTaskPath(c, { taskId, operator: me, seed: async () => drawn });
      expect(path).to.deep.equal({
        trainedTaskId: groupTaskIds[index],
        ancestorTaskIds: [parentTaskId],
        levels: [{ parentTaskId, groupTaskIds, groupIndex: index, groupTaskId: groupTaskIds[index] }],
        seed: drawn,
      });
    }
    // Another parent, or the next epoch's seed, spreads the same operators differently (a group is not a fixed
    // clique across tasks, nor across days: churn cannot gather sybils in one group).
    const moved = operators.filter(
      (o) => groupIndexOf(o, parentTaskId + 1n, 4, seed) !== groupIndexOf(o, parentTaskId, 4, seed),
    );
    expect(moved.length).to.be.greaterThan(200);
    const nextSeed = keccak256(seed);
    const regrouped = operators.filter(
      (o) => groupIndexOf(o, parentTaskId, 4, nextSeed) !== groupIndexOf(o, parentTaskId, 4, seed),
    );
    expect(regrouped.length).to.be.greaterThan(200);
    // Without a drawn seed a path through groups cannot be known, and is not guessed.
    const unknown = await readTaskPath(c, {
      taskId: parentTaskId,
      operator: me,
      seed: async () => undefined,
    }).then(
      () => "read",
      (error: unknown) => (error as Error).name,
    );
    expect(unknown).to.equal("GroupSeedNotDrawnError");
    const flat = await createTask(c, TASK);
    expect(
      await readTaskPath(c, { taskId: flat.taskId, operator: me, seed: async () => undefined }),
    ).to.deep.equal({
      trainedTaskId: flat.taskId,
      ancestorTaskIds: [],
      levels: [],
    });
    expect([10, 24, 25, 192, 193, 1_000].map((n) => groupCountFor(n))).to.deep.equal([2, 2, 3, 16, 16, 16]);
    // Under the flat verifier's cap of 8, groups of 6.
    expect([12, 13, 96].map((n) => groupCountFor(n, 8))).to.deep.equal([2, 3, 16]);
  });

  it("runs a node configured with a parent (or any of its groups) in its own group, a flat task as it is", async () => {
    const c = await client(creator);
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 3, parent: TASK });
    const flat = await createTask(c, TASK);
    const me = trainer.account.address;
    const { seed } = (await currentGroupSeed(c, { draw: c, ...simulatedChainDrawing(publicClient) }))!;
    const mine = groupTaskIds[groupIndexOf(me, parentTaskId, 3, seed)]!;
    const notMine = groupTaskIds.find((id) => id !== mine)!;
    const logged: string[] = [];
    const log = {
      info: (_: object, m: string) => logged.push(m),
      warn: (_: object, m: string) => logged.push(m),
    };
    for (const configured of [parentTaskId, notMine, mine])
      expect((await trainingTaskOf(c, { taskId: configured, operator: me, log })).trainedTaskId).to.equal(
        mine,
      );
    expect((await trainingTaskOf(c, { taskId: flat.taskId, operator: me, log })).trainedTaskId).to.equal(
      flat.taskId,
    );
    expect(logged.filter((m) => m.includes("training in the group this epoch's seed drew"))).to.have.length(
      3,
    );
    // A chain that cannot be read: the configured task, with a warning (the node still starts).
    const down = {
      publicClient: createPublicClient({ transport: http("http://127.0.0.1:1", { retryCount: 0 }) }),
      contracts: c.contracts,
    } as unknown as typeof c;
    expect((await trainingTaskOf(down, { taskId: parentTaskId, operator: me, log })).trainedTaskId).to.equal(
      parentTaskId,
    );
    expect(logged.at(-1)).to.contain("could not read the task's groups");
  });

  it("three levels: a node configured with any task of the hierarchy trains in its group of its group", async () => {
    const c = await client(creator);
    const { parentTaskId: root, groupTaskIds: middles } = await createGroupTasks(c, {
      groups: 2,
      parent: TASK,
    });
    // Two leaf groups under each middle level, linked by the creator (`linkTask`).
    const leavesOf = new Map<bigint, bigint[]>();
    for (const middle of middles) {
      const leaves: bigint[] = [];
      for (let i = 0; i < 2; i++) {
        const { taskId } = await createTask(c, TASK);
        await linkTask(c, { childTaskId: taskId, parentTaskId: middle });
        leaves.push(taskId);
      }
      leavesOf.set(middle, leaves);
    }
    const me = trainer.account.address;
    const { seed } = (await currentGroupSeed(c, { draw: c, ...simulatedChainDrawing(publicClient) }))!;
    const middle = middles[groupIndexOf(me, root, 2, seed)]!;
    const leaf = leavesOf.get(middle)![groupIndexOf(me, middle, 2, seed)]!;
    const log = { info: () => undefined, warn: () => undefined };
    for (const configured of [root, ...middles, ...[...leavesOf.values()].flat()]) {
      const path = await trainingTaskOf(c, { taskId: configured, operator: me, log });
      expect(path.trainedTaskId, `configured ${configured}`).to.equal(leaf);
      expect(path.ancestorTaskIds).to.deep.equal([middle, root]);
    }
    // A fourth level is refused by the chain (MAX_TASK_LEVELS).
    const { taskId: deeper } = await createTask(c, TASK);
    const refused = await linkTask(c, { childTaskId: deeper, parentTaskId: leaf }).then(
      () => "linked",
      (error: unknown) => String(error),
    );
    expect(refused).to.contain("InvalidLink");
  });
});
