import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { fedAvg } from "../core/updates.ts";
import {
  AdaptiveServer,
  DataValidationError,
  DiLoCoServer,
  LocalTrainer,
  PartitionError,
  TrainingPool,
  createModel,
  loadCsv,
  loadDataDirectory,
  loadIdx,
  loadMnist,
  partitionIndices,
  runSimulation,
  subset,
} from "./index.ts";

const mnist = loadMnist({ seed: 3, testFraction: 0.2 });
const small = {
  train: subset(
    mnist.train,
    Array.from({ length: 1200 }, (_, i) => i),
  ),
  test: mnist.test,
};

describe("training engine", () => {
  it("splits the packaged MNIST reproducibly", () => {
    assert.equal(mnist.train.count + mnist.test.count, 10_000);
    assert.equal(mnist.test.count, 2_000);
    const again = loadMnist({ seed: 3, testFraction: 0.2 });
    assert.deepEqual(again.test.labels.subarray(0, 50), mnist.test.labels.subarray(0, 50));
    assert.notDeepEqual(
      loadMnist({ seed: 4 }).test.labels.subarray(0, 50),
      mnist.test.labels.subarray(0, 50),
    );
  });

  for (const spec of [{ kind: "mlp" as const }, { kind: "cnn" as const }]) {
    it(`${spec.kind} learns MNIST with SGD and Adam`, async () => {
      for (const optimizer of [{ kind: "sgd" as const, momentum: 0.9 }, { kind: "adam" as const }]) {
        const trainer = await LocalTrainer.create(spec, optimizer);
        const init = trainer.model.init(1);
        const before = await trainer.evaluate(init, small.test);
        const lr = optimizer.kind === "adam" ? 0.002 : 0.05;
        const result = await trainer.train(init, small.train, { epochs: 2, batchSize: 32, learningRate: lr });
        const after = await trainer.evaluate(result.params, small.test);
        await trainer.close();
        assert.ok(before.accuracy < 0.2, `untrained accuracy ${before.accuracy}`);
        assert.ok(after.accuracy > 0.75, `${spec.kind}/${optimizer.kind} accuracy ${after.accuracy}`);
        assert.ok(after.loss < before.loss);
        assert.notDeepEqual(result.params, init);
      }
    });
  }

  it("applies the FedProx term: a large mu keeps local weights near the global ones", async () => {
    const global = createModel({ kind: "mlp", hidden: [16] }).init(2);
    const drift = async (mu: number) => {
      const trainer = await LocalTrainer.create(
        { kind: "mlp", hidden: [16] },
        { kind: "sgd", momentum: 0 },
        mu,
      );
      const r = await trainer.train(global, small.train, {
        steps: 30,
        batchSize: 32,
        learningRate: 0.1,
        globalParams: global,
      });
      await trainer.close();
      return Math.hypot(...r.params.map((v, i) => v - global[i]!));
    };
    assert.ok((await drift(5)) < 0.7 * (await drift(1e-6)));
  });

  it("trains in worker threads, stays responsive and can be cancelled between batches", async () => {
    const pool = new TrainingPool({ size: 1 });
    const params = createModel({ kind: "cnn" }).init(1);
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    let steps = 0;
    const pending = pool.train(
      {
        model: { kind: "cnn" },
        params,
        data: mnist.train,
        options: { epochs: 50, batchSize: 32, learningRate: 0.05 },
      },
      {
        signal: controller.signal,
        onProgress: (p) => {
          steps = p.step;
          if (p.step >= 5) controller.abort();
        },
      },
    );
    const result = await pending;
    clearInterval(timer);
    await pool.close();
    assert.equal(result.cancelled, true);
    assert.ok(result.steps >= 5 && result.steps < 250 * 50, `stopped after ${result.steps} steps`);
    assert.ok(steps >= 5);
    assert.ok(ticks > 0, "main event loop kept running while the worker trained");
    await assert.rejects(pool.evaluate({ kind: "cnn" }, params, small.test), /closed/);
  });

  it("closes mid-training without aborting the process: the job is rejected, the worker stops between batches", async () => {
    // Terminating a worker inside onnxruntime's native run aborted a whole test process in CI ('Napi::Error'): the
    // pool tells it to stop and terminates it once it answers. Several closes, each while a batch runs.
    for (let attempt = 0; attempt < 5; attempt++) {
      const pool = new TrainingPool({ size: 1 });
      let started!: () => void;
      const training = new Promise<void>((resolve) => (started = resolve));
      const job = pool.train(
        {
          model: { kind: "cnn" },
          params: createModel({ kind: "cnn" }).init(attempt + 1),
          data: mnist.train,
          options: { epochs: 50, batchSize: 32, learningRate: 0.05 },
        },
        { onProgress: () => started() },
      );
      const rejected = assert.rejects(job, { name: "PoolClosedError" });
      await training;
      const closing = Date.now();
      await pool.close();
      await rejected;
      assert.ok(
        Date.now() - closing < 10_000,
        `closed in ${Date.now() - closing} ms, not at the drain bound`,
      );
    }
  });

  it("reports worker errors as typed errors", async () => {
    const pool = new TrainingPool({ size: 1 });
    await assert.rejects(
      pool.train({
        model: { kind: "mlp" },
        params: new Float32Array(3),
        data: small.train,
        options: { steps: 1, batchSize: 8, learningRate: 0.1 },
      }),
      { name: "TrainingWorkerError" },
    );
    await pool.close();
  });

  it("improves the global model over federated rounds", async () => {
    const pool = new TrainingPool({ size: 2 });
    const result = await runSimulation(
      pool,
      {
        model: { kind: "mlp", hidden: [32] },
        server: "fedavg",
        nodes: 4,
        rounds: 3,
        partition: { kind: "iid" },
        localEpochs: 1,
        batchSize: 32,
        learningRate: 0.05,
      },
      small,
    );
    await pool.close();
    const accuracies = result.history.map((r) => r.accuracy);
    assert.ok(accuracies[2]! > accuracies[0]! - 0.02 && accuracies[2]! > 0.7, `accuracies ${accuracies}`);
  });
});

describe("partitioning", () => {
  it("IID gives equal shares of every row exactly once", () => {
    const parts = partitionIndices(small.train, 6, { kind: "iid" });
    assert.equal(new Set(parts.flat()).size, small.train.count);
    assert.ok(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length)) <= 1);
  });

  it("Dirichlet with small alpha skews labels; shards give few labels per node", () => {
    const labelsPerNode = (parts: number[][]) =>
      parts.map((rows) => {
        const counts = new Map<number, number>();
        for (const r of rows)
          counts.set(small.train.labels[r]!, (counts.get(small.train.labels[r]!) ?? 0) + 1);
        return Math.max(...counts.values()) / rows.length;
      });
    const skewed = labelsPerNode(partitionIndices(small.train, 10, { kind: "dirichlet", alpha: 0.1 }));
    const iid = labelsPerNode(partitionIndices(small.train, 10, { kind: "iid" }));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(skewed) > 2 * mean(iid), `dominant-label share ${mean(skewed)} vs ${mean(iid)}`);
    const shards = partitionIndices(small.train, 10, { kind: "shards", shardsPerNode: 2 });
    for (const rows of shards) assert.ok(new Set(rows.map((r) => small.train.labels[r])).size <= 4);
    assert.equal(
      new Set(partitionIndices(small.train, 10, { kind: "dirichlet", alpha: 0.1 }).flat()).size,
      small.train.count,
    );
  });

  it("rejects impossible requests", () => {
    assert.throws(() => partitionIndices(small.train, 0, { kind: "iid" }), PartitionError);
    assert.throws(() => partitionIndices(small.train, 2, { kind: "dirichlet", alpha: 0 }), PartitionError);
  });
});

describe("federated algorithms", () => {
  it("FedAvg weights by sample count", () => {
    const out = fedAvg([
      { update: Float32Array.of(1, 0), weight: 1 },
      { update: Float32Array.of(4, 8), weight: 3 },
    ]);
    assert.deepEqual(Array.from(out), [3.25, 6]);
    assert.throws(() => fedAvg([]), /no updates/);
  });

  it("FedAdam moves along the averaged update with bounded step; FedYogi too", () => {
    for (const kind of ["fedadam", "fedyogi"] as const) {
      const server = new AdaptiveServer(kind, { lr: 0.1, tau: 1e-3 });
      const next = server.step(Float32Array.of(0, 0), Float32Array.of(1, -2));
      assert.ok(next[0]! > 0 && next[1]! < 0, `${kind} ${next}`);
      assert.ok(Math.abs(next[0]!) <= 0.1 / Math.sqrt(1 - 0.99) + 1e-6);
    }
  });

  it("DiLoCo's Nesterov outer step matches the hand-computed value", () => {
    const server = new DiLoCoServer({ lr: 0.5, momentum: 0.9 });
    // grad = -update = -2; v = -2; step = lr*(grad + m*v) = 0.5*(-2 - 1.8) = -1.9 → x = 1 + 1.9
    assert.ok(Math.abs(server.step(Float32Array.of(1), Float32Array.of(2))[0]! - 2.9) < 1e-6);
  });
});

describe("data files", () => {
  it("loads IDX and CSV and names the file and row of bad data", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-data-"));
    const images = Buffer.alloc(4 + 12 + 2 * 2 * 2);
    images.writeUInt32BE(0x00000803, 0);
    images.writeUInt32BE(2, 4);
    images.writeUInt32BE(2, 8);
    images.writeUInt32BE(2, 12);
    images.set([0, 255, 51, 102, 10, 20, 30, 40], 16);
    const labels = Buffer.alloc(8 + 2);
    labels.writeUInt32BE(0x00000801, 0);
    labels.writeUInt32BE(2, 4);
    labels.set([3, 7], 8);
    await writeFile(join(dir, "img.idx"), images);
    await writeFile(join(dir, "lbl.idx"), labels);
    const idx = await loadIdx(join(dir, "img.idx"), join(dir, "lbl.idx"));
    assert.equal(idx.count, 2);
    assert.equal(idx.features[1], 1);
    assert.deepEqual(Array.from(idx.labels), [3, 7]);
    await writeFile(join(dir, "bad.idx"), images.subarray(0, 18));
    await assert.rejects(loadIdx(join(dir, "bad.idx"), join(dir, "lbl.idx")), DataValidationError);

    await writeFile(join(dir, "ok.csv"), "a,b,label\n0.5,1,0\n2,3,1\n");
    const csv = await loadCsv(join(dir, "ok.csv"));
    assert.equal(csv.featureSize, 2);
    assert.equal(csv.classes, 2);
    await writeFile(join(dir, "nan.csv"), "0.5,1,0\n2,oops,1\n");
    await assert.rejects(
      loadCsv(join(dir, "nan.csv")),
      (e: Error) => e instanceof DataValidationError && /nan\.csv, row 2/.test(e.message),
    );
    await writeFile(join(dir, "label.csv"), "0.5,1,0\n2,3,1\n");
    await assert.rejects(loadCsv(join(dir, "label.csv"), { classes: 1 }), /row 2: label 1 is outside/);
    const own = join(dir, "node-data");
    await mkdir(own);
    await writeFile(join(own, "train.csv"), "0.5,1,0\n2,3,1\n");
    assert.equal((await loadDataDirectory(own)).count, 2);
    await assert.rejects(loadDataDirectory(join(dir, "missing")), DataValidationError);
    await rm(dir, { recursive: true });
  });
});
