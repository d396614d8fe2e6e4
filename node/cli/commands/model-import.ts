/**
 * `vain-node model import --onnx <file>`: starts a task from the user's own ONNX classifier. The file is
 * checked (every op differentiable, one [N, features] input) and split: the graph without its weights goes
 * into the task spec of `<data-dir>/config.json` with the weights' content hash (`initialRef`), and the
 * weights into the data dir's model store, from where this node serves them to peers by that hash. `task
 * create` with that data dir names the same initial model.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Command } from "commander";

import { toJson } from "../chain-context.ts";

interface ImportFlags {
  onnx: string;
  dataDir?: string;
  json?: boolean;
}

/** Registers `vain-node model import`. */
export function registerModelImportCommand(model: Command): void {
  model
    .command("import")
    .description("make a user's ONNX classifier the task's model (written into <data-dir>/config.json)")
    .requiredOption("--onnx <file>", "ONNX model: input [N, features], output logits or probabilities")
    .option("--data-dir <dir>", "node data directory with config.json (default .vain)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node model import --onnx classifier.onnx --data-dir ./node1\n",
    )
    .action(async (flags: ImportFlags) => {
      const { ModelFileError } = await import("../../protocol/model-file.ts");
      const { createModel } = await import("../../training/architectures.ts");
      const { modelRef, paramsToBytes } = await import("../../protocol/models.ts");
      const { readConfigFile } = await import("../../config/config.ts");
      let bytes: Buffer;
      try {
        bytes = await readFile(flags.onnx);
      } catch (error) {
        throw new ModelFileError(`cannot read ${flags.onnx}: ${(error as Error).message}`);
      }
      const { OnnxModelError } = await import("../../training/onnx-model.ts");
      const { UnsupportedOnnxOpError, splitOnnxWeights } = await import("../../training/onnx-import.ts");
      const { GraphBuildError } = await import("../../training/graph/autodiff.ts");
      const { RoundStore } = await import("../../protocol/round-store.ts");
      let model: ReturnType<typeof createModel>;
      let initial: Float32Array;
      let spec: { kind: "onnx"; graph: string; initialRef: string };
      try {
        const split = splitOnnxWeights(bytes);
        initial = split.initial;
        spec = {
          kind: "onnx",
          graph: Buffer.from(split.graph).toString("base64"),
          initialRef: modelRef(paramsToBytes(initial)),
        };
        model = createModel(spec);
      } catch (error) {
        // The first op it cannot train, a malformed file or a graph that does not fit: one line for the user.
        const known = [UnsupportedOnnxOpError, OnnxModelError, GraphBuildError].some(
          (e) => error instanceof e,
        );
        if (!known) throw error;
        throw new ModelFileError(`${flags.onnx}: ${(error as Error).message}`);
      }
      const dataDir = flags.dataDir ?? ".vain";
      await new RoundStore(dataDir).saveModel(initial);
      const path = join(dataDir, "config.json");
      const config = await Promise.resolve()
        .then(() => readConfigFile(path))
        .catch(() => ({}) as Record<string, unknown>);
      const task = (
        typeof config["task"] === "object" && config["task"] !== null ? config["task"] : {}
      ) as Record<string, unknown>;
      await writeFile(path, `${JSON.stringify({ ...config, task: { ...task, model: spec } }, null, 2)}\n`);
      const result = {
        config: path,
        parameters: model.layout.size,
        inputSize: model.inputSize,
        classes: model.classes,
        modelRef: spec.initialRef,
        specBytes: JSON.stringify(spec).length,
      };
      process.stdout.write(
        flags.json === true
          ? `${toJson(result)}\n`
          : `${path}: task model is ${flags.onnx} (${result.parameters} parameters, ${result.inputSize} inputs, ${result.classes} classes, initial model ${result.modelRef})\n`,
      );
    });
}
