/**
 * Standard ONNX out: the exported file is loaded by plain onnxruntime-node from disk (no vAIn code in the
 * load or run path) and gives the node's own evaluation logits; the file reads back to the same parameters.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import * as ort from "onnxruntime-node";

import { LocalTrainer } from "./engine.ts";
import { ONNX_METADATA, exportOnnx, paramsFromOnnx, readOnnxModel } from "./onnx-model.ts";
import { textWindows } from "./text/windows.ts";
import type { ModelSpec } from "./architectures.ts";
import { mapFloat32 } from "../core/vectors.ts";

const TEXT = textWindows([{ group: 0, texts: ["the cat sat on the mat", "a dog ran in the park"] }], 8);

const CASES: { spec: ModelSpec; rows: Float32Array; inputSize: number }[] = [
  {
    spec: { kind: "transformer", context: 8, width: 16, heads: 2, layers: 2 },
    rows: TEXT.features,
    inputSize: 8,
  },
  {
    spec: { kind: "mlp", inputSize: 12, hidden: [8], classes: 3 },
    rows: mapFloat32({ length: 5 * 12 }, (_, i) => (i % 7) / 7),
    inputSize: 12,
  },
];

describe("ONNX export", () => {
  for (const { spec, rows, inputSize } of CASES) {
    it(`${spec.kind}: plain onnxruntime gives the node's logits`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "vain-onnx-"));
      const trainer = await LocalTrainer.create(spec, { kind: "adam" });
      try {
        const count = rows.length / inputSize;
        const labels = Uint8Array.from({ length: count }, (_, i) => i % trainer.model.classes);
        const data = {
          features: rows,
          labels,
          count,
          featureSize: inputSize,
          classes: trainer.model.classes,
        };
        const trained = await trainer.train(trainer.model.init(3), data, {
          steps: 5,
          batchSize: 4,
          learningRate: 0.01,
        });
        const path = join(dir, "model.onnx");
        await writeFile(path, exportOnnx(trainer.model, trained.params, { [ONNX_METADATA.taskId]: "7" }));

        // Only onnxruntime-node from here: open the file by path and feed the input it declares.
        const session = await ort.InferenceSession.create(path);
        assert.deepEqual(session.inputNames, ["x"]);
        assert.deepEqual(session.outputNames, ["logits"]);
        const out = await session.run({ x: new ort.Tensor("float32", rows, [count, inputSize]) });
        await session.release();
        const plain = out["logits"]!.data as Float32Array;
        const node = await trainer.logits(trained.params, rows, count);
        assert.equal(plain.length, node.length);
        for (let i = 0; i < node.length; i++) assert.ok(Math.abs(plain[i]! - node[i]!) < 1e-4, `logit ${i}`);

        const back = readOnnxModel(await readFile(path));
        assert.equal(back.metadata[ONNX_METADATA.taskId], "7");
        assert.deepEqual(paramsFromOnnx(trainer.model, back.initializers), trained.params);
      } finally {
        await trainer.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
