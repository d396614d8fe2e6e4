/**
 * Hierarchical rounds proven at every level, run by the nodes (issue #21, docs/protocol.md §7): two group tasks of
 * three nodes and their parent task on a real chain, real meshes, real training and real Groth16 proofs. Each
 * group round is an ordinary proven round drawn among its own trainers; its aggregator commits the group's
 * aggregate into the parent's open round (`commitPartial`) and delivers it there as its update; the parent's round,
 * which nobody trains in, is aggregated by one of the leaders, challenged and answered with proofs like any proven
 * round. Every node runs its group's task and the parent's on one mesh (and the network's first task, idle): the
 * mesh's round router (round-mesh.ts) hands each push to the task whose round it names. Before the router, the
 * last participant built on a mesh took over its blob handlers, and the other tasks' rounds never got their updates.
 * A liar at the parent's level is slashed like one in a flat round: a node in no group that volunteers for the
 * parent and posts a biased aggregate over the partials is challenged by the watchers (who recompute the parent's
 * aggregate from the partials pushed to them) and slashed, while the groups' rounds under it stand. Three levels
 * run the same way: leaf rounds into their middle task's round, whose finalized rounds go into the root's.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";

import { trainingRoundsAbi } from "../chain/contracts.ts";
import { MeshError } from "../p2p/errors.ts";
import { blobMeta } from "../protocol/round/blob-meta.ts";
import { addGroupTasks, addThreeLevelTasks } from "./group-network.ts";
import type { GroupNetwork } from "./group-network.ts";
import { setAggregators, startLocalVainNetwork } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";
import type { RoundReport } from "./rounds.ts";

const PORT = 18963;
const MEMBERS = [
  [0, 1, 2],
  [3, 4, 5],
];
/** In no group: it runs the parent's task only, and aggregates it with a biased aggregate when drawn. */
const LIAR = 6;
/** Three levels: two middle tasks, each over two leaf groups (node indices; the liar in none). */
const LEVELS = [
  [[0, 1], [2]],
  [[3, 4], [5]],
];

describe("group rounds and their parent, proven at both levels", { timeout: 900_000 }, () => {
  let net: LocalVainNetwork;
  let tasks: GroupNetwork;

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: MEMBERS.flat().length + 1,
      port: PORT,
      behaviours: { [LIAR]: { cheatAggregate: true } },
      pollIntervalMs: 800,
      spec: {
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        // The plain weighted mean: a parent round of two partials is no sample to screen outliers in.
        aggregation: { rule: "fedavg", proven: true },
      },
      log: pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2)),
    });
    // No aggregator candidates: each round's aggregator is drawn among its own trainers (a group's members, the
    // parent's leaders), who run its task. (The liar volunteers for the parent in the second test only.)
    await setAggregators(net, []);
    tasks = await addGroupTasks(net, MEMBERS);
  });

  after(async () => {
    await net?.stop();
  });

  const read = (roundId: bigint) =>
    net.publicClient.readContract({
      address: net.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });

  it("each group round is proven and committed into the parent's round, which is proven over the partials", async () => {
    const groupReports: RoundReport[] = [];
    const parent = await runRound(tasks.parent, 1, 600_000, 180_000, {
      // The groups' rounds run inside the parent's commit window; their leaders commit into it.
      afterOpen: async () => {
        for (const group of tasks.groups) groupReports.push(await runRound(group, 1, 600_000, 180_000));
      },
      commits: MEMBERS.length,
    });
    const leaders: string[] = [];
    for (const [g, report] of groupReports.entries()) {
      assert.equal(report.state, "finalized", `group ${g}'s round`);
      assert.ok(report.proven, `group ${g}'s round is proven`);
      assert.equal(report.included, MEMBERS[g]!.length, `group ${g}: every member's update accepted`);
      assert.deepEqual([...report.slashed.keys()], [], `group ${g}: nobody slashed`);
      leaders.push(report.aggregator.toLowerCase());
    }
    assert.equal(parent.state, "finalized", "the parent's round");
    assert.ok(parent.proven, "the parent's round is proven");
    assert.equal(parent.included, MEMBERS.length, "both partials accepted");
    assert.deepEqual([...parent.slashed.keys()], [], "nobody slashed in the parent's round");
    const parentRound = await read(parent.roundId);
    assert.ok(parentRound.partialsOnly);
    // The parent's trainers are the groups' leaders, each committing its group round's aggregate.
    assert.deepEqual(parentRound.trainers.map((t) => t.toLowerCase()).sort(), [...leaders].sort());
    for (const [g, report] of groupReports.entries()) {
      const groupRound = await read(report.roundId);
      const i = parentRound.trainers.findIndex((t) => t.toLowerCase() === leaders[g]);
      assert.equal(parentRound.commitments[i], groupRound.aggregateCommitment, `group ${g}'s partial`);
    }
    // Paid from each round's own pool: every group member in its group's round, each leader in the parent's.
    const creditedIn = async (roundId: bigint) => {
      const events = await net.publicClient.getContractEvents({
        address: net.contracts.rounds,
        abi: trainingRoundsAbi,
        eventName: "RewardCredited",
        args: { roundId },
        fromBlock: 0n,
      });
      return new Set(
        events.filter((e) => (e.args.amount ?? 0n) > 0n).map((e) => e.args.account!.toLowerCase()),
      );
    };
    assert.ok(leaders.includes(parent.aggregator.toLowerCase()), "the parent's aggregator is a leader");
    const parentPaid = await creditedIn(parent.roundId);
    for (const leader of leaders)
      assert.ok(parentPaid.has(leader), `leader ${leader} paid in the parent's round`);
    for (const [g, report] of groupReports.entries()) {
      const paid = await creditedIn(report.roundId);
      for (const index of MEMBERS[g]!)
        assert.ok(
          paid.has(net.nodes[index]!.account.address.toLowerCase()),
          `node ${index} paid in group ${g}`,
        );
    }
    // Every node runs three tasks on one mesh (the network's first, its group's, the parent's): a push names its
    // round, and the mesh's router refuses one of none of them before any task's handler sees it.
    const aggregatorPeer = net.nodes[0]!.mesh.libp2p.peerId;
    await assert.rejects(
      net.nodes[1]!.mesh.blobs.push(aggregatorPeer, "update", new Uint8Array(64), blobMeta(10_000n)),
      (error: unknown) =>
        error instanceof MeshError &&
        error.code === "BLOB_REJECTED" &&
        /not a round of this node's tasks/.test(error.message),
    );
    // The parent's model moved from the base the groups trained: every node derives the same one.
    assert.notEqual(parentRound.modelRef, parentRound.baseModelRef);
    for (const node of tasks.parent.nodes) {
      const model = await node.participant.ensureModel(parentRound.modelRef);
      assert.ok(model !== undefined, `node ${node.index} holds the parent's new model`);
    }
  });

  it("a lying parent aggregator is challenged over the partials and slashed; the group rounds under it stand", async () => {
    const liar = net.nodes[LIAR]!.account.address;
    await setAggregators(net, [LIAR], tasks.parent.taskId);
    const groupReports: RoundReport[] = [];
    // The liar cannot prove its chunk: 30 s without it answering is enough (an answering aggregator is waited for).
    const parent = await runRound(tasks.parent, 2, 600_000, 30_000, {
      afterOpen: async () => {
        for (const group of tasks.groups) groupReports.push(await runRound(group, 2, 600_000, 180_000));
      },
      commits: MEMBERS.length,
    });
    for (const [g, report] of groupReports.entries()) {
      assert.equal(report.state, "finalized", `group ${g}'s round`);
      assert.deepEqual([...report.slashed.keys()], [], `group ${g}: nobody slashed`);
    }
    assert.equal(
      parent.aggregator.toLowerCase(),
      liar.toLowerCase(),
      "the volunteer aggregated the parent's round",
    );
    assert.equal(parent.state, "failed", "a wrong parent aggregate never finalizes");
    assert.ok((parent.slashed.get(liar) ?? 0n) > 0n, "the liar is slashed, not only left out");
    for (const node of net.nodes)
      if (node.index !== LIAR)
        assert.equal(parent.slashed.get(node.account.address) ?? 0n, 0n, `node ${node.index} not slashed`);
    const failed = await net.publicClient.getContractEvents({
      address: net.contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "ChallengeFailed",
      args: { roundId: parent.roundId },
      fromBlock: 0n,
    });
    assert.equal(failed.length, 1, "one challenged chunk of the parent's aggregate could not be proven");
  });

  it("three levels: leaf rounds into middle rounds into the root's, every level proven on the root's model", async () => {
    const three = await addThreeLevelTasks(net, LEVELS);
    const leafReports: RoundReport[][] = LEVELS.map(() => []);
    const middleReports: RoundReport[] = [];
    const root = await runRound(three.root, 1, 900_000, 180_000, {
      afterOpen: async () => {
        for (const [m, middle] of three.middles.entries())
          middleReports.push(
            await runRound(middle, 1, 900_000, 180_000, {
              afterOpen: async () => {
                for (const leaf of three.leaves[m]!)
                  leafReports[m]!.push(await runRound(leaf, 1, 600_000, 180_000));
              },
              commits: LEVELS[m]!.length,
            }),
          );
      },
      commits: LEVELS.length,
    });
    const rootRound = await read(root.roundId);
    const levels = [...leafReports.flat(), ...middleReports, root];
    for (const report of levels) {
      assert.equal(report.state, "finalized", `round ${report.roundId}`);
      assert.ok(report.proven, `round ${report.roundId} is proven`);
      assert.deepEqual([...report.slashed.keys()], [], `round ${report.roundId}: nobody slashed`);
      assert.equal(
        (await read(report.roundId)).baseModelRef,
        rootRound.baseModelRef,
        "every level trains the root's model",
      );
    }
    // Each level's trainers are the leaders below it, each committing its round's aggregate.
    const ledBy = async (reports: readonly RoundReport[], above: RoundReport) => {
      const upper = await read(above.roundId);
      for (const report of reports) {
        const i = upper.trainers.findIndex((t) => t.toLowerCase() === report.aggregator.toLowerCase());
        assert.ok(i >= 0, `round ${report.roundId}'s leader is a trainer of round ${above.roundId}`);
        assert.equal(upper.commitments[i], (await read(report.roundId)).aggregateCommitment);
      }
    };
    for (const [m, middle] of middleReports.entries()) await ledBy(leafReports[m]!, middle);
    await ledBy(middleReports, root);
    assert.equal(root.included, LEVELS.length, "both middle partials accepted at the root");
    assert.notEqual(rootRound.modelRef, rootRound.baseModelRef, "the root's model moved");
  });
});
