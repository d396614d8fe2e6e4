/**
 * Turns the operator's resource limits (config `resources`, node/resources/limits.ts) into the settings the running
 * node applies: training threads, the batch size cap, the mesh profile and its connection cap, the upload budget of
 * blob streams, the disk quota the monitor watches, and whether aggregation duty is possible at all. The
 * `low-power` profile (resources.profile or the mesh profile `low-power`) uses the low-power mesh profile, one
 * thread, small batches, 16 connections, 1 MiB/s and no aggregation duty.
 */
import { statfs } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";

import type { NodeConfig } from "../config/config.ts";
import { directoryBytes } from "./disk-quota.ts";
import { LOW_POWER_PROFILE, MESH_PROFILES } from "../p2p/profiles.ts";
import type { MeshProfile } from "../p2p/profiles.ts";
import { resolveLimits } from "../resources/limits.ts";
import type { HostInfo, ResolvedLimits } from "../resources/limits.ts";
import type { TaskSpec } from "../protocol/task-spec.ts";

export interface RuntimeSettings {
  readonly limits: ResolvedLimits;
  /** The mesh profile with the connection cap applied (target degree never above it). */
  readonly meshProfile: MeshProfile;
  /** The task spec with its batch size capped by the limits (the model and everything else unchanged). */
  readonly task: TaskSpec;
  readonly trainingThreads: number;
}

/** The host's CPU count, memory, the free space where the data directory lives and what the directory holds. */
export async function hostInfo(dataDir: string): Promise<HostInfo> {
  const free = await statfs(dataDir)
    .then((s) => s.bavail * s.bsize)
    .catch(() => undefined);
  return {
    cpus: availableParallelism(),
    totalMemoryBytes: totalmem(),
    ...(free === undefined ? {} : { freeDiskBytes: free, dataDirBytes: await directoryBytes(dataDir) }),
  };
}

/** Resolves the settings; throws `ResourceLimitError` (LIMITS_INVALID) for bad limits. */
export function runtimeSettings(
  config: Pick<NodeConfig, "profile" | "resources" | "task">,
  host: HostInfo,
): RuntimeSettings {
  const lowPower = config.profile === "low-power" || config.resources.profile === "low-power";
  const limits = resolveLimits({ ...config.resources, profile: lowPower ? "low-power" : "standard" }, host);
  const base = lowPower && config.profile === "default" ? LOW_POWER_PROFILE : MESH_PROFILES[config.profile];
  const maxConnections = Math.min(base.maxConnections, limits.maxConnections);
  const meshProfile: MeshProfile = {
    ...base,
    maxConnections,
    targetDegree: Math.min(base.targetDegree, maxConnections),
  };
  // A cap, not an override: every node of a task trains with the task's batch unless its limits forbid it.
  const batchSize = Math.min(config.task.train.batchSize, limits.batchSize);
  return {
    limits,
    meshProfile,
    task: { ...config.task, train: { ...config.task.train, batchSize } },
    trainingThreads: limits.cpuThreads,
  };
}
