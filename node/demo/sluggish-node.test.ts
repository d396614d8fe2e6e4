/**
 * A node too slow to act in time takes no duty it could be slashed for (#25; soak 2026-12-06 at load 7-15: every
 * node of five noticed its selection 14-23 s late, and three honest fallback aggregators were slashed for missing
 * 15 s aggregate windows). Any committed trainer can be drawn as the round's aggregator or its backup, so a node
 * whose round ticks cannot notice a selection and post within the task's aggregate window must not commit, and
 * must take part again once its ticks are fast.
 * Real chain, real nodes; node 2 reads the chain through an endpoint that answers each request seconds late.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";

import pino from "pino";

import { REACTION_TICKS } from "../protocol/round/reaction-budget.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18915;
const SLUGGISH = 2;
/** The task's aggregate window (chain s): a drawn aggregator has this long to post. */
const AGGREGATE_WINDOW_S = 20n;
/** Added to each of the sluggish node's chain reads (ms): a tick makes at least two rounds of reads, so over 20 s / 3. */
const READ_DELAY_MS = 4_000;

describe("a node too slow to post in time sits rounds out", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;
  let delayMs = READ_DELAY_MS;
  /** The sluggish node's warnings (its sit-out notices). */
  const warnings: string[] = [];

  before(async () => {
    const lines = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) {
          const entry = JSON.parse(line) as { node?: number; level: number; msg: string };
          if (entry.node === SLUGGISH && entry.level >= 40) warnings.push(entry.msg);
        }
        done();
      },
    });
    net = await startLocalVainNetwork({
      nodes: 3,
      port: PORT,
      aggregateWindowS: AGGREGATE_WINDOW_S,
      rpcDelayMs: (index) => (index === SLUGGISH ? delayMs : 0),
      log: pino({ level: "warn" }, lines),
      spec: {
        model: { kind: "mlp", inputSize: 784, hidden: [16], classes: 10 },
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        aggregation: { proven: false },
      },
    });
    await setAggregators(net, [0]);
  });

  after(async () => {
    await net?.stop();
  });

  it("does not commit while its ticks are too slow, and is not slashed", async () => {
    const sluggish = net.nodes[SLUGGISH]!;
    const needed = await waitFor(
      "the sluggish node to measure its ticks",
      120_000,
      async () => sluggish.participant.shortfall().reactionNeedsMs,
    );
    assert.ok(needed > Number(AGGREGATE_WINDOW_S) * 1000, `needs ${needed} ms to post`);
    assert.ok(needed >= REACTION_TICKS * READ_DELAY_MS, "several delayed reads a tick, three ticks");
    const report = await runRound(net, 1, 300_000, 20_000, {
      commits: 2,
      // The commit window closes only once the sluggish node has looked at the open round and said it sits out.
      afterCommits: async () => {
        await waitFor("the sluggish node's sit-out notice", 240_000, async () =>
          warnings.some((w) => w.includes("round ticks are too slow")) ? true : undefined,
        );
      },
    });
    assert.equal(report.state, "finalized");
    const trainers = report.rewards;
    assert.equal(trainers.get(sluggish.account.address) ?? 0n, 0n, "sat out: no reward");
    assert.equal(report.slashed.size, 0, "nobody slashed");
    for (const node of net.nodes.slice(0, SLUGGISH))
      assert.ok((trainers.get(node.account.address) ?? 0n) > 0n, `node ${node.index} trained and was paid`);
  });

  it("takes part again once its ticks are fast", async () => {
    delayMs = 0;
    const sluggish = net.nodes[SLUGGISH]!;
    await waitFor("the node's ticks to be fast again", 120_000, async () =>
      sluggish.participant.shortfall().reactionNeedsMs === undefined ? true : undefined,
    );
    const report = await runRound(net, 2, 300_000);
    assert.equal(report.state, "finalized");
    assert.ok((report.rewards.get(sluggish.account.address) ?? 0n) > 0n, "it trained and was paid");
    assert.equal(report.slashed.size, 0, "nobody slashed");
  });
});
