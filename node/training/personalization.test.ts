import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import pino from "pino";
import type { Hex } from "viem";

import { createModel } from "./architectures.ts";
import { loadMnist } from "./data/mnist.ts";
import { partition } from "./data/partition.ts";
import { Personalizer, holdOutSplit, personalizationSchema } from "./personalization.ts";
import type { PersonalModel } from "./personalization.ts";
import { TrainingPool } from "./pool.ts";

const { train } = loadMnist({ seed: 7, testFraction: 0.2 });
/** One node's shard under strong label skew (Dirichlet α = 0.1): a few classes, ordered by class. */
const shard = partition(train, 10, { kind: "dirichlet", alpha: 0.1 }, 3)[0]!;

describe("personalization", () => {
  const pool = new TrainingPool({ size: 1 });
  after(() => pool.close());

  it("holds out a random share: the held-out rows cover the shard's classes, not its last ones", () => {
    const { fit, held } = holdOutSplit(shard, 0.2, 1);
    assert.equal(fit.count + held.count, shard.count);
    assert.equal(held.count, Math.round(shard.count * 0.2));
    const classes = (rows: Uint8Array) => new Set(rows);
    const own = classes(shard.labels);
    // A head/tail cut of a class-ordered shard holds out only its last class(es).
    assert.ok(own.size >= 2, `the shard holds ${own.size} classes`);
    assert.ok(classes(held.labels).size >= Math.min(own.size, 2), "held-out rows span several classes");
  });

  it("fine-tunes each new global model once, keeps it local, and scores it against the global one", async () => {
    const spec = { kind: "mlp" } as const;
    const global = createModel(spec).init(1);
    const ready: PersonalModel[] = [];
    const personalizer = new Personalizer({
      pool,
      model: spec,
      train: { batchSize: 32, learningRate: 0.1 },
      data: shard,
      settings: personalizationSchema.parse({ steps: 20 }),
      log: pino({ level: "silent" }),
      onReady: (model) => void ready.push(model),
    });
    const ref: Hex = `0x${"11".repeat(32)}`;
    personalizer.refresh(ref, global);
    personalizer.refresh(ref, global); // busy, and the same model: no second run
    const deadline = Date.now() + 60_000;
    while (ready.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(ready.length, 1);
    const model = personalizer.model!;
    assert.equal(model.baseRef, ref);
    assert.notDeepEqual(model.params, global, "fine-tuned");
    // From an untrained model, 20 steps on the node's few classes beat it on its own held-out rows.
    assert.ok(
      model.personalAccuracy > model.globalAccuracy,
      `${model.personalAccuracy} > ${model.globalAccuracy}`,
    );
    personalizer.refresh(ref, global);
    await new Promise((r) => setImmediate(r));
    assert.equal(ready.length, 1, "the same model is not fine-tuned again");
  });

  it("is off by default", () => {
    assert.equal(personalizationSchema.parse({}).steps, 0);
    const personalizer = new Personalizer({
      pool,
      model: { kind: "mlp" },
      train: { batchSize: 32, learningRate: 0.1 },
      data: shard,
      settings: personalizationSchema.parse({}),
      log: pino({ level: "silent" }),
    });
    personalizer.refresh(`0x${"22".repeat(32)}`, createModel({ kind: "mlp" }).init(1));
    assert.equal(personalizer.model, undefined);
  });
});
