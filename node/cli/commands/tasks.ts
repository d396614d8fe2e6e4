import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import type { Command } from "commander";

import { formatTokens, parseTokenAmount } from "../../chain/amounts.ts";
import { MAX_GROUPS, createTask, fundTask, openRound } from "../../chain/actions/index.ts";
import type { FundTaskReturnType, TaskRule } from "../../chain/actions/index.ts";
import {
  DEFAULT_AGGREGATE_WINDOW_S,
  DEFAULT_ANSWER_WINDOW_S,
  DEFAULT_DISPUTE_WINDOW_S,
  DEFAULT_CHALLENGE_WINDOW_S,
  DEFAULT_COMMIT_WINDOW_S,
  MIN_WINDOW_S,
} from "../../chain/constants.ts";
import { vainTokenAbi } from "../../chain/contracts.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { parseId, parseModelRef } from "../../chain/ids.ts";
import { parseDurationMs } from "../../config/duration.ts";
import { AGGREGATE_MARGIN_SECONDS } from "../../protocol/round/context.ts";
import { addSignerOptions, isoFromSeconds, openOperatorContext, printResult } from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";
import { createHierarchy, parseLevels } from "./task-hierarchy.ts";
import { addTaskLinkCommand } from "./task-link.ts";

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

/**
 * The model a task starts from, as every node derives it: the task spec (`--spec <file>`, else the data dir's
 * config.json `task`, else the default spec) gives the model and its init seed, and the initial model's
 * reference is the sha256 of its bytes (node/protocol/models.ts), or the spec's `initialRef` for an imported
 * ONNX model (its weights' content hash). A task naming any other reference can never be trained: no node can
 * produce it. The spec's content address (protocol/task-spec-hash.ts) is registered with the task, so a node
 * running another spec refuses the task, as does one with another aggregation rule (registered with its proof
 * mode). A spec file is validated (zod) here, before anything is signed: an unknown rule, or one that the proof
 * or privacy mode rules out (protocol/task-aggregation.ts), is refused with the reason.
 */
async function specInitialModel(
  dataDir: string,
  specPath: string | undefined,
): Promise<{
  modelRef: `0x${string}`;
  parameters: number;
  specHash: `0x${string}`;
  rule: TaskRule;
  proven: boolean;
}> {
  const { resolveConfig, readConfigFile } = await import("../../config/config.ts");
  const { createModel } = await import("../../training/architectures.ts");
  const { modelRef, paramsToBytes } = await import("../../protocol/models.ts");
  const { taskSpecSchema } = await import("../../protocol/task-spec.ts");
  const { taskSpecHash } = await import("../../protocol/task-spec-hash.ts");
  let spec;
  if (specPath !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(specPath, "utf8"));
    } catch (error) {
      throw new InvalidArgumentError(`--spec ${specPath}: not a readable JSON file (${String(error)})`);
    }
    const parsed = taskSpecSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(spec)"}: ${i.message}`);
      throw new InvalidArgumentError(
        `--spec ${specPath} is not a valid task spec, nothing was signed: ${issues.join("; ")}`,
      );
    }
    spec = parsed.data;
  } else {
    const configPath = join(dataDir, "config.json");
    const file = existsSync(configPath) ? readConfigFile(configPath) : {};
    spec = resolveConfig({ file }).task;
  }
  const model = createModel(spec.model);
  const ref = model.initialRef ?? modelRef(paramsToBytes(model.init(spec.initSeed)));
  return {
    modelRef: ref,
    parameters: model.layout.size,
    specHash: taskSpecHash(spec),
    rule: spec.aggregation.rule,
    proven: spec.aggregation.proven,
  };
}

interface TaskCreateFlags extends SignerFlags {
  spec?: string;
  modelRef?: string;
  rewardPerRound: string;
  parameters?: string;
  fund?: string;
  commitWindow?: string;
  aggregateWindow?: string;
  challengeWindow?: string;
  answerWindow?: string;
  disputeWindow?: string;
  roundInterval?: string;
  groups?: string;
  levels?: string;
}

/** Registers `task create`, `task fund` and `round open`. */
export function registerTaskCommands(program: Command): void {
  const task = program.command("task").description("create, fund and link training tasks");

  addSignerOptions(task.command("create"))
    .description("create a training task (and optionally fund it)")
    .option(
      "--spec <file>",
      "the task spec (JSON, node/protocol/task-spec.ts; default: the task in <data-dir>/config.json), validated before anything is signed; its hash is registered with the task and every node must run the same spec",
    )
    .option(
      "--model-ref <hex32>",
      "initial model reference (default: derived from the task spec in <data-dir>/config.json; any other value is refused, no node could train it)",
    )
    .requiredOption("--reward-per-round <amount>", "VAIN emitted per round")
    .option(
      "--parameters <count>",
      "the model's parameter count (default and only accepted value: the model of the task spec in <data-dir>/config.json)",
    )
    .option("--fund <amount>", "VAIN to add to the reward pool right away")
    .option(
      "--commit-window <duration>",
      `commit window, e.g. 2m (default ${DEFAULT_COMMIT_WINDOW_S}s; each window >= ${MIN_WINDOW_S}s)`,
    )
    .option("--aggregate-window <duration>", `aggregation window (default ${DEFAULT_AGGREGATE_WINDOW_S}s)`)
    .option("--challenge-window <duration>", `challenge window (default ${DEFAULT_CHALLENGE_WINDOW_S}s)`)
    .option(
      "--answer-window <duration>",
      `time a challenged aggregator has to answer with a proof (default ${DEFAULT_ANSWER_WINDOW_S}s)`,
    )
    .option(
      "--dispute-window <duration>",
      `time an answered proof's statement stays disputable by watchers (default ${DEFAULT_DISPUTE_WINDOW_S}s)`,
    )
    .option("--round-interval <duration>", "minimum time between round openings (default 0s)")
    .option(
      "--groups <count>",
      `create a parent task and this many (2-${MAX_GROUPS}) proven group tasks linked to it (docs/protocol.md §7): nodes configured with the parent train in their group; the windows are the groups', the parent's commit window holds a whole group round; --reward-per-round and --fund are the whole hierarchy's, split over the G + 1 pools (the parent 1/13, the groups equal parts)`,
    )
    .option(
      "--levels <2|3>",
      "with --groups: 3 makes each group task the parent of --groups leaf tasks (up to 16^3 trainers in one proven hierarchical round); nodes train in their leaf, each level's commit window holds a whole round of the level below, and --fund / --reward-per-round split by the same rule at each level",
    )
    .addHelpText(
      "after",
      "\nThe model reference is the sha256 of the initial model every node builds from the task spec (model and\ninitSeed in <data-dir>/config.json, or the defaults): create the task with the data dir your nodes use.\n\nExamples:\n  npx vain-node task create --data-dir ./node1 --reward-per-round 10 --fund 100\n  npx vain-node task create --reward-per-round 5 --commit-window 10m --aggregate-window 5m --challenge-window 5m --answer-window 10m --dispute-window 5m --json\n  npx vain-node task create --data-dir ./node1 --reward-per-round 10 --groups 4 --fund 100\n  npx vain-node task create --data-dir ./node1 --reward-per-round 10 --groups 4 --levels 3 --fund 100\n",
    )
    .action(async (flags: TaskCreateFlags) => {
      const rewardPerRoundWei = parseTokenAmount(flags.rewardPerRound);
      const fundWei = flags.fund === undefined ? undefined : parseTokenAmount(flags.fund);
      const windows = {
        commitWindowS: parseWindowS(flags.commitWindow, "--commit-window"),
        aggregateWindowS: parseWindowS(flags.aggregateWindow, "--aggregate-window"),
        challengeWindowS: parseWindowS(flags.challengeWindow, "--challenge-window"),
        answerWindowS: parseWindowS(flags.answerWindow, "--answer-window"),
        disputeWindowS: parseWindowS(flags.disputeWindow, "--dispute-window"),
        roundIntervalS: parseWindowS(flags.roundInterval, "--round-interval"),
      };
      // Checked before anything is signed: every node of the task would carry this trap.
      if (windows.aggregateWindowS !== undefined && windows.aggregateWindowS < AGGREGATE_MARGIN_SECONDS) {
        throw new InvalidArgumentError(
          `--aggregate-window ${windows.aggregateWindowS}s is shorter than the ${AGGREGATE_MARGIN_SECONDS}s an aggregator needs to notice its selection, collect the updates and post on a loaded machine: an honest node could miss it and be slashed (use at least ${AGGREGATE_MARGIN_SECONDS}s; the window only bounds a miss, an aggregator posts as soon as the updates are in)`,
        );
      }
      const parametersFlag =
        flags.parameters === undefined ? undefined : parsePositiveInteger(flags.parameters, "--parameters");
      const groups = flags.groups === undefined ? undefined : parsePositiveInteger(flags.groups, "--groups");
      if (groups !== undefined && (groups < 2 || groups > MAX_GROUPS))
        throw new InvalidArgumentError(
          `--groups ${groups}: a parent task takes 2 to ${MAX_GROUPS} group tasks`,
        );
      const levels = parseLevels(flags.levels, groups);
      const ctx = await openOperatorContext(flags);
      const initial = await specInitialModel(ctx.dataDir, flags.spec);
      // Checked before anything is signed: a task with a model no node derives would never train a round.
      if (flags.modelRef !== undefined && parseModelRef(flags.modelRef) !== initial.modelRef) {
        throw new InvalidArgumentError(
          `--model-ref ${flags.modelRef} is not the initial model of the task spec in ${ctx.dataDir} (${initial.modelRef}); no node could train it: leave --model-ref out`,
        );
      }
      if (parametersFlag !== undefined && parametersFlag !== initial.parameters) {
        throw new InvalidArgumentError(
          `--parameters ${flags.parameters} does not match the task spec's model (${initial.parameters} parameters)`,
        );
      }
      const { modelRef, parameters, specHash, rule, proven } = initial;
      if (fundWei !== undefined) {
        // Checked before the task exists: a created but unfunded task is a side effect of a failed command.
        const balance = await ctx.publicClient.readContract({
          address: ctx.contracts.token,
          abi: vainTokenAbi,
          functionName: "balanceOf",
          args: [ctx.walletClient.account.address],
        });
        if (balance < fundWei) {
          throw new InvalidArgumentError(
            `--fund ${formatTokens(fundWei)} is more than the ${formatTokens(balance)} this account holds: nothing was created`,
          );
        }
      }
      if (groups !== undefined) {
        await createHierarchy(ctx, flags, {
          groups,
          levels,
          fundWei,
          rewardPerRoundWei,
          windows,
          task: { modelRef, specHash, parameters, rule, proven },
        });
        return;
      }
      const created = await createTask(ctx, {
        modelRef,
        specHash,
        parameters,
        rewardPerRoundWei,
        // The spec's rule and proof mode, already checked together by the spec's schema (task-aggregation.ts).
        rule,
        proven,
        ...windows,
      });
      let funded: FundTaskReturnType | undefined;
      if (fundWei !== undefined) funded = await fundTask(ctx, { taskId: created.taskId, amountWei: fundWei });
      printResult(flags, { action: "task create", ...created, specHash, funded: funded ?? null }, [
        `created task ${created.taskId}`,
        `  model ref         ${created.modelRef} (the spec's initial model)`,
        `  spec hash         ${specHash} (nodes with another spec refuse the task)`,
        `  chunks            ${created.numChunks} (${parameters} parameters)`,
        `  aggregation       ${created.rule}${created.proven ? ", proven" : ", unproven"}`,
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

  addTaskLinkCommand(task);

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
