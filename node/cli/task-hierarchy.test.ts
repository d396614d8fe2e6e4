/**
 * `vain-node task create --groups G [--levels 3]` and `task link` (docs/protocol.md §7): the real binary against a
 * real `hardhat node` (port 18603). A proven hierarchy from one description: the tasks linked level by level on
 * chain, each level's commit window holding a whole round of the level below, one budget split over every pool
 * exactly; a hierarchy the chain or the clock would refuse is refused before anything is signed.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { keccak256, parseEther, toHex } from "viem";

import { assertUserError, cliJson, startCliChain } from "../../test/support/vain-cli.ts";
import type { CliChain } from "../../test/support/vain-cli.ts";
import { parentCommitWindowS, scheduleOf } from "../chain/actions/create-group-tasks.ts";
import { readGroupTasks } from "../chain/actions/read-task-links.ts";
import { trainingRoundsAbi } from "../chain/contracts.ts";
import { protocolAddresses } from "../chain/operator.ts";
import { readTaskPath } from "../protocol/group-tasks.ts";

const PORT = 18603;

describe("vain-node task create --groups / --levels and task link", { timeout: 300_000 }, () => {
  let h: CliChain;
  let signer: readonly string[];
  const cli = (args: readonly string[]) => h.cli(args);
  const json = cliJson;
  const userError = assertUserError;
  const rounds = () => protocolAddresses(h.deployment).rounds;
  const client = () => ({ publicClient: h.publicClient, contracts: protocolAddresses(h.deployment) });
  const counts = async () =>
    (
      await h.publicClient.readContract({ address: rounds(), abi: trainingRoundsAbi, functionName: "counts" })
    )[0];
  /** `task create <flags> --json` signed by the funded keystore: its one JSON line. */
  const createTask = async (...flags: string[]) =>
    json(await cli(["task", "create", ...flags, ...signer, "--json"]));
  const read = (taskId: bigint) =>
    h.publicClient.readContract({
      address: rounds(),
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [taskId],
    });

  before(async () => {
    h = await startCliChain(PORT);
    signer = h.signer;
  });

  after(async () => {
    await h?.stop();
  });

  it("creates a parent task and its proven group tasks, linked and funded, with --groups", async () => {
    const before = await counts();
    const created = await createTask(
      ...["--groups", "3", "--reward-per-round", "13", "--fund", "26"],
      ...["--commit-window", "20s", "--answer-window", "60s"],
    );
    const parentTaskId = BigInt(created["parentTaskId"] as string);
    const groupTaskIds = (created["groupTaskIds"] as string[]).map(BigInt);
    assert.equal(groupTaskIds.length, 3);
    assert.equal(await counts(), before + 4n);
    assert.deepEqual(await readGroupTasks(client(), { parentTaskId }), groupTaskIds);
    const parent = await read(parentTaskId);
    assert.equal(parent.partialsOnly, true);
    assert.equal(parent.proven, true);
    // The windows are the groups'; the parent's commit window holds a whole group round and the partial commit.
    assert.equal(parent.commitWindow, parentCommitWindowS({ commitWindowS: 20n, answerWindowS: 60n }));
    assert.equal(parent.answerWindow, 60n);
    // One budget over the 4 pools (group-budget.ts): the parent 1/13 of the fund and of the round's reward.
    assert.equal(parent.rewardPool, parseEther("2"));
    assert.equal(parent.rewardPerRound, parseEther("1"));
    for (const groupTaskId of groupTaskIds) {
      const group = await read(groupTaskId);
      assert.deepEqual(
        [
          group.proven,
          group.partialsOnly,
          group.commitWindow,
          group.answerWindow,
          group.rewardPool,
          group.rewardPerRound,
          group.specHash,
        ],
        [true, false, 20n, 60n, parseEther("8"), parseEther("4"), parent.specHash],
      );
    }
    // Refused before anything is signed: a group count out of range, an unproven spec.
    userError(
      await cli(["task", "create", "--groups", "1", "--reward-per-round", "1", ...signer]),
      /--groups 1: a parent task takes 2 to 16 group tasks/,
    );
    const unproven = join(h.dir, "unproven-groups-spec.json");
    await writeFile(
      unproven,
      JSON.stringify({ model: { kind: "mlp" }, aggregation: { rule: "fedavg", proven: false } }),
    );
    userError(
      await cli([
        "task",
        "create",
        "--spec",
        unproven,
        "--groups",
        "2",
        "--reward-per-round",
        "1",
        ...signer,
      ]),
      /--groups: group tasks are proven at every level/,
    );
    assert.equal(await counts(), before + 4n, "a refused --groups creates nothing");

    // A third level by hand (`task link`): a new root over the parent, refused while the root's commit window
    // cannot hold a whole round of the parent (its partials would always be late), then linked.
    const createRoot = async (commitWindow: string) =>
      BigInt(
        (
          await createTask(
            "--reward-per-round",
            "1",
            "--commit-window",
            commitWindow,
            "--answer-window",
            "60s",
          )
        )["taskId"] as string,
      );
    const tooShort = await createRoot("20s");
    userError(
      await cli(["task", "link", String(parentTaskId), String(tooShort), ...signer]),
      /commit window \(20 s\) cannot hold a whole round of task .*nothing was signed/,
    );
    const root = await createRoot(`${parentCommitWindowS(scheduleOf(await read(parentTaskId)))}s`);
    const linked = json(await cli(["task", "link", String(parentTaskId), String(root), ...signer, "--json"]));
    assert.equal(linked["parentTaskId"], root.toString());
    assert.deepEqual(await readGroupTasks(client(), { parentTaskId: root }), [parentTaskId]);
    // A fourth level, or a second parent, is the chain's to refuse: one line saying what a link needs.
    userError(
      await cli(["task", "link", String(groupTaskIds[0]), String(root), ...signer]),
      /InvalidLink.*at most 3 levels/,
    );
  });

  it("creates three levels with --levels 3: leaves under middles under a root, windows and budget per level", async () => {
    const before = await counts();
    const created = await createTask(
      ...["--groups", "2", "--levels", "3", "--reward-per-round", "169", "--fund", "169"],
      ...["--commit-window", "20s", "--answer-window", "30s"],
    );
    assert.equal(created["levels"], 3);
    const rootId = BigInt(created["parentTaskId"] as string);
    const middleIds = (created["groupTaskIds"] as string[]).map(BigInt);
    const leafIds = (created["leafTaskIds"] as string[][]).map((ids) => ids.map(BigInt));
    assert.equal(middleIds.length, 2);
    assert.deepEqual(
      leafIds.map((ids) => ids.length),
      [2, 2],
    );
    assert.equal(await counts(), before + 7n, "1 root + 2 middles + 4 leaves");
    // Linked level by level, in creation order.
    assert.deepEqual(await readGroupTasks(client(), { parentTaskId: rootId }), middleIds);
    for (const [m, middleId] of middleIds.entries())
      assert.deepEqual(await readGroupTasks(client(), { parentTaskId: middleId }), leafIds[m]);
    // Each level's commit window holds a whole round of the level below (and the partial's commit).
    const root = await read(rootId);
    const middles = await Promise.all(middleIds.map(read));
    const leaves = await Promise.all(leafIds.flat().map(read));
    for (const leaf of leaves) {
      assert.deepEqual(
        [leaf.commitWindow, leaf.answerWindow, leaf.proven, leaf.partialsOnly],
        [20n, 30n, true, false],
      );
    }
    for (const middle of middles) {
      assert.equal(middle.commitWindow, parentCommitWindowS(scheduleOf(leaves[0]!)));
      assert.deepEqual([middle.answerWindow, middle.proven, middle.partialsOnly], [30n, true, true]);
    }
    assert.equal(root.commitWindow, parentCommitWindowS(scheduleOf(middles[0]!)));
    assert.equal(root.partialsOnly, true);
    // One budget, the same rule at each level: the root 1/13 of all, each middle 1/13 of its subtree.
    assert.deepEqual([root.rewardPool, root.rewardPerRound], [parseEther("13"), parseEther("13")]);
    for (const middle of middles)
      assert.deepEqual([middle.rewardPool, middle.rewardPerRound], [parseEther("6"), parseEther("6")]);
    for (const leaf of leaves)
      assert.deepEqual([leaf.rewardPool, leaf.rewardPerRound], [parseEther("36"), parseEther("36")]);
    // A node configured with the root trains in its own leaf, two levels down.
    const path = await readTaskPath(client(), {
      taskId: rootId,
      operator: h.operator,
      seed: async () => ({ epoch: 1n, seed: keccak256(toHex("any seed")), seedBlock: 1n }),
    });
    assert.equal(path.levels.length, 2);
    assert.ok(leafIds.flat().includes(path.trainedTaskId));
    assert.deepEqual(path.ancestorTaskIds.at(-1), rootId);

    // Read as a person would: the tree, and what a leaf nobody trains in costs the rounds above it.
    const threeLevels = ["task", "create", "--groups", "2", "--levels", "3", "--reward-per-round", "1"];
    const human = await cli([...threeLevels, ...signer]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /created root task \d+ over 2 middle tasks \(\d+, \d+\), each over 2 leaf tasks/,
    );
    assert.match(
      human.stdout,
      /sized for +about 48 trainers \(12 a leaf\); a leaf nobody trains in holds every round above it/,
    );
    assert.match(human.stdout, /the root's: \d+ min\)/);

    // Refused before anything is signed: --levels without --groups, or a level count the chain cannot hold.
    userError(
      await cli(["task", "create", "--levels", "3", "--reward-per-round", "1", ...signer]),
      /--levels 3 needs --groups/,
    );
    userError(
      await cli(["task", "create", "--groups", "2", "--levels", "4", "--reward-per-round", "1", ...signer]),
      /--levels 4: a hierarchy has 2 or 3 levels/,
    );
    // 20-minute answer windows: the root's round (3 x 16 answer windows deep) could outlast the chain's 12 h.
    userError(
      await cli([...threeLevels, "--answer-window", "20m", ...signer]),
      /the root's round could run \d+ s, over the contract's 43200 s bound .*or use two levels/,
    );
    assert.equal(await counts(), before + 14n, "a refused --levels creates nothing");
  });
});
