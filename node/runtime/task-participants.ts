/**
 * The round participants a node runs (docs/protocol.md §7): one for the task it trains and, when that task is a
 * group task, one for its parent. The parent's rounds take only its groups' partials; its trainers are the groups'
 * leaders and its aggregator is drawn among the parent task's volunteers (every node of its groups runs this
 * participant and volunteers) or its leaders. Without the parent participant a node could lead a group, commit
 * its partial, and never deliver it; or be drawn for a parent round it does not follow and be slashed for the miss.
 *
 * Both participants share the node's mesh, wallet (one transaction queue), training pool and chain client; each
 * keeps its own round state, the parent's under `task-<id>/` of the data directory.
 */
import { join } from "node:path";

import { RoundParticipant } from "../protocol/round/index.ts";
import type { ParticipantOptions } from "../protocol/round/index.ts";
import { RoundStore } from "../protocol/round-store.ts";

export interface TaskParticipantsInit {
  /**
   * The options of the participant of the task the node trains (`taskId`: that task); its store is made here, in
   * `dataDir` (the parent's in `task-<parentTaskId>/`).
   */
  readonly main: Omit<ParticipantOptions, "store">;
  /** The parent of `main.taskId` when it is a group task (`trainingTaskOf`). */
  readonly parentTaskId: bigint | undefined;
  /** The data directory: the trained task's round state, and the parent's under `task-<parentTaskId>/`. */
  readonly dataDir: string;
  /** Called after a round-state write failed (logged here), e.g. to re-check the disk at once. */
  readonly onWriteError?: (path: string, error: unknown) => void;
}

export class TaskParticipants {
  /** The participant of the task the node trains. */
  readonly main: RoundParticipant;
  /** The participant of `main`'s parent task, if it has one. */
  readonly parent: RoundParticipant | undefined;
  /** The tasks the node runs (and volunteers to aggregate), the trained task's first. */
  readonly taskIds: readonly bigint[];

  constructor(init: TaskParticipantsInit) {
    const { main, parentTaskId } = init;
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
    this.taskIds = parentTaskId === undefined ? [main.taskId] : [main.taskId, parentTaskId];
    this.parent =
      parentTaskId === undefined
        ? undefined
        : new RoundParticipant({
            ...main,
            taskId: parentTaskId,
            parentTaskId: undefined,
            onPartial: undefined,
            // The personalized model follows the task the node trains; the parent's rounds train nothing here.
            onGlobalModel: undefined,
            log: main.log.child({ task: parentTaskId.toString() }),
            store: store(join(init.dataDir, `task-${parentTaskId}`), main.log),
          });
    const parent = this.parent;
    this.main = new RoundParticipant({
      ...main,
      store: store(init.dataDir, main.log),
      parentTaskId,
      // A group round this node led: its partial goes to the parent round's aggregator (partial-delivery.ts).
      ...(parent === undefined
        ? {}
        : {
            onPartial: (parentRoundId: bigint, bytes: Uint8Array) =>
              void parent.adoptPartial(parentRoundId, bytes),
          }),
    });
  }

  /** The participant of task `taskId`, when the node runs that task. */
  of(taskId: bigint): RoundParticipant | undefined {
    const at = this.taskIds.indexOf(taskId);
    return at < 0 ? undefined : this.all[at];
  }

  /** Every participant, the trained task's first (in `taskIds`' order). */
  get all(): readonly RoundParticipant[] {
    return this.parent === undefined ? [this.main] : [this.main, this.parent];
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
