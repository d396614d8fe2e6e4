/**
 * Whether this node's task spec is the task's (issue #22): every node of a task must run the same spec, or its
 * updates could not be committed, checked, proven or averaged with the others'. The chain fixes the model's
 * chunk count, the aggregation rule, whether rounds are proven and, when the creator registered one, the spec's
 * content address (task-spec-hash.ts); a node whose spec differs refuses the task and says which value differs
 * and what to do.
 */
import type { Logger } from "pino";
import { zeroHash } from "viem";
import type { Hex } from "viem";

import { taskRuleId, taskRuleName } from "../../chain/actions/create-task.ts";
import type { TaskRule } from "../../chain/actions/create-task.ts";
import { chunkCount } from "../../proofs/index.ts";
import type { TaskSpec } from "../task-spec.ts";
import { taskSpecHash } from "../task-spec-hash.ts";

/** Which value of the task on chain differs from this node's spec. */
export type SpecMismatchField = "chunks" | "rule" | "proven" | "specHash";

/**
 * Why this node does not take part in the task: the field that differs, a log message saying what to do, and
 * the two values (log fields). Returned, not thrown: the node keeps watching the chain and logs it once.
 */
export class TaskSpecMismatchError extends Error {
  override readonly name = "TaskSpecMismatchError";
  readonly code = "TASK_SPEC_MISMATCH";
  readonly field: SpecMismatchField;
  readonly fields: Record<string, string | number | boolean>;

  constructor(field: SpecMismatchField, message: string, fields: Record<string, string | number | boolean>) {
    super(message);
    this.field = field;
    this.fields = fields;
  }
}

/** What the chain holds about the task (rounds-gateway.ts `TaskView`). */
export interface TaskOnChain {
  readonly numChunks: number;
  readonly specHash: Hex;
  readonly ruleId: number;
  readonly proven: boolean;
}

/** What this node's spec says about the same. */
export interface OwnTaskSpec {
  readonly parameters: number;
  readonly specHash: Hex;
  readonly rule: TaskRule;
  readonly proven: boolean;
}

/** The first value of `task` that differs from this node's spec, or undefined if the node may take part. */
export function specRefusal(task: TaskOnChain, own: OwnTaskSpec): TaskSpecMismatchError | undefined {
  if (task.numChunks !== chunkCount(own.parameters))
    return new TaskSpecMismatchError(
      "chunks",
      "the task's chunk count on chain does not match this node's model spec: not taking part (run the node with the task's spec)",
      {
        taskChunks: task.numChunks,
        specChunks: chunkCount(own.parameters),
        parameters: own.parameters,
      },
    );
  // Rule and proof mode are checked apart from the hash: a task created without a spec hash, or with a rule or
  // proof mode other than its spec's, still fixes what every aggregator of the task must do.
  if (task.ruleId !== taskRuleId(own.rule))
    return new TaskSpecMismatchError(
      "rule",
      "the task's aggregation rule on chain is not this node's task spec's: not taking part (run the node with the task's spec, aggregation.rule)",
      { taskRule: taskRuleName(task.ruleId) ?? `unknown id ${task.ruleId}`, specRule: own.rule },
    );
  // A node expecting unproven rounds might take a rule or a window it cannot prove in (and be slashed for an
  // unanswered challenge); one expecting proven rounds would hold its proving budget for nothing.
  if (task.proven !== own.proven)
    return new TaskSpecMismatchError(
      "proven",
      `the task's rounds are ${task.proven ? "proven" : "unproven"} on chain, this node's task spec says ${own.proven ? "proven" : "unproven"}: not taking part (run the node with the task's spec, aggregation.proven)`,
      { taskProven: task.proven, specProven: own.proven },
    );
  // A zero hash: the creator registered no spec (tasks created before #22, or by a bare createTask call).
  if (task.specHash !== zeroHash && task.specHash.toLowerCase() !== own.specHash.toLowerCase())
    return new TaskSpecMismatchError(
      "specHash",
      "the task's spec hash on chain is not this node's task spec: not taking part (every node of a task must run the spec it was created with; put that spec in config.json's task)",
      { taskSpecHash: task.specHash, nodeSpecHash: own.specHash },
    );
  return undefined;
}

/**
 * The round tick's gate on the task it read: closed while nobody has created the task yet (said once: waiting for
 * `vain-node task create`) or while its spec on chain is not this node's (each new mismatch logged once).
 */
export class SpecGate {
  /** Why this node's spec is not the task's; undefined once it matches. */
  mismatch: TaskSpecMismatchError | undefined;
  private waitingLogged = false;
  private readonly own: OwnTaskSpec;
  private readonly log: Logger;
  private readonly taskId: bigint;

  constructor(own: OwnTaskSpec, log: Logger, taskId: bigint) {
    this.own = own;
    this.log = log;
    this.taskId = taskId;
  }

  /** The gate of a participant of task `taskId` running `spec` (registered as `specHash`, else the spec's own). */
  static of(
    { spec, specHash, log, taskId }: { spec: TaskSpec; specHash?: Hex; log: Logger; taskId: bigint },
    parameters: number,
  ): SpecGate {
    const own = {
      parameters,
      specHash: specHash ?? taskSpecHash(spec),
      rule: spec.aggregation.rule,
      proven: spec.aggregation.proven,
    };
    return new SpecGate(own, log, taskId);
  }

  /** Whether the node takes part in `task` as read this tick. */
  admits(task: TaskOnChain & { readonly exists: boolean }): boolean {
    if (!task.exists) {
      // Not a mismatch: nobody created the task yet (the chain returns an all-zero task).
      if (!this.waitingLogged)
        this.log.info(
          { taskId: this.taskId.toString() },
          "waiting for the task to be created (vain-node task create)",
        );
      this.waitingLogged = true;
      return false;
    }
    const refusal = specRefusal(task, this.own);
    if (refusal !== undefined && this.mismatch === undefined) this.log.error(refusal.fields, refusal.message);
    this.mismatch = refusal;
    return refusal === undefined;
  }
}
