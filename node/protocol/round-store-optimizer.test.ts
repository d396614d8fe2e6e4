/**
 * A trainer's local optimizer state across a restart: the Adam state a real training run returns survives the
 * round store (through prune), and continuing from it equals never having stopped; a torn file and another
 * task's state (other model, other optimizer) decode to a typed error, so the node starts from zero instead.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { LocalTrainer, createModel, loadMnist, subset } from "../training/index.ts";
import type { ModelSpec } from "../training/index.ts";
import {
  OptimizerStateFileError,
  decodeOptimizerState,
  encodeOptimizerState,
} from "../training/optimizer-state-file.ts";
import { RoundStore } from "./round-store.ts";

const MODEL: ModelSpec = { kind: "mlp", hidden: [8] };
const data = subset(
  loadMnist({ seed: 5, testFraction: 0.2 }).train,
  Array.from({ length: 64 }, (_, i) => i),
);
const options = { batchSize: 64, learningRate: 0.01, seed: 1, keepState: true };

describe("RoundStore: the local optimizer's state across a restart", () => {
  it("a restarted trainer resumes Adam exactly; torn or foreign state is a typed error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-store-opt-"));
    const trainer = await LocalTrainer.create(MODEL, { kind: "adam" });
    try {
      const init = trainer.model.init(2);
      const dimension = trainer.model.layout.size;
      const first = await trainer.train(init, data, { ...options, steps: 2 });
      const store = new RoundStore(dir);
      assert.equal(await store.loadOptimizerState(), undefined);
      await store.saveOptimizerState(encodeOptimizerState(first.state!));
      await store.saveOwnUpdate(3n, Uint8Array.of(1, 2, 3));
      await store.prune(10n);

      const restarted = new RoundStore(dir);
      const loaded = decodeOptimizerState((await restarted.loadOptimizerState())!, { dimension, vectors: 2 });
      assert.equal(loaded.steps, 2);
      assert.deepEqual(loaded.tensors, first.state!.tensors);
      const resumed = await trainer.train(first.params, data, { ...options, steps: 1, state: loaded });
      const uninterrupted = await trainer.train(first.params, data, {
        ...options,
        steps: 1,
        state: first.state,
      });
      assert.deepEqual(resumed.params, uninterrupted.params, "resuming from disk = never having stopped");
      assert.equal(resumed.state?.steps, 3, "Adam's bias correction continues from step 3");

      const code = (f: () => unknown) => {
        try {
          f();
        } catch (error) {
          assert.ok(error instanceof OptimizerStateFileError);
          return error.code;
        }
        return "none";
      };
      const bytes = (await restarted.loadOptimizerState())!;
      assert.equal(
        code(() => decodeOptimizerState(bytes, { dimension: dimension + 1, vectors: 2 })),
        "MISMATCH",
      );
      assert.equal(
        code(() => decodeOptimizerState(bytes, { dimension, vectors: 1 })),
        "MISMATCH",
      );
      const flipped = bytes.slice();
      flipped[20]! ^= 0xff;
      assert.equal(
        code(() => decodeOptimizerState(flipped, { dimension, vectors: 2 })),
        "BAD_CHECKSUM",
      );
      await writeFile(join(dir, "rounds", "optimizer.state"), bytes.subarray(0, 100));
      const torn = (await restarted.loadOptimizerState())!;
      assert.equal(
        code(() => decodeOptimizerState(torn, { dimension, vectors: 2 })),
        "TRUNCATED",
      );
      assert.equal(
        code(() => decodeOptimizerState(new Uint8Array(0), { dimension, vectors: 2 })),
        "TRUNCATED",
      );
      assert.equal(createModel(MODEL).layout.size, dimension);
    } finally {
      await trainer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
