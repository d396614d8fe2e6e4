/**
 * A node's group across group epochs (docs/protocol.md §7 "Group membership"), on Hardhat's simulated chain: the
 * group gate says which rounds the node may train in, as the contract will judge its commit (a member; not one
 * staked after the seed; not a round opened before its task was linked), and the regroup watch moves the node to
 * the group a new epoch's seed draws, only once it holds no duty on its old one. Seeds are the chain's own draws;
 * where a test needs an operator in a given group it chooses the seed block's prevrandao
 * (`hardhat_setPrevRandao`, as `vm.prevrandao` in Solidity tests).
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  createGroupTasks,
  createTask,
  fundTask,
  groupEpochAt,
  groupEpochEndS,
  linkTask,
  openRound,
  readGroupSeed,
  stake,
  transferTokens,
} from "../../node/chain/actions/index.ts";
import type { CreateTaskParameters } from "../../node/chain/actions/index.ts";
import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { GroupGate } from "../../node/protocol/group-gate.ts";
import { groupIndexOf, trainingTaskOf } from "../../node/protocol/group-tasks.ts";
import type { TaskPath } from "../../node/protocol/group-tasks.ts";
import { GroupRegroup } from "../../node/runtime/group-regroup.ts";
import { commitVerdict } from "./support/commit-verdict.ts";
import { drawSeedThat, simulatedChainDrawing } from "./support/draw-seed.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const [creator, member, late] = (await viem.getWalletClients()) as unknown as [Wallet, Wallet, Wallet];

const TASK: CreateTaskParameters = {
  modelRef: ("0x" + "11".repeat(32)) as Hex,
  parameters: 200,
  rewardPerRoundWei: 10n ** 18n,
};
const log = { info: () => undefined, warn: () => undefined };

describe("group epochs: the node's gate and its regroup follow the chain's draw", () => {
  const deployment = deployProtocol({ publicClient, walletClient: creator });
  const client = async (wallet: Wallet) => ({
    publicClient,
    walletClient: wallet,
    contracts: protocolAddresses(await deployment),
  });

  /** Draws the next epoch's seed (moving the chain there if this one's is drawn) so `operator` is in group `g`. */
  async function drawWith(parent: bigint, groups: number, operator: Address, g: number): Promise<Hex> {
    const c = await client(creator);
    const epoch = groupEpochAt((await publicClient.getBlock()).timestamp);
    const [, seedBlock] = await publicClient.readContract({
      address: c.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "groupSeed",
      args: [epoch],
    });
    if (seedBlock !== 0n) await networkHelpers.time.increaseTo(groupEpochEndS(epoch));
    const { seed } = await drawSeedThat(c, (s) => groupIndexOf(operator, parent, groups, s) === g);
    expect(groupIndexOf(operator, parent, groups, seed)).to.equal(g);
    return seed;
  }

  it("the gate admits the drawn member only, never a stake newer than the seed, nor a round opened unlinked", async () => {
    const c = await client(creator);
    for (const w of [member, late]) await transferTokens(c, { to: w.account.address, amountWei: 10n ** 21n });
    await stake(await client(member), { amountWei: 500n * 10n ** 18n, usePermit: false });
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 2, parent: TASK });
    for (const taskId of [parentTaskId, ...groupTaskIds])
      await fundTask(c, { taskId, amountWei: 10n ** 20n });
    const unlinked = await createTask(c, TASK);
    await fundTask(c, { taskId: unlinked.taskId, amountWei: 10n ** 20n });
    const before = await openRound(c, { taskId: unlinked.taskId });
    await linkTask(c, { childTaskId: unlinked.taskId, parentTaskId });
    await drawWith(parentTaskId, 3, member.account.address, 0);
    const rounds = await Promise.all(groupTaskIds.map((taskId) => openRound(c, { taskId })));
    const gate = (wallet: Wallet) => new GroupGate({ client: c, operator: wallet.account.address, log });
    const mine = gate(member);
    expect(await mine.refusal(groupTaskIds[0]!, rounds[0]!.roundId)).to.equal(undefined);
    expect(await mine.refusal(groupTaskIds[1]!, rounds[1]!.roundId)).to.contain(
      "drew this operator into task",
    );
    expect(await mine.refusal(unlinked.taskId, before.roundId)).to.contain("opened before its task");
    // The contract agrees with each verdict.
    const attempt = (wallet: Wallet, roundId: bigint) =>
      commitVerdict(publicClient, c.contracts.rounds, wallet.account, roundId);
    expect(await attempt(member, rounds[0]!.roundId)).to.equal("accepted");
    expect(await attempt(member, rounds[1]!.roundId)).to.contain("NotGroupMember");
    expect(await attempt(member, before.roundId)).to.contain("NotGroupMember");
    // Staked after the seed: refused in every group this epoch, by the gate and by the contract.
    await stake(await client(late), { amountWei: 500n * 10n ** 18n, usePermit: false });
    for (const [g, round] of rounds.entries()) {
      expect(await gate(late).refusal(groupTaskIds[g]!, round.roundId)).to.match(
        /before group epoch \d+'s seed/,
      );
      expect(await attempt(late, round.roundId)).to.contain("StakeNewerThanGroupSeed");
    }
  });

  it("the gate draws a missing seed in the background, skips the round meanwhile, and decides once it is fixed", async () => {
    const c = await client(creator);
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 2, parent: TASK });
    for (const taskId of [parentTaskId, ...groupTaskIds])
      await fundTask(c, { taskId, amountWei: 10n ** 20n });
    const epoch = groupEpochAt((await publicClient.getBlock()).timestamp);
    await networkHelpers.time.increaseTo(groupEpochEndS(epoch)); // a fresh epoch: nobody drew it
    const { roundId } = await openRound(c, { taskId: groupTaskIds[0]! });
    const gate = new GroupGate({
      client: c,
      draw: await client(member),
      drawing: simulatedChainDrawing(publicClient),
      operator: member.account.address,
      log,
    });
    expect(await gate.refusal(groupTaskIds[0]!, roundId)).to.equal("its group epoch's seed is being drawn");
    let verdict: string | undefined = "its group epoch's seed is being drawn";
    // Until the draw's two steps are mined (bounded by the test's timeout, not by a guess at the machine's speed).
    while (verdict === "its group epoch's seed is being drawn") {
      await new Promise((resolve) => setTimeout(resolve, 25));
      verdict = await gate.refusal(groupTaskIds[0]!, roundId);
    }
    const seed = await readGroupSeed(c, { epoch: epoch + 1n });
    expect(seed, "fixed by the gate's draw").to.not.equal(undefined);
    const drawnInto = groupIndexOf(member.account.address, parentTaskId, 2, seed!.seed);
    if (drawnInto === 0) expect(verdict).to.equal(undefined);
    else expect(verdict).to.contain("drew this operator into task");
    expect(await commitVerdict(publicClient, c.contracts.rounds, member.account, roundId)).to.contain(
      drawnInto === 0 ? "accepted" : "NotGroupMember",
    );
    gate.stop();
  });

  it("the regroup watch moves the node to its new epoch's group only once its duty on the old one ends", async () => {
    const c = await client(creator);
    const { parentTaskId, groupTaskIds } = await createGroupTasks(c, { groups: 2, parent: TASK });
    for (const taskId of [parentTaskId, ...groupTaskIds])
      await fundTask(c, { taskId, amountWei: 10n ** 20n });
    const me = member.account.address;
    await drawWith(parentTaskId, 2, me, 0);
    const path = await trainingTaskOf(c, { taskId: parentTaskId, operator: me, log });
    expect(path.trainedTaskId).to.equal(groupTaskIds[0]);
    const moves: TaskPath[] = [];
    const watch = new GroupRegroup({
      client: c,
      draw: await client(member),
      operator: me,
      configuredTaskId: parentTaskId,
      path,
      log,
      intervalMs: 3_600_000,
      onRegroup: (next) => moves.push(next),
    });
    await watch.check();
    expect(moves, "same epoch: stays").to.have.length(0);
    // A duty on the old group: it trains in its open round.
    const { roundId } = await openRound(c, { taskId: groupTaskIds[0]! });
    await (
      await client(member)
    ).walletClient.writeContract({
      address: c.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "commitUpdate",
      args: [roundId, ("0x" + "ab".repeat(32)) as Hex, 100n],
    });
    // The next epoch draws it into group 1.
    await drawWith(parentTaskId, 2, me, 1);
    await watch.check();
    expect(moves, "drawn elsewhere, but a trainer of an unfinished round of its old group").to.have.length(0);
    // The old round ends (nobody aggregates it: its selection window runs out and it closes unpaid).
    const round = await publicClient.readContract({
      address: c.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getDraws",
      args: [roundId],
    });
    if ((await publicClient.getBlock()).timestamp <= round.selectionDeadline)
      await networkHelpers.time.increaseTo(round.selectionDeadline + 1n);
    await (
      await client(creator)
    ).walletClient.writeContract({
      address: c.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "lockSelection",
      args: [roundId],
    });
    await watch.check();
    expect(moves).to.have.length(1);
    expect(moves[0]!.trainedTaskId).to.equal(groupTaskIds[1]);
    await watch.check();
    expect(moves, "asks once").to.have.length(1);
  });
});
