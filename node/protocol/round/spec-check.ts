/**
 * Whether this node's task spec is the task's (issue #22): every node of a task must run the same spec, or its
 * updates could not be committed, checked, proven or averaged with the others'. The chain fixes the model's
 * chunk count, the aggregation rule and, when the creator registered one, the spec's content address
 * (task-spec-hash.ts); a node whose spec differs refuses the task and says which value differs and what to do.
 */
import { zeroHash } from "viem";
import type { Hex } from "viem";

import { taskRuleId, taskRuleName } from "../../chain/actions/create-task.ts";
import type { TaskRule } from "../../chain/actions/create-task.ts";
import { chunkCount } from "../../proofs/index.ts";

/** Why this node does not take part in the task (a log message and its fields), or undefined if it may. */
export interface SpecRefusal {
  readonly message: string;
  readonly fields: Record<string, string | number>;
}

export function specRefusal(
  task: { readonly numChunks: number; readonly specHash: Hex; readonly ruleId: number },
  own: { readonly parameters: number; readonly specHash: Hex; readonly rule: TaskRule },
): SpecRefusal | undefined {
  if (task.numChunks !== chunkCount(own.parameters))
    return {
      message:
        "the task's chunk count on chain does not match this node's model spec: not taking part (run the node with the task's spec)",
      fields: {
        taskChunks: task.numChunks,
        specChunks: chunkCount(own.parameters),
        parameters: own.parameters,
      },
    };
  // Checked apart from the hash: a task created without a spec hash, or with a rule other than its spec's,
  // still fixes the rule every aggregator of the task must apply.
  if (task.ruleId !== taskRuleId(own.rule))
    return {
      message:
        "the task's aggregation rule on chain is not this node's task spec's: not taking part (run the node with the task's spec, aggregation.rule)",
      fields: { taskRule: taskRuleName(task.ruleId) ?? `unknown id ${task.ruleId}`, specRule: own.rule },
    };
  // A zero hash: the creator registered no spec (tasks created before #22, or by a bare createTask call).
  if (task.specHash !== zeroHash && task.specHash.toLowerCase() !== own.specHash.toLowerCase())
    return {
      message:
        "the task's spec hash on chain is not this node's task spec: not taking part (every node of a task must run the spec it was created with; put that spec in config.json's task)",
      fields: { taskSpecHash: task.specHash, nodeSpecHash: own.specHash },
    };
  return undefined;
}
