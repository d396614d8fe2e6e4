import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

import type { Command } from "commander";

import { trainingRoundsAbi } from "../../chain/contracts.ts";
import { parseId } from "../../chain/ids.ts";
import { addChainOptions, openReadContext, printResult, toJson } from "../chain-context.ts";
import { registerModelImportCommand } from "./model-import.ts";
import type { ChainFlags } from "../chain-context.ts";

interface ExportFlags extends ChainFlags {
  task?: string;
  out?: string;
  format?: string;
}

interface PredictFlags {
  model: string;
  input?: string;
  prompt?: string;
  chars: string;
  temperature: string;
  json?: boolean;
}

/** Registers `vain-node model export | evaluate | predict`: use what the network trained. */
export function registerModelCommands(program: Command): void {
  const model = program.command("model").description("use the model the network trained");
  registerModelImportCommand(model);

  addChainOptions(
    model
      .command("export")
      .description(
        "write the task's current global model (as named on chain) from this node's store to a file",
      )
      .option("--task <id>", "task ID (default: the config's taskId)")
      .option(
        "--format <format>",
        "onnx (standard, loads in any ONNX runtime; the default) or vain (default when --out ends in .json)",
      )
      .option("--out <file>", "output file (default: model.onnx or model.vain.json)"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node model export --data-dir ./node1 --out mnist.onnx\n  npx vain-node model export --data-dir ./node1 --format vain --out mnist.vain.json\n",
    )
    .action(async (flags: ExportFlags) => {
      const { RoundStore } = await import("../../protocol/round-store.ts");
      const { ModelFileError } = await import("../../protocol/model-file.ts");
      const { encodeExport } = await import("./model-files.ts");
      const format = flags.format ?? (flags.out?.endsWith(".json") === true ? "vain" : "onnx");
      if (format !== "onnx" && format !== "vain") {
        throw new ModelFileError(`--format must be onnx or vain, got ${format}`);
      }
      const out = flags.out ?? (format === "onnx" ? "model.onnx" : "model.vain.json");
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
      await writeFile(out, await encodeExport({ taskId, modelRef: task.modelRef, spec, params }, format));
      printResult(flags, { out, format, modelRef: task.modelRef, parameters: params.length }, [
        `wrote ${out} (${format}): task ${taskId}, model ${task.modelRef}, ${params.length} parameters`,
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
      const { readExport } = await import("./model-files.ts");
      const { LocalTrainer } = await import("../../training/engine.ts");
      const { loadMnist } = await import("../../training/data/mnist.ts");
      const { loadDataDirectory } = await import("../../training/data/files.ts");
      const exported = await readExport(flags.model);
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
    .requiredOption("--model <file>", "file from `model export` (.onnx or .vain.json)")
    .option("--input <file>", "CSV file: f1,…,fk[,label] per row")
    .option("--prompt <text>", "text to complete (transformer models)")
    .option("--chars <n>", "characters to add to --prompt", "80")
    .option("--temperature <t>", "0: most likely character; > 0: sample", "0")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      '\nExamples:\n  npx vain-node model predict --model mnist.onnx --input digits.csv\n  npx vain-node model predict --model glosses.onnx --prompt "a small domesticated "\n',
    )
    .action(async (flags: PredictFlags) => {
      const { ModelFileError } = await import("../../protocol/model-file.ts");
      const { readExport } = await import("./model-files.ts");
      const { LocalTrainer } = await import("../../training/engine.ts");
      const exported = await readExport(flags.model);
      const trainer = await LocalTrainer.create(exported.spec.model);
      try {
        if (flags.prompt !== undefined) {
          if (exported.spec.model.kind !== "transformer")
            throw new ModelFileError(
              `--prompt needs a transformer model, ${flags.model} is a ${exported.spec.model.kind}`,
            );
          const { completePrompt } = await import("../../training/text/complete.ts");
          const completion = await completePrompt(trainer, exported.params, flags.prompt, {
            chars: Number(flags.chars),
            temperature: Number(flags.temperature),
          });
          process.stdout.write(
            flags.json === true
              ? `${toJson({ prompt: flags.prompt, completion })}\n`
              : `${flags.prompt}${completion}\n`,
          );
          return;
        }
        if (flags.input === undefined) throw new ModelFileError("give --input <csv> or --prompt <text>");
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
