/**
 * Aggregator failover on a real chain with real nodes (issue #25: a killed aggregator must not fail its round).
 * The selected aggregator's node is stopped (participant and mesh) as soon as it is selected; once its deadline
 * passes, the backup drawn with it reports the miss itself, takes over with a full window, the trainers deliver
 * their updates again to it, and the round finalizes proven. The killed operator is slashed for its miss and
 * paid less than it loses (at most a trainer's share for its update); nobody else loses stake.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Address } from "viem";

import { readDraws } from "../chain/draws.ts";
import { advancePast, startLocalVainNetwork } from "./network.ts";
import type { DemoNode, LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18747;

describe("aggregator failover", { timeout: 900_000 }, () => {
  let net: LocalVainNetwork;

  before(async () => {
    net = await startLocalVainNetwork({ nodes: 4, port: PORT });
  });

  after(async () => {
    await net?.stop();
  });

  it("hands a killed aggregator's round to its backup, which finalizes it", async () => {
    let killed: DemoNode | undefined;
    let backup: Address | undefined;
    const report = await runRound(net, 1, 600_000, 20_000, {
      onAggregating: async (roundId, aggregator, aggregateDeadline) => {
        backup = (await readDraws(net.publicClient, net.contracts.rounds, roundId)).backup;
        killed = net.nodes.find((n) => n.account.address.toLowerCase() === aggregator.toLowerCase());
        assert.ok(killed !== undefined, "the aggregator is one of the nodes");
        await killed.participant.stop();
        await killed.mesh.stop();
        await advancePast(net, aggregateDeadline);
      },
    });
    assert.ok(killed !== undefined && backup !== undefined, "an aggregator and a backup were drawn");
    const killedAddress = killed.account.address;
    assert.notEqual(backup.toLowerCase(), killedAddress.toLowerCase(), "the backup is another operator");
    assert.equal(report.state, "finalized", "the round finalized");
    assert.equal(report.aggregator.toLowerCase(), backup.toLowerCase(), "the backup aggregated it");
    assert.ok(report.proven, "proven, as the task requires");
    assert.deepEqual(
      [...report.slashed.keys()].map((a) => a.toLowerCase()),
      [killedAddress.toLowerCase()],
      "only the operator that missed its deadline is slashed",
    );
    // Its own update may still count (the backup pulls an update whose push never came from the peers holding a
    // replica, aggregation-recovery.ts), but the miss costs it more than that update earns.
    const earned = report.rewards.get(killedAddress) ?? 0n;
    assert.ok(
      earned < (report.slashed.get(killedAddress) ?? 0n),
      `the missed aggregator nets a loss (${earned})`,
    );
    const paid = net.nodes.filter((n) => n !== killed && (report.rewards.get(n.account.address) ?? 0n) > 0n);
    assert.equal(paid.length, 3, "the three live trainers are paid");
  });
});
