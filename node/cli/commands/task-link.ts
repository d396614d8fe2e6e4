/**
 * `vain-node task link <childTaskId> <parentTaskId>`: makes a proven task a group task of another (docs/protocol.md
 * §7). `task create --groups` builds two levels at once; a third is built by linking a parent (with its groups)
 * under a new root, or new tasks under a group. The contract checks who may link and the shape (creator of both,
 * a proven child not linked before, one model, no cycle, at most three levels); it does not check time, so this
 * command refuses, before anything is signed, a parent whose commit window cannot hold a whole round of the child
 * and its partial commit: every partial would arrive after the parent's commit phase, and no round of the
 * hierarchy would ever train.
 */
import type { Command } from "commander";

import { linkTask, parentCommitWindowS, scheduleOf } from "../../chain/actions/index.ts";
import { trainingRoundsAbi } from "../../chain/contracts.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { parseId } from "../../chain/ids.ts";
import { TransactionRevertedError } from "../../chain/revert.ts";
import { addSignerOptions, openOperatorContext, printResult } from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";

/** What the contract's `InvalidLink` can mean, for an operator who sees it. */
const INVALID_LINK_HINT =
  "the chain refused the link (InvalidLink): you must have created both tasks, both open, the child proven and " +
  "not linked before, with the parent's model (chunk count); no task may end up its own ancestor and a hierarchy " +
  "has at most 3 levels";

export function addTaskLinkCommand(task: Command): void {
  addSignerOptions(task.command("link <childTaskId> <parentTaskId>"))
    .description(
      "make a proven task you created a group task of another you created (a third level: link a parent under a new root)",
    )
    .addHelpText(
      "after",
      "\nThe parent's commit window must hold a whole round of the child and its partial commit (checked before\n" +
        "signing). Nodes read their place in a hierarchy when they start: restart them after linking.\n\n" +
        "Examples:\n  npx vain-node task link 2 1\n  npx vain-node task link 5 9 --json\n",
    )
    .action(async (childText: string, parentText: string, flags: SignerFlags) => {
      const childTaskId = parseId(childText, "child task ID");
      const parentTaskId = parseId(parentText, "parent task ID");
      const ctx = await openOperatorContext(flags);
      const read = (taskId: bigint) =>
        ctx.publicClient.readContract({
          address: ctx.contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "getTask",
          args: [taskId],
        });
      const [child, parent] = await Promise.all([read(childTaskId), read(parentTaskId)]);
      const needed = parentCommitWindowS(scheduleOf(child));
      if (parent.commitWindow < needed)
        throw new InvalidArgumentError(
          `task ${parentTaskId}'s commit window (${parent.commitWindow} s) cannot hold a whole round of task ${childTaskId} and its partial commit (${needed} s): its partials would always be late; nothing was signed`,
        );
      const linked = await linkTask(ctx, { childTaskId, parentTaskId }).catch((error: unknown) => {
        if (error instanceof TransactionRevertedError && error.errorName === "InvalidLink")
          throw new InvalidArgumentError(INVALID_LINK_HINT);
        throw error;
      });
      printResult(flags, { action: "task link", ...linked }, [
        `linked task ${linked.childTaskId} under task ${linked.parentTaskId}: its finalized rounds commit into ${linked.parentTaskId}'s rounds`,
        "  restart the nodes of these tasks so they read their place in the hierarchy",
        `  tx  ${linked.transactionHash}`,
      ]);
    });
}
