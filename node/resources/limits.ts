/**
 * Operator resource limits and the profiles that turn them into concrete settings the node obeys:
 * training threads and batch size (node/training), memory and disk budgets (monitor, storage quota),
 * bandwidth (a token bucket around stream writes), connection cap (libp2p) and whether to volunteer as an
 * aggregator. The `low-power` profile is for small or battery devices.
 */
import { z } from "zod";

import {
  DEFAULT_BURST_SECONDS,
  LOW_POWER_BANDWIDTH_BYTES_PER_SEC,
  LOW_POWER_BATCH_SIZE,
  LOW_POWER_DISK_CAP_BYTES,
  LOW_POWER_MAX_CONNECTIONS,
  LOW_POWER_MEMORY_CAP_BYTES,
  LOW_POWER_MEMORY_FRACTION,
  LOW_POWER_THREADS,
  STANDARD_BATCH_SIZE,
  STANDARD_DISK_CAP_BYTES,
  STANDARD_DISK_FRACTION,
  STANDARD_MAX_CONNECTIONS,
  STANDARD_MEMORY_FRACTION,
  STANDARD_RESERVED_CORES,
} from "./constants.ts";
import { ResourceLimitError } from "./errors.ts";

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Parses `"512MiB"`, `"1.5 GB"`, `"1048576"` into bytes (integer); throws `ResourceLimitError` otherwise. */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = UNITS[(match?.[2] ?? "").toLowerCase() || "b"];
  if (match === null || unit === undefined) {
    throw new ResourceLimitError(
      "BYTE_SIZE_INVALID",
      `invalid byte size ${JSON.stringify(text)} (use e.g. 512MiB, 2GB, 1048576)`,
    );
  }
  return Math.floor(Number(match[1]) * unit);
}

/** A byte count as a non-negative integer or a string with a unit. */
const byteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .transform((s, ctx) => {
      try {
        return parseByteSize(s);
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        return z.NEVER;
      }
    })
    .pipe(z.number().int().positive()),
]);

/** What the operator may set (config file key `resources`); everything is optional. */
export const resourceLimitsSchema = z
  .object({
    profile: z.enum(["standard", "low-power"]).default("standard"),
    maxCpuThreads: z.number().int().positive().optional(),
    maxMemoryBytes: byteSize.optional(),
    /** Upload and download budget of mesh streams, per second each way. */
    maxBandwidthBytesPerSec: byteSize.optional(),
    maxDiskBytes: byteSize.optional(),
    maxConnections: z.number().int().min(4).optional(),
    batchSize: z.number().int().positive().optional(),
    /** Volunteer as (sub-)aggregator; default: on for standard, off for low-power. */
    aggregatorDuty: z.boolean().optional(),
  })
  .strict();

export type ResourceLimitsInput = z.input<typeof resourceLimitsSchema>;
export type ResourceLimits = z.output<typeof resourceLimitsSchema>;

/** The host facts the profile scales with. */
export interface HostInfo {
  readonly cpus: number;
  readonly totalMemoryBytes: number;
  /** Free space on the data directory's file system, when known. */
  readonly freeDiskBytes?: number;
  /**
   * Bytes the data directory already holds. The default quota is a share of the free space plus these: the node's
   * own files are space it may use. A share of the free space alone shrank at every restart as the directory
   * grew (a 256 MiB tmpfs in session 16's soak: 134 MB at the first start, 129 MB twelve restarts later), and a
   * restart while the disk was full gave a quota of a few MiB, which the guard would then enforce by deleting.
   */
  readonly dataDirBytes?: number;
}

/** Concrete settings the node applies. */
export interface ResolvedLimits {
  readonly profile: ResourceLimits["profile"];
  /** Worker threads for training (TrainingPool size). */
  readonly cpuThreads: number;
  readonly memoryBytes: number;
  /** `Infinity` when unlimited. */
  readonly bandwidthBytesPerSec: number;
  /** Storage quota of the data directory's content store. */
  readonly diskBytes: number;
  readonly maxConnections: number;
  readonly batchSize: number;
  readonly aggregatorDuty: boolean;
}

/**
 * Validates operator limits and resolves them against the host. Explicit values win over the profile's
 * defaults but are clamped to what the host has (more threads than cores only slows training down).
 */
export function resolveLimits(input: unknown, host: HostInfo): ResolvedLimits {
  const parsed = resourceLimitsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ResourceLimitError(
      "LIMITS_INVALID",
      `invalid resource limits: ${issue?.path.join(".") || "resources"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const limits = parsed.data;
  const cpus = Math.max(1, Math.floor(host.cpus));
  const lowPower = limits.profile === "low-power";
  const diskFromHost = (fraction: number, cap: number) =>
    host.freeDiskBytes === undefined
      ? cap
      : Math.min(cap, Math.floor((host.freeDiskBytes + (host.dataDirBytes ?? 0)) * fraction));

  const defaults = lowPower
    ? {
        cpuThreads: LOW_POWER_THREADS,
        memoryBytes: Math.min(
          LOW_POWER_MEMORY_CAP_BYTES,
          Math.floor(host.totalMemoryBytes * LOW_POWER_MEMORY_FRACTION),
        ),
        bandwidthBytesPerSec: LOW_POWER_BANDWIDTH_BYTES_PER_SEC,
        diskBytes: diskFromHost(STANDARD_DISK_FRACTION, LOW_POWER_DISK_CAP_BYTES),
        maxConnections: LOW_POWER_MAX_CONNECTIONS,
        batchSize: LOW_POWER_BATCH_SIZE,
        aggregatorDuty: false,
      }
    : {
        cpuThreads: Math.max(1, cpus - STANDARD_RESERVED_CORES),
        memoryBytes: Math.floor(host.totalMemoryBytes * STANDARD_MEMORY_FRACTION),
        bandwidthBytesPerSec: Number.POSITIVE_INFINITY,
        diskBytes: diskFromHost(STANDARD_DISK_FRACTION, STANDARD_DISK_CAP_BYTES),
        maxConnections: STANDARD_MAX_CONNECTIONS,
        batchSize: STANDARD_BATCH_SIZE,
        aggregatorDuty: true,
      };

  return {
    profile: limits.profile,
    cpuThreads: Math.min(cpus, limits.maxCpuThreads ?? defaults.cpuThreads),
    memoryBytes: Math.min(host.totalMemoryBytes, limits.maxMemoryBytes ?? defaults.memoryBytes),
    bandwidthBytesPerSec: limits.maxBandwidthBytesPerSec ?? defaults.bandwidthBytesPerSec,
    diskBytes: Math.max(1, limits.maxDiskBytes ?? defaults.diskBytes),
    maxConnections: limits.maxConnections ?? defaults.maxConnections,
    batchSize: limits.batchSize ?? defaults.batchSize,
    aggregatorDuty: limits.aggregatorDuty ?? defaults.aggregatorDuty,
  };
}

/** A bandwidth budget shared by every stream of one direction. */
export interface RateLimiter {
  readonly bytesPerSecond: number;
  /** Waits until `bytes` may be sent. FIFO: each call reserves its slot when made. Rejects if `signal` aborts. */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
  /** Takes `bytes` now if the budget allows, without waiting; returns whether it did. */
  tryTake(bytes: number): boolean;
}

export interface RateLimiterOptions {
  /** Bytes that may go out at once after an idle period (default: one second's worth). */
  readonly burstBytes?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}

/**
 * A token bucket as the generic cell rate algorithm: a "theoretical arrival time" advances by `bytes / rate`
 * per grant, and a grant waits until it is within the burst tolerance of now. One number of state, exact
 * long-run rate, FIFO order. `Infinity` gives a limiter that never waits.
 */
export function createRateLimiter(bytesPerSecond: number, options: RateLimiterOptions = {}): RateLimiter {
  if (!(bytesPerSecond > 0)) {
    throw new ResourceLimitError("RATE_INVALID", `bytesPerSecond must be > 0, got ${bytesPerSecond}`);
  }
  if (bytesPerSecond === Number.POSITIVE_INFINITY) {
    return {
      bytesPerSecond,
      take: (_bytes, signal) =>
        signal?.aborted === true ? Promise.reject(abortError(signal)) : Promise.resolve(),
      tryTake: () => true,
    };
  }
  const now = options.now ?? (() => performance.now());
  const burstBytes = options.burstBytes ?? bytesPerSecond * DEFAULT_BURST_SECONDS;
  if (!(burstBytes > 0))
    throw new ResourceLimitError("RATE_INVALID", `burstBytes must be > 0, got ${burstBytes}`);
  const msPerByte = 1000 / bytesPerSecond;
  const toleranceMs = burstBytes * msPerByte;
  let tatMs = now();

  const reserve = (bytes: number): number => {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) {
      throw new ResourceLimitError("RATE_INVALID", `byte count must be a finite number >= 0, got ${bytes}`);
    }
    const t = now();
    tatMs = Math.max(tatMs, t) + bytes * msPerByte;
    return Math.max(0, tatMs - toleranceMs - t);
  };

  return {
    bytesPerSecond,
    take(bytes, signal) {
      if (signal?.aborted === true) return Promise.reject(abortError(signal));
      let waitMs: number;
      try {
        waitMs = reserve(bytes);
      } catch (error) {
        return Promise.reject(error as Error);
      }
      if (waitMs === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          tatMs -= bytes * msPerByte; // give the unused reservation back
          reject(abortError(signal!));
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, waitMs);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    tryTake(bytes) {
      const t = now();
      const next = Math.max(tatMs, t) + bytes * msPerByte;
      if (next - toleranceMs > t) return false;
      tatMs = next;
      return true;
    },
  };
}

/**
 * Passes chunks through at the limiter's rate: wrap the source of a stream write loop
 * (`for await (const chunk of throttle(chunks, limiter, signal)) stream.send(chunk)`).
 */
export async function* throttle(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limiter: RateLimiter,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    await limiter.take(chunk.byteLength, signal);
    yield chunk;
  }
}
