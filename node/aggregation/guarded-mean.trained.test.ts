/**
 * The guarded mean on real updates: MLPs trained on MNIST in onnxruntime workers, three of ten trainers
 * backdoored (trigger patch relabelled to the target, norm kept at the honest median), and the node's
 * compressed updates (top-k 5%) with the demo's sign-flip poisoner and with a trainer whose node trains on
 * triggered data (the round adversary's data-poisoning hook).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { backdoorAttack, poisonWithTrigger, triggeredTestSet } from "../adversary/backdoor.ts";
import { roundAdversary } from "../adversary/index.ts";
import { signFlip } from "../adversary/poison-update.ts";
import { TopKCompressor, densify } from "../compression/index.ts";
import { difference, fedAvg } from "../core/updates.ts";
import type { WeightedUpdate } from "../core/updates.ts";
import { TrainingPool, loadMnist, partition, runSimulation, subset } from "../training/index.ts";
import type { ModelSpec } from "../training/index.ts";
import { createModel } from "../training/index.ts";
import { guardUpdates, guardedMeanAggregator, guardedMeanTrustAggregator } from "./index.ts";
import { runCompressedRounds } from "./testing/compressed-rounds.ts";

const MODEL: ModelSpec = { kind: "mlp", hidden: [32] };
const NODES = 10;
const ATTACKERS = 3;

describe("guarded mean on trained MNIST updates", { timeout: 300_000 }, () => {
  const pool = new TrainingPool();
  const all = loadMnist({ seed: 3 });
  // A quarter of the data keeps each round short on a loaded machine.
  const data = {
    train: subset(
      all.train,
      Array.from({ length: 2000 }, (_, i) => i),
    ),
    test: subset(
      all.test,
      Array.from({ length: 500 }, (_, i) => i),
    ),
  };
  after(() => pool.close());

  it("stops a norm-bounded backdoor (rejects every attacker, keeps every honest trainer) where FedAvg takes it", async () => {
    const run = async (aggregate: (u: readonly WeightedUpdate[]) => Float32Array) => {
      const { params } = await runSimulation(
        pool,
        {
          model: MODEL,
          optimizer: { kind: "sgd", momentum: 0.9 },
          server: "fedavg",
          nodes: NODES,
          rounds: 3,
          partition: { kind: "iid" },
          localEpochs: 1,
          batchSize: 32,
          learningRate: 0.05,
          seed: 2,
        },
        data,
        {
          transformNodeData: (nodes) => nodes.map((d, i) => (i < ATTACKERS ? poisonWithTrigger(d) : d)),
          transformUpdates: (round, updates) => {
            const bad = backdoorAttack.craft({
              round,
              own: updates.slice(0, ATTACKERS).map((u) => u.update),
              honest: updates.slice(ATTACKERS).map((u) => u.update),
              n: NODES,
              f: ATTACKERS,
              seed: 2,
            });
            return updates.map((u, i) => (i < ATTACKERS ? { update: bad[i]!, weight: u.weight } : u));
          },
          aggregate,
        },
      );
      const backdoor = (await pool.evaluate(MODEL, params, triggeredTestSet(data.test))).accuracy;
      return backdoor;
    };
    const rule = guardedMeanAggregator();
    const guarded = await run((u) => {
      const { aggregate, acceptedWeights } = rule.aggregate(u);
      assert.deepEqual(
        acceptedWeights.map((w) => w > 0),
        [...new Array(ATTACKERS).fill(false), ...new Array(NODES - ATTACKERS).fill(true)],
      );
      return aggregate;
    });
    const plain = await run((u) => fedAvg(u));
    assert.ok(guarded <= 0.1, `backdoor success under the guarded mean ${guarded}`);
    // Clean models send ~1% of triggered digits to the target; FedAvg lets the backdoor in.
    assert.ok(plain >= 0.3, `the attack works against FedAvg (${plain}), so the test can fail`);
  });

  it("on the node's top-k compressed updates rejects the sign-flip poisoner and no honest trainer", async () => {
    const model = createModel(MODEL);
    const global = model.init(1);
    const parts = partition(data.train, 5, { kind: "iid" }, 1);
    const deltas = await Promise.all(
      parts.map(async (local, i) => {
        const { params } = await pool.train({
          model: MODEL,
          params: global,
          data: local,
          options: { epochs: 1, batchSize: 32, learningRate: 0.1, seed: i + 1 },
        });
        return difference(params, global);
      }),
    );
    const sent = deltas.map((delta, i) => {
      const raw = i === 4 ? signFlip(delta, 4) : delta;
      return { update: densify(new TopKCompressor({ ratio: 0.05, seed: i + 1 }).compress(raw)), weight: 400 };
    });
    const result = guardUpdates(sent);
    assert.deepEqual(result.rejected, [false, false, false, false, true], JSON.stringify(result.updates));
  });

  it("on the node's top-k updates keeps a slow node that trained one step and claims that work, rejects the same update claiming the full count", async () => {
    const model = createModel(MODEL);
    const global = model.init(1);
    const parts = partition(data.train, 5, { kind: "iid" }, 1);
    // The demo's local work (2 epochs, lr 0.1); node 4 is too slow for it and trains one step
    // (protocol/round/trainer.ts plannedSteps), claiming the samples it processed.
    const trained = await Promise.all(
      parts.map(async (local, i) => {
        const { params, samples } = await pool.train({
          model: MODEL,
          params: global,
          data: local,
          options: {
            epochs: 4,
            batchSize: 32,
            learningRate: 0.1,
            seed: i + 1,
            ...(i === 4 ? { steps: 1 } : {}),
          },
        });
        const update = densify(
          new TopKCompressor({ ratio: 0.05, seed: i + 1 }).compress(difference(params, global)),
        );
        return { update, samples: Math.min(samples, local.count) };
      }),
    );
    const honest = trained.map((t) => ({ update: t.update, weight: t.samples }));
    const slow = guardUpdates(honest);
    assert.ok(
      slow.updates[4]!.normRatio < 0.05,
      `the premise: a one-step update is tiny (${slow.updates[4]!.normRatio})`,
    );
    assert.deepEqual(slow.rejected, [false, false, false, false, false], JSON.stringify(slow.updates));
    assert.ok(slow.acceptedWeights[4]! <= 32, "it weighs what it claims");
    const node = guardedMeanTrustAggregator().aggregate(honest, { trainers: honest.map((_, i) => `t${i}`) });
    assert.ok(
      node.acceptedWeights.every((w) => w > 0),
      JSON.stringify(node.reasons),
    );
    const freeRider = guardUpdates(honest.map((u, i) => (i === 4 ? { ...u, weight: honest[0]!.weight } : u)));
    assert.deepEqual(freeRider.updates[4]!.reasons, ["norm"]);
  });

  it("on the node's top-k updates, a trainer training on triggered data gets weight 0 every round and no backdoor", async () => {
    const trainers = 5;
    const parts = partition(data.train, trainers, { kind: "iid" }, 1);
    // What the node's trainer role trains on: `adversary.trainingData(local)` (node/protocol/round/trainer.ts).
    const adversaries = parts.map((_, i) => roundAdversary(i === 0 ? { poisonData: "backdoor" } : {}));
    const ids = parts.map((_, i) => `trainer-${i}`);
    const run = async (screened: boolean) => {
      const rule = guardedMeanTrustAggregator();
      const { excluded, global } = await runCompressedRounds({
        pool,
        model: MODEL,
        parts,
        rounds: 3,
        seed: 1,
        compression: { ratio: 0.05 },
        epochs: 1,
        trainingData: (i, local) => adversaries[i]!.trainingData(local),
        screen: (sent) =>
          screened
            ? rule.aggregate(sent, { trainers: ids })
            : { aggregate: fedAvg(sent), acceptedWeights: [] },
      });
      if (screened)
        for (const [r, names] of excluded.entries())
          assert.deepEqual(
            names.map((s) => s.split(":")[0]),
            ["0"],
            `round ${r + 1}: ${names.join(" ")}`,
          );
      return (await pool.evaluate(MODEL, global, triggeredTestSet(data.test))).accuracy;
    };
    const guarded = await run(true);
    const plain = await run(false);
    assert.ok(guarded <= 0.1, `backdoor success under the node's rule ${guarded}`);
    assert.ok(plain >= 0.3, `the poisoned trainer implants the backdoor under FedAvg (${plain})`);
  });
});
