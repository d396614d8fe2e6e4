import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Command } from "commander";

import { trainingRoundsAbi } from "../../chain/contracts.ts";
import { parseId } from "../../chain/ids.ts";
import { addChainOptions, openReadContext, printResult, toJson } from "../chain-context.ts";
import type { ChainFlags } from "../chain-context.ts";

interface ExportFlags extends ChainFlags {
  task?: string;
  out: string;
}

/** Registers `vain-node model export | evaluate | predict`: use what the network trained. */
export function registerModelCommands(program: Command): void {
  const model = program.command("model").description("use the model the network trained");

  addChainOptions(
    model
      .command("export")
      .description(
        "write the task's current global model (as named on chain) from this node's store to a file",
      )
      .option("--task <id>", "task ID (default: the config's taskId)")
      .option("--out <file>", "output file", "model.vain.json"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node model export --data-dir ./node1 --out mnist.vain.json\n",
    )
    .action(async (flags: ExportFlags) => {
      const { RoundStore } = await import("../../protocol/round-store.ts");
      const { serializeModel, ModelFileError } = await import("../../protocol/model-file.ts");
      const { resolveConfig, readConfigFile } = await import("../../config/config.ts");
      const { createModel } = await import("../../training/architectures.ts");
      const ctx = await openReadContext(flags);
      const file = await Promise.resolve()
        .then(() => readConfigFile(join(ctx.dataDir, "config.json")))
        .catch(() => ({}));
      const config = resolveConfig({ file });
      const spec = config.task;
      const taskId = flags.task === undefined ? BigInt(config.taskId) : parseId(flags.task, "task ID");
      const task = await ctx.publicClient.readContract({
        address: ctx.deployment.contracts.TrainingRounds.address as `0x${string}`,
        abi: trainingRoundsAbi,
        functionName: "getTask",
        args: [taskId],
      });
      const size = createModel(spec.model).layout.size;
      const params = await new RoundStore(ctx.dataDir).loadModel(task.modelRef, size);
      if (params === undefined) {
        throw new ModelFileError(
          `model ${task.modelRef.slice(0, 12)}… of task ${taskId} is not in ${ctx.dataDir}/models: run the node until it fetched it`,
        );
      }
      await writeFile(flags.out, serializeModel({ taskId, modelRef: task.modelRef, spec, params }));
      printResult(flags, { out: flags.out, modelRef: task.modelRef, parameters: params.length }, [
        `wrote ${flags.out}: task ${taskId}, model ${task.modelRef}, ${params.length} parameters`,
      ]);
    });

  model
    .command("evaluate")
    .description(
      "accuracy and loss of an exported model on held-out MNIST digits or IDX files in a directory",
    )
    .requiredOption("--model <file>", "file from `model export`")
    .option("--data <dir>", "directory with IDX images/labels (default: the bundled MNIST test split)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  npx vain-node model evaluate --model mnist.vain.json\n")
    .action(async (flags: { model: string; data?: string; json?: boolean }) => {
      const { readModelFile } = await import("../../protocol/model-file.ts");
      const { LocalTrainer } = await import("../../training/engine.ts");
      const { loadMnist } = await import("../../training/data/mnist.ts");
      const { loadDataDirectory } = await import("../../training/data/files.ts");
      const exported = await readModelFile(flags.model);
      const data =
        flags.data === undefined ? loadMnist({ seed: 7 }).test : await loadDataDirectory(flags.data);
      const trainer = await LocalTrainer.create(exported.spec.model);
      try {
        const { accuracy, loss } = await trainer.evaluate(exported.params, data);
        const result = { modelRef: exported.modelRef, samples: data.count, accuracy, loss };
        process.stdout.write(
          flags.json === true
            ? `${toJson(result)}\n`
            : `accuracy ${(accuracy * 100).toFixed(2)}%  loss ${loss.toFixed(4)}  on ${data.count} samples\n`,
        );
      } finally {
        await trainer.close();
      }
    });

  model
    .command("predict")
    .description(
      "predict classes for the rows of a CSV file (features in [0, 1]; a trailing label column is ignored)",
    )
    .requiredOption("--model <file>", "file from `model export`")
    .requiredOption("--input <file>", "CSV file: f1,…,fk[,label] per row")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node model predict --model mnist.vain.json --input digits.csv\n",
    )
    .action(async (flags: { model: string; input: string; json?: boolean }) => {
      const { readModelFile } = await import("../../protocol/model-file.ts");
      const { LocalTrainer } = await import("../../training/engine.ts");
      const exported = await readModelFile(flags.model);
      const trainer = await LocalTrainer.create(exported.spec.model);
      try {
        const data = await readFeatureRows(flags.input, trainer.model.inputSize);
        const logits = await trainer.logits(exported.params, data.features, data.count);
        const classes = trainer.model.classes;
        const predictions = Array.from({ length: data.count }, (_, i) => {
          const row = logits.subarray(i * classes, (i + 1) * classes);
          return row.indexOf(Math.max(...row));
        });
        process.stdout.write(
          flags.json === true ? `${toJson({ predictions })}\n` : `${predictions.join("\n")}\n`,
        );
      } finally {
        await trainer.close();
      }
    });
}

/** Rows of `inputSize` numbers (a trailing label column is ignored); any other shape is a one-line error. */
async function readFeatureRows(
  path: string,
  inputSize: number,
): Promise<{ features: Float32Array; count: number }> {
  const { ModelFileError } = await import("../../protocol/model-file.ts");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ModelFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const rows = text.split(/\r?\n/).filter((line) => line.trim() !== "" && !/^[A-Za-z]/.test(line.trim()));
  const features = new Float32Array(rows.length * inputSize);
  rows.forEach((line, r) => {
    const fields = line.split(",").map(Number);
    if (fields.length !== inputSize && fields.length !== inputSize + 1)
      throw new ModelFileError(
        `${path} row ${r + 1}: expected ${inputSize} features, found ${fields.length} fields`,
      );
    for (let j = 0; j < inputSize; j++) {
      const value = fields[j]!;
      if (!Number.isFinite(value))
        throw new ModelFileError(`${path} row ${r + 1}: field ${j + 1} is not a number`);
      features[r * inputSize + j] = value;
    }
  });
  if (rows.length === 0) throw new ModelFileError(`${path} has no rows`);
  return { features, count: rows.length };
}
