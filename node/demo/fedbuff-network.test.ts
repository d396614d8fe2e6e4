/**
 * A buffered (FedBuff) task on a real chain with heterogeneous speeds (docs/protocol.md §7, "Buffered rounds"): four
 * trainers, one of them slower than the rounds go (its training run returns only when the test opens its gate). Rounds 1 and 2
 * finalize with the three fast trainers, each training from the newest model; the slow node's update, trained
 * from the task's initial model, lands in round 3 two model steps stale: it counts (weight > 0, rewarded), at
 * most (1 + 2)^-0.5 of its sample count, and names the initial model as its base.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";
import { runRound } from "./rounds.ts";

const PORT = 18886;
const SLOW = 3;

describe("FedBuff task on a real network", { timeout: 900_000 }, () => {
  let net: LocalVainNetwork | undefined;
  after(async () => {
    await net?.stop();
  });

  it("a slow node's stale update counts in a later round, discounted for its staleness", async (t) => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    net = await startLocalVainNetwork({
      nodes: 4,
      port: PORT,
      // Phases long enough for a loaded CI machine (the clock is moved past each once its work is done).
      windowS: 120n,
      spec: {
        train: { epochs: 1, batchSize: 32, learningRate: 0.1 },
        rounds: { mode: "fedbuff", bufferSize: 4, stalenessExponent: 0.5, maxStaleness: 8 },
      },
      trainingGates: { [SLOW]: () => gate },
    });
    const slow = net.nodes[SLOW]!;
    const initialRef = slow.participant.initialModelRef;
    await setAggregators(net, [0]);
    for (let round = 1; round <= 2; round++) {
      const report = await runRound(net, round, 300_000, 180_000, { commits: 3 });
      assert.equal(report.state, "finalized", `round ${round}`);
      const final = await slow.participant.readRound(report.roundId);
      assert.ok(
        !final.trainers.some((t) => t.toLowerCase() === slow.account.address.toLowerCase()),
        `the slow node is still training in round ${round}`,
      );
      assert.equal(final.weights.filter((w) => w > 0n).length, 3, `round ${round}: the fast trainers count`);
    }
    // The slow node finishes its run from the initial model; the model has moved two steps since.
    open();
    await waitFor("the slow node's update", 120_000, async () =>
      slow.participant.bufferedUpdateReady ? true : undefined,
    );
    const report = await runRound(net, 3, 300_000, 180_000, { commits: 4 });
    assert.equal(report.state, "finalized");
    const round = await slow.participant.readRound(report.roundId);
    const i = round.trainers.findIndex((t) => t.toLowerCase() === slow.account.address.toLowerCase());
    assert.ok(i >= 0, "the slow node committed into round 3");
    const weight = Number(round.weights[i]!);
    const samples = Number(round.sampleCounts[i]!);
    t.diagnostic(
      `round 3: samples ${round.sampleCounts.join(",")}, weights ${round.weights.join(",")} (slow node ${i})`,
    );
    assert.ok(weight > 0, "its work counts");
    assert.ok(
      weight <= Math.ceil(samples / Math.sqrt(3)),
      `discounted: weight ${weight} of ${samples} samples`,
    );
    assert.ok((report.rewards.get(slow.account.address) ?? 0n) > 0n, "and is paid");
    assert.notEqual(
      round.baseModelRef.toLowerCase(),
      initialRef.toLowerCase(),
      "round 3 starts from a newer model",
    );
    // The fast trainers' updates were trained from round 3's own base: full weight up to the guard's own down-weighting.
    for (const [k, w] of round.weights.entries())
      if (k !== i) assert.ok(Number(w) > weight, `fresh trainer ${k} weighs more than the stale one`);
  });
});
