/**
 * The round participants a node runs (docs/protocol.md §7): one for the task it trains and, when that task is a
 * group task, one for each task above it (its parent, and the parent's parent in a three-level hierarchy). A
 * parent's rounds take only its groups' partials; its trainers are the groups' leaders and its aggregator is drawn
 * among the parent task's volunteers (every node below it runs this participant and volunteers) or its leaders.
 * Without a participant for a task above, a node could lead a group, commit its partial, and never deliver it; or
 * be drawn for a round it does not follow and be slashed for the miss.
 *
 * The participants share the node's mesh, wallet (one transaction queue), training pool and chain client; each
 * keeps its own round state, a task above under `task-<id>/` of the data directory. Each hands the partials it
 * leads to the participant of the task above it.
 */
import { join } from "node:path";

import { RoundParticipant } from "../protocol/round/index.ts";
import type { ParticipantOptions } from "../protocol/round/index.ts";
import { RoundStore } from "../protocol/round-store.ts";

export interface TaskParticipantsInit {
  /**
   * The options of the participant of the task the node trains (`taskId`: that task); its store is made here, in
   * `dataDir` (a task above's in `task-<id>/`).
   */
  readonly main: Omit<ParticipantOptions, "store">;
  /** The tasks above `main.taskId`, its parent first, the hierarchy's root last (`readTaskPath`); [] if none. */
  readonly ancestorTaskIds: readonly bigint[];
  /** The data directory: the trained task's round state, and each task above's under `task-<id>/`. */
  readonly dataDir: string;
  /** Called after a round-state write failed (logged here), e.g. to re-check the disk at once. */
  readonly onWriteError?: (path: string, error: unknown) => void;
}

export class TaskParticipants {
  /** The participant of the task the node trains. */
  readonly main: RoundParticipant;
  /** The participants of the tasks above it, its parent's first. */
  readonly ancestors: readonly RoundParticipant[];
  /** The tasks the node runs (and volunteers to aggregate), the trained task's first, then upward. */
  readonly taskIds: readonly bigint[];

  constructor(init: TaskParticipantsInit) {
    const { main, ancestorTaskIds } = init;
    const store = (dir: string, log: ParticipantOptions["log"]) =>
      new RoundStore(dir, {
        onWriteError: (path, error) => {
          log.error(
            { path, code: (error as NodeJS.ErrnoException).code, reason: String(error) },
            "could not write round state: the round goes on from memory (a crash before the round ends loses it)",
          );
          init.onWriteError?.(path, error);
        },
      });
    // A round this node led: its partial goes to the round of the task above (partial-delivery.ts).
    const handOffTo = (above: RoundParticipant | undefined) =>
      above === undefined
        ? {}
        : {
            onPartial: (parentRoundId: bigint, bytes: Uint8Array) =>
              void above.adoptPartial(parentRoundId, bytes),
          };
    this.taskIds = [main.taskId, ...ancestorTaskIds];
    // Built from the root down, so each one's hand-off target exists.
    const ancestors: RoundParticipant[] = [];
    for (let level = ancestorTaskIds.length - 1; level >= 0; level--) {
      const taskId = ancestorTaskIds[level]!;
      ancestors.unshift(
        new RoundParticipant({
          ...main,
          taskId,
          parentTaskId: ancestorTaskIds[level + 1],
          onPartial: undefined,
          groupGate: undefined, // a task above takes partials only: nobody trains there
          ...handOffTo(ancestors[0]),
          // The personalized model follows the task the node trains; the rounds above train nothing here.
          onGlobalModel: undefined,
          log: main.log.child({ task: taskId.toString() }),
          store: store(join(init.dataDir, `task-${taskId}`), main.log),
        }),
      );
    }
    this.ancestors = ancestors;
    this.main = new RoundParticipant({
      ...main,
      store: store(init.dataDir, main.log),
      parentTaskId: ancestorTaskIds[0],
      ...handOffTo(ancestors[0]),
    });
  }

  /** The participant of task `taskId`, when the node runs that task. */
  of(taskId: bigint): RoundParticipant | undefined {
    const at = this.taskIds.indexOf(taskId);
    return at < 0 ? undefined : this.all[at];
  }

  /** Every participant, the trained task's first (in `taskIds`' order). */
  get all(): readonly RoundParticipant[] {
    return [this.main, ...this.ancestors];
  }

  start(): void {
    for (const participant of this.all) participant.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((participant) => participant.stop()));
  }

  /** Holds new work in every task (`undefined`: none held). */
  hold(reason: string | undefined): void {
    for (const participant of this.all) participant.hold(reason);
  }
}
