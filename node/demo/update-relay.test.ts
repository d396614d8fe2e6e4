/**
 * A proven round's updates spread from a few seeds (issue #21, model distribution that scales; update-relay.ts).
 * Every watcher needs every update the aggregator screened (it recomputes the aggregate from them, and folds them
 * into its rule's memories). Before, the aggregator pushed each to every admitted peer (the busiest node of every
 * proven bench row, 1.80 / 5.15 / 5.24 MB up at 128 / 256 / 512 nodes). Now it pushes each to UPDATE_SEED_PEERS
 * seeds, and each node that checked one relays it on; a watcher still missing one fetches it from its holders.
 * Real chain, 12 real nodes (8 trainers, 4 that only watch), real training, proofs:
 * - round 1: every node holds every update (asked over the blob protocol, by commitment), and the aggregator
 *   uploaded at most seeds × the round's update bytes, plus its own replicas and what late fetches took from it;
 * - round 2: an aggregator that seeds nobody; the watchers still get every update (late fetches) in time to
 *   check the aggregate, and the round finalizes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";
import type { Hex } from "viem";

import { REPLICAS_PER_UPDATE } from "../protocol/round/round-data.ts";
import { UPDATE_SEED_PEERS } from "../protocol/round/constants.ts";
import { MAX_UPDATE_BYTES } from "../protocol/round/aggregation-recovery.ts";
import { setAggregators, startLocalVainNetwork } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18930;
const NODES = 12;
const TRAINERS = 8;
const HONEST_AGGREGATOR = 0;
const SILENT_AGGREGATOR = 1;

/** Every node's transfer counters, summed or per node. */
const stats = (net: LocalVainNetwork) => net.nodes.map((node) => ({ ...node.participant.stats }));

/**
 * The update bytes every node holds for the round, asked of it over the blob protocol by each trainer's
 * commitment (from one of its admitted peers' mesh, as any watcher would); throws naming a node that lacks one.
 */
async function heldEverywhere(
  net: LocalVainNetwork,
  roundId: bigint,
): Promise<{ sizes: number[]; trainers: readonly string[] }> {
  const round = await net.nodes[0]!.participant.readRound(roundId);
  const sizes: number[] = [];
  for (const [t, root] of round.commitments.entries()) {
    for (const node of net.nodes) {
      // One of its admitted peers (a connection it holds: a node's mesh is not complete).
      const admitted = new Set(node.mesh.admission.admitted().map((p) => p.peerId));
      const asker = net.nodes.find((n) => admitted.has(n.mesh.peerId.toString()));
      if (asker === undefined) throw new Error(`node ${node.index} has no admitted peer`);
      const bytes = await asker.mesh.blobs
        .fetchCommitted(node.mesh.peerId, (root as Hex).slice(2).toLowerCase(), MAX_UPDATE_BYTES)
        .catch((error: unknown) => {
          throw new Error(`node ${node.index} does not serve trainer ${t}'s update`, { cause: error });
        });
      sizes[t] = bytes.length;
    }
  }
  return { sizes, trainers: round.trainers.map((a) => a.toLowerCase()) };
}

describe("a proven round's updates spread from a few seeds", { timeout: 1_200_000 }, () => {
  let net: LocalVainNetwork;

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: NODES,
      trainers: TRAINERS,
      port: PORT,
      pollIntervalMs: 800,
      behaviours: { [SILENT_AGGREGATOR]: { seedNobody: true } },
      spec: {
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        aggregation: { rule: "fedavg", proven: true },
      },
      log: pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2)),
    });
  });

  after(async () => {
    await net?.stop();
  });

  it(`the aggregator seeds ${UPDATE_SEED_PEERS} peers an update; relays reach every other node`, async (t) => {
    await setAggregators(net, [HONEST_AGGREGATOR]);
    const before = stats(net);
    const report = await runRound(net, 1, 300_000);
    assert.equal(report.state, "finalized");
    assert.ok(report.proven, "a proven round");
    const after = stats(net);
    const { sizes, trainers } = await heldEverywhere(net, report.roundId);
    const roundBytes = sizes.reduce((a, b) => a + b, 0);
    const delta = (pick: (s: (typeof after)[number]) => number) =>
      after.map((s, i) => pick(s) - pick(before[i]!));
    const sent = delta((s) => s.bytesSent);
    const relayed = delta((s) => s.updatesRelayed);
    const late = delta((s) => s.lateFetches);
    const lateFetches = late.reduce((a, b) => a + b, 0);
    t.diagnostic(
      `round bytes ${roundBytes} (${sizes.join(", ")}); bytes up per node: ${sent.join(", ")}; ` +
        `relayed per node: ${relayed.join(", ")}; late fetches: ${late.join(", ")}`,
    );
    assert.ok(
      relayed.reduce((a, b) => a + b, 0) > 0,
      "nodes other than the aggregator relayed what they checked",
    );
    // Its seeds, its own update's replicas (it trains too), and at most one update per late fetch served.
    const own = sizes[trainers.indexOf(report.aggregator.toLowerCase())] ?? 0;
    const bound =
      UPDATE_SEED_PEERS * roundBytes + REPLICAS_PER_UPDATE * own + lateFetches * Math.max(...sizes);
    assert.ok(
      sent[HONEST_AGGREGATOR]! <= bound,
      `the aggregator sent ${sent[HONEST_AGGREGATOR]} B, more than ${bound} B (seeds × ${roundBytes} B + replicas + late fetches)`,
    );
    // Pushing to every peer, it sent about (NODES - 1 - 1 - replicas) × the round's bytes.
    assert.ok(sent[HONEST_AGGREGATOR]! < (NODES - 2 - REPLICAS_PER_UPDATE) * roundBytes);
  });

  it("an aggregator that seeds nobody: the watchers fetch every update and the round finalizes", async (t) => {
    await setAggregators(net, [SILENT_AGGREGATOR]);
    const before = stats(net);
    const report = await runRound(net, 2, 300_000);
    assert.equal(report.state, "finalized");
    assert.equal(
      report.aggregator.toLowerCase(),
      net.nodes[SILENT_AGGREGATOR]!.account.address.toLowerCase(),
    );
    for (const node of net.nodes)
      if (node.index !== SILENT_AGGREGATOR)
        assert.ok(
          node.participant.progress(report.roundId).aggregateChecked,
          `node ${node.index} checked it`,
        );
    await heldEverywhere(net, report.roundId);
    const late = stats(net).map((s, i) => s.lateFetches - before[i]!.lateFetches);
    t.diagnostic(`late fetches per node: ${late.join(", ")}`);
    assert.ok(late.reduce((a, b) => a + b, 0) > 0, "the watchers fetched what was not pushed");
  });
});
