/**
 * Where the mesh's round traffic goes: pushed updates to the aggregator role, pushed aggregates and replicas to the
 * round data, sub-aggregators' partials to the sub-aggregator, fetches by content hash or commitment to whichever
 * task holds the bytes, the openings protocol, and the check that declines a push of round data already held before
 * its body moves (push 2.0.0, #22).
 *
 * A node can run several tasks on one mesh: a group task and its parent (docs/protocol.md §7) each have their own
 * participant, and the mesh has one handler per blob kind. Round IDs are global on the TrainingRounds contract, so
 * a pushed blob names its task through its round (`meta.round`): the router hands it to the participant whose task
 * the round belongs to, read once from chain (`Round.taskId`, never changes) unless the round is a task's active
 * one. With one task nothing is read: every blob goes to it, as before the router.
 */
import type { Logger } from "pino";

import type { BlobMeta } from "./blob-meta.ts";
import { roundOf } from "./blob-meta.ts";
import type { Mesh } from "../../p2p/mesh.ts";
import { MeshError } from "../../p2p/errors.ts";
import type { Aggregator } from "./aggregator.ts";
import type { RoundData } from "./round-data.ts";
import type { SubAggregator } from "./sub-aggregator.ts";

/**
 * Rounds whose task the router remembers (a round's task never changes). Bounded: a peer naming random round
 * numbers costs one chain read each (within the blob protocol's push rate), not memory.
 */
const ROUND_TASKS_KEPT = 256;

/** One task's roles that receive round traffic from the mesh. */
export interface RoundMeshRoles {
  readonly taskId: bigint;
  readonly aggregator: Aggregator;
  readonly data: RoundData;
  readonly subAggregator: SubAggregator;
  /** Bytes by content hash (models, round data, aggregates from disk), as model-sync.ts serves them. */
  readonly serve: (sha256: string) => Promise<Uint8Array | undefined>;
  /** The task of a round, from chain (0 for a round nobody opened). */
  readonly roundTask: (roundId: bigint) => Promise<bigint>;
}

/** The router of one mesh: one per mesh, whatever the number of tasks its node runs. */
export class RoundMeshRouter {
  private static readonly routers = new WeakMap<Mesh, RoundMeshRouter>();
  /** Attached tasks by ID, in attach order (fetches ask them in that order). */
  private readonly tasks = new Map<bigint, RoundMeshRoles>();
  private readonly roundTasks = new Map<bigint, bigint>();
  private readonly mesh: Mesh;
  private readonly log: Logger;
  private openingsTask: bigint | undefined;

  private constructor(mesh: Mesh, log: Logger) {
    this.mesh = mesh;
    this.log = log;
    mesh.blobs.onBlob("update", async (blob) =>
      (await this.rolesFor(blob.meta)).aggregator.receiveUpdate(blob.from, blob.bytes, blob.meta),
    );
    mesh.blobs.onBlob("aggregate", async (blob) =>
      (await this.rolesFor(blob.meta)).data.receiveAggregate(blob.from, blob.bytes, blob.meta),
    );
    mesh.blobs.onBlob("partial", async (blob) =>
      (await this.rolesFor(blob.meta)).subAggregator.receivePartial(blob.from, blob.bytes),
    );
    // Content-addressed: bytes any task holds are the bytes the push carries, whichever task it is for.
    mesh.blobs.holds(({ kind, sha256, meta }) => {
      if (this.foreign(kind, meta)) {
        log.debug({ kind, sha: sha256.slice(0, 12) }, "declined a push of another task's round data");
        return true;
      }
      // The same replica arriving from another pusher now (body on its way or being checked): the same bytes check
      // the same. Two relayers picking one peer at once each sent it a body (the 64-node bench: ~30% of relays);
      // if the first push fails after all, the watcher fetches the update after the push grace.
      if (kind === "update" && meta["replica"] === true && mesh.blobs.receiving(sha256)) {
        log.debug({ sha: sha256.slice(0, 12) }, "declined a replica already arriving");
        return true;
      }
      for (const roles of this.tasks.values()) {
        if (!roles.data.holdsPushed(kind, sha256, meta)) continue;
        log.debug({ kind, sha: sha256.slice(0, 12) }, "declined a push of round data already held");
        return true;
      }
      return false;
    });
    mesh.blobs.serve(async (sha) => {
      for (const roles of this.tasks.values()) {
        const bytes = await roles.serve(sha);
        if (bytes !== undefined) return bytes;
      }
      return undefined;
    });
    mesh.blobs.serveCommitted((root) => {
      for (const roles of this.tasks.values()) {
        const bytes = roles.data.committedBytes(root);
        if (bytes !== undefined) return bytes;
      }
      return undefined;
    });
  }

  /** The mesh's router (made on first use: it takes over the mesh's round blob handlers). */
  static of(mesh: Mesh, log: Logger): RoundMeshRouter {
    let router = RoundMeshRouter.routers.get(mesh);
    if (router === undefined) {
      router = new RoundMeshRouter(mesh, log);
      RoundMeshRouter.routers.set(mesh, router);
    }
    return router;
  }

  /** The tasks attached, in order. */
  get taskIds(): readonly bigint[] {
    return [...this.tasks.keys()];
  }

  /**
   * Hands the round traffic of `roles.taskId` to `roles` (a task attached again, e.g. a participant rebuilt on the
   * same mesh, replaces its earlier roles). The openings protocol has one handler per mesh: it serves the first
   * task attached. Only hierarchical rounds use it, and those are unproven tasks' (§7), while a group task and its
   * parent are proven: a node's second task never needs it.
   */
  attach(roles: RoundMeshRoles): void {
    const previous = this.tasks.get(roles.taskId);
    this.tasks.set(roles.taskId, roles);
    this.openingsTask ??= roles.taskId;
    if (this.openingsTask !== roles.taskId) return;
    const { mesh } = this;
    const register = async () => {
      if (previous !== undefined) await mesh.unregister(previous.subAggregator.openings);
      await mesh.register(roles.subAggregator.openings);
    };
    void register().catch((error: unknown) => {
      this.log.error({ err: error }, "openings protocol failed to start");
    });
  }

  /** The roles of the task a pushed blob's round belongs to; refused when it is none of this node's tasks. */
  private async rolesFor(meta: BlobMeta): Promise<RoundMeshRoles> {
    const only = this.tasks.size === 1 ? this.tasks.values().next().value : undefined;
    if (only !== undefined) return only;
    const roundId = roundOf(meta);
    for (const roles of this.tasks.values()) if (roles.data.activeRoundId === roundId) return roles;
    const taskId = await this.taskOf(roundId);
    const roles = taskId === undefined ? undefined : this.tasks.get(taskId);
    if (roles === undefined)
      throw new MeshError("BLOB_REJECTED", `round ${roundId} is not a round of this node's tasks`);
    return roles;
  }

  /**
   * Whether a pushed replica or aggregate is for a round known to belong to a task this node does not run: declined
   * before its body ("held": this node wants nothing of it) instead of refused after it. Relays and seeds go to
   * random admitted peers, most of which run other tasks in a hierarchy (update-relay.ts); such a pusher then
   * tries its next peer. Never an update pushed for aggregating: its sender must learn of a refusal.
   */
  private foreign(kind: string, meta: BlobMeta): boolean {
    if (this.tasks.size <= 1 || !(kind === "aggregate" || (kind === "update" && meta["replica"] === true)))
      return false;
    const roundText = meta["round"];
    if (typeof roundText !== "string" || !/^\d{1,20}$/.test(roundText)) return false;
    const taskId = this.roundTasks.get(BigInt(roundText));
    return taskId !== undefined && !this.tasks.has(taskId);
  }

  private async taskOf(roundId: bigint): Promise<bigint | undefined> {
    const known = this.roundTasks.get(roundId);
    if (known !== undefined) return known;
    const reader = this.tasks.values().next().value;
    if (reader === undefined) return undefined;
    const taskId = await reader.roundTask(roundId);
    if (taskId === 0n) return undefined; // not opened yet: asked again on the next push
    if (this.roundTasks.size >= ROUND_TASKS_KEPT) {
      const oldest = this.roundTasks.keys().next().value;
      if (oldest !== undefined) this.roundTasks.delete(oldest);
    }
    this.roundTasks.set(roundId, taskId);
    return taskId;
  }
}
