import { existsSync } from "node:fs";
import { join } from "node:path";

import type { Command } from "commander";

import { formatTokens, parseTokenAmount } from "../../chain/amounts.ts";
import { createTask, fundTask, openRound } from "../../chain/actions/index.ts";
import type { FundTaskReturnType } from "../../chain/actions/index.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { parseId, parseModelRef } from "../../chain/ids.ts";
import { parseDurationMs } from "../../config/duration.ts";
import { addSignerOptions, isoFromSeconds, openOperatorContext, printResult } from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";

/** A window flag ("10m", "45s") as whole seconds. */
function parseWindowS(text: string | undefined, flag: string): bigint | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms % 1000 !== 0) throw new InvalidArgumentError(`${flag} "${text}" must be a whole number of seconds`);
  return BigInt(ms / 1000);
}

/** A positive integer flag ("101770"). */
function parsePositiveInteger(text: string, flag: string): number {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(`${flag} "${text}" must be a positive integer`);
  }
  return value;
}

/** Parameter count of the model in the data dir's task spec (the default spec without a config file). */
async function specParameterCount(dataDir: string): Promise<number> {
  const { resolveConfig, readConfigFile } = await import("../../config/config.ts");
  const { createModel } = await import("../../training/models.ts");
  const configPath = join(dataDir, "config.json");
  const file = existsSync(configPath) ? readConfigFile(configPath) : {};
  return createModel(resolveConfig({ file }).task.model).layout.size;
}

interface TaskCreateFlags extends SignerFlags {
  modelRef: string;
  rewardPerRound: string;
  parameters?: string;
  fund?: string;
  commitWindow?: string;
  aggregateWindow?: string;
  challengeWindow?: string;
  roundInterval?: string;
}

/** Registers `task create`, `task fund` and `round open`. */
export function registerTaskCommands(program: Command): void {
  const task = program.command("task").description("create and fund training tasks");

  addSignerOptions(task.command("create"))
    .description("create a training task (and optionally fund it)")
    .requiredOption(
      "--model-ref <hex32|text>",
      "initial model: 0x + 64 hex digits, or any text (hashed with keccak256)",
    )
    .requiredOption("--reward-per-round <amount>", "VAIN emitted per round")
    .option(
      "--parameters <count>",
      "the model's parameter count (default: the model of the task spec in <data-dir>/config.json)",
    )
    .option("--fund <amount>", "VAIN to add to the reward pool right away")
    .option("--commit-window <duration>", "commit window, e.g. 10m (default 10m; each window >= 30s)")
    .option("--aggregate-window <duration>", "aggregation window (default 5m)")
    .option("--challenge-window <duration>", "challenge window (default 5m)")
    .option("--round-interval <duration>", "minimum time between round openings (default 0s)")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node task create --model-ref mnist-mlp-v1 --reward-per-round 10 --fund 100\n  npx vain-node task create --model-ref 0x<64 hex> --reward-per-round 5 --commit-window 2m --json\n",
    )
    .action(async (flags: TaskCreateFlags) => {
      const modelRef = parseModelRef(flags.modelRef);
      const rewardPerRoundWei = parseTokenAmount(flags.rewardPerRound);
      const fundWei = flags.fund === undefined ? undefined : parseTokenAmount(flags.fund);
      const windows = {
        commitWindowS: parseWindowS(flags.commitWindow, "--commit-window"),
        aggregateWindowS: parseWindowS(flags.aggregateWindow, "--aggregate-window"),
        challengeWindowS: parseWindowS(flags.challengeWindow, "--challenge-window"),
        roundIntervalS: parseWindowS(flags.roundInterval, "--round-interval"),
      };
      const ctx = await openOperatorContext(flags);
      const parameters =
        flags.parameters === undefined
          ? await specParameterCount(ctx.dataDir)
          : parsePositiveInteger(flags.parameters, "--parameters");
      const created = await createTask(ctx, { modelRef, parameters, rewardPerRoundWei, ...windows });
      let funded: FundTaskReturnType | undefined;
      if (fundWei !== undefined) funded = await fundTask(ctx, { taskId: created.taskId, amountWei: fundWei });
      printResult(flags, { action: "task create", ...created, funded: funded ?? null }, [
        `created task ${created.taskId}`,
        `  model ref         ${created.modelRef}`,
        `  chunks            ${created.numChunks} (${parameters} parameters)`,
        `  reward per round  ${formatTokens(created.rewardPerRoundWei)}`,
        ...(funded === undefined ? [] : [`  reward pool       ${formatTokens(funded.rewardPoolWei)}`]),
        `  tx                ${created.transactionHash}`,
        ...(funded === undefined ? [] : funded.transactionHashes.map((h) => `  tx                ${h}`)),
      ]);
    });

  addSignerOptions(task.command("fund <taskId> <amount>"))
    .description("add VAIN to a task's reward pool (approves the rounds contract when needed)")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node task fund 1 100\n  npx vain-node task fund 3 0.5 --json\n",
    )
    .action(async (taskIdText: string, amountText: string, flags: SignerFlags) => {
      const taskId = parseId(taskIdText, "task ID");
      const amountWei = parseTokenAmount(amountText);
      const ctx = await openOperatorContext(flags);
      const result = await fundTask(ctx, { taskId, amountWei });
      printResult(flags, { action: "task fund", ...result }, [
        `funded task ${result.taskId} with ${formatTokens(result.amountWei)}`,
        `  reward pool  ${formatTokens(result.rewardPoolWei)}`,
        ...result.transactionHashes.map((h) => `  tx           ${h}`),
      ]);
    });

  const round = program.command("round").description("open training rounds");
  addSignerOptions(round.command("open <taskId>"))
    .description("open the task's next round (anyone may, once it is due and funded)")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node round open 1\n  npx vain-node round open 1 --json | jq -r .roundId\n",
    )
    .action(async (taskIdText: string, flags: SignerFlags) => {
      const taskId = parseId(taskIdText, "task ID");
      const ctx = await openOperatorContext(flags);
      const result = await openRound(ctx, { taskId });
      printResult(flags, { action: "round open", ...result }, [
        `opened round ${result.roundId} of task ${result.taskId}`,
        `  emission            ${formatTokens(result.emissionWei)}`,
        `  commit deadline     ${isoFromSeconds(result.commitDeadline)}`,
        `  aggregate deadline  ${isoFromSeconds(result.aggregateDeadline)}`,
        `  challenge deadline  ${isoFromSeconds(result.challengeDeadline)}`,
        `  tx                  ${result.transactionHash}`,
      ]);
    });
}
