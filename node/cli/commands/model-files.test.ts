/**
 * `model export` formats and `model predict --prompt`: an exported ONNX file reads back to the same spec
 * and parameters, a tampered one is refused, and the CLI completes a prompt from it (its own process).
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import { runNodeScript } from "../../chain/hardhat-process.ts";
import { ModelFileError } from "../../protocol/model-file.ts";
import { RoundStore } from "../../protocol/round-store.ts";
import { modelRef, paramsToBytes } from "../../protocol/models.ts";
import { taskSpecSchema } from "../../protocol/task-spec.ts";
import type { TaskSpec } from "../../protocol/task-spec.ts";
import { createModel } from "../../training/architectures.ts";
import { encodeModel, floatTensor, node, valueInfo } from "../../training/graph/onnx.ts";
import { LocalTrainer } from "../../training/engine.ts";
import { textWindows } from "../../training/text/windows.ts";
import { encodeExport, readExport } from "./model-files.ts";
import { mapFloat32 } from "../../core/vectors.ts";

describe("model files", () => {
  it("ONNX export reads back, refuses tampering, and completes a prompt from the CLI", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-model-files-"));
    const spec = taskSpecSchema.parse({
      model: { kind: "transformer", context: 16, width: 32, heads: 2, layers: 1 },
    });
    const trainer = await LocalTrainer.create(spec.model, { kind: "adam" });
    try {
      // A model that has learned one sentence: its completion of a prefix is the sentence's rest.
      const data = textWindows([{ group: 0, texts: Array(40).fill("the cat sat on the mat") }], 16);
      const trained = await trainer.train(trainer.model.init(1), data, {
        epochs: 40,
        batchSize: 16,
        learningRate: 0.01,
      });
      const params = trained.params;
      const exported = { taskId: 3n, modelRef: modelRef(paramsToBytes(params)), spec, params };
      const path = join(dir, "glosses.onnx");
      await writeFile(path, await encodeExport(exported, "onnx"));
      const back = await readExport(path);
      assert.deepEqual(back.params, params);
      assert.deepEqual(back.spec, spec);
      assert.equal(back.taskId, 3n);

      const forged = join(dir, "forged.onnx");
      const other = mapFloat32(params, (v, i) => (i === 0 ? v + 1 : v));
      await writeFile(forged, await encodeExport({ ...exported, params: other }, "onnx"));
      await assert.rejects(readExport(forged), ModelFileError);

      const vain = join(dir, "glosses.vain.json");
      await writeFile(vain, await encodeExport(exported, "vain"));
      assert.deepEqual((await readExport(vain)).params, params);

      const run = await runNodeScript([
        "node/bin/vain-node.js",
        "model",
        "predict",
        "--model",
        path,
        "--prompt",
        "the cat s",
        "--chars",
        "13",
        "--json",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const { completion } = JSON.parse(run.stdout) as { completion: string };
      assert.equal(completion, "at on the mat");

      // ONNX in from the CLI: a graph with an op the engine cannot differentiate is refused, naming it; the
      // transformer exported above becomes the task's model, its weights in the store by content hash.
      const dataDir = join(dir, "node");
      await mkdir(dataDir);
      const sigmoidPath = join(dir, "sigmoid.onnx");
      await writeFile(
        sigmoidPath,
        encodeModel({
          name: "sigmoid",
          nodes: [node("MatMul", ["x", "w"], ["z"]), node("Sigmoid", ["z"], ["logits"])],
          inputs: [valueInfo("x", ["N", 2])],
          outputs: [valueInfo("logits", ["N", 2])],
          initializers: [floatTensor("w", [2, 2], [1, 0, 0, 1])],
        }),
      );
      const refused = await runNodeScript([
        "node/bin/vain-node.js",
        "model",
        "import",
        "--onnx",
        sigmoidPath,
        "--data-dir",
        dataDir,
      ]);
      assert.equal(refused.code, 2); // a user error: one line, no stack
      assert.match(refused.stderr, /ONNX op Sigmoid .*cannot be trained/);
      const imported = await runNodeScript([
        "node/bin/vain-node.js",
        "model",
        "import",
        "--onnx",
        path,
        "--data-dir",
        dataDir,
        "--json",
      ]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal((JSON.parse(imported.stdout) as { parameters: number }).parameters, params.length);
      // The spec keeps the graph and the weights' content hash; the weights wait in the store, to be served.
      const config = JSON.parse(await readFile(join(dataDir, "config.json"), "utf8")) as { task: TaskSpec };
      const ref = modelRef(paramsToBytes(params));
      assert.equal(createModel(config.task.model).initialRef, ref);
      assert.deepEqual(await new RoundStore(dataDir).loadModel(ref, params.length), params);
    } finally {
      await trainer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
