/**
 * Samples the node process's and the host's CPU, memory, disk and network on an interval, publishes them as
 * Prometheus gauges on an injected registry, and hands every sample to listeners (anomaly detection, the status
 * API's `resources` field via {@link ResourceMonitor.snapshot}).
 *
 * Process figures come from `process.cpuUsage`/`memoryUsage` (exact, free); host figures from the kernel's
 * counters (host-counters.ts: no process spawned per sample); disk from `statfs` on the data directory; mesh
 * traffic from a callback reading libp2p's own byte counters (the node wires it; the host's interfaces also carry
 * non-mesh traffic).
 */
import { statfs } from "node:fs/promises";

import type { Logger } from "pino";
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";

import type { ResourceSnapshot } from "../api/status.ts";
import type { AnomalyDetector, AnomalyEvent } from "./anomaly.ts";
import { MONITOR_INTERVAL_MS } from "./constants.ts";
import { hostCpuPercent, readHostCounters } from "./host-counters.ts";
import type { HostCounters } from "./host-counters.ts";

/** Cumulative mesh byte counters (libp2p's), read at every sample to derive rates. */
export interface MeshByteCounters {
  readonly sentBytes: number;
  readonly receivedBytes: number;
}

export interface ResourceMonitorInit {
  readonly intervalMs?: number;
  /** File system to report free space for (the node's data directory). */
  readonly dataDir?: string;
  /** Limits to check each sample against (from `resolveLimits`). */
  readonly limits?: { readonly memoryBytes?: number; readonly diskBytes?: number };
}

export interface ResourceMonitorComponents {
  readonly registry: Registry;
  readonly meshBytes?: () => MeshByteCounters;
  readonly logger?: Logger;
}

/** One sample of everything the monitor watches. Rates are per second over the previous interval. */
export interface ResourceSample {
  readonly atMs: number;
  readonly process: {
    /** Share of the whole host's CPU time used by this process, 0–100. */
    readonly cpuPercent: number;
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
  };
  readonly host: {
    readonly cpus: number;
    readonly cpuPercent: number;
    readonly memoryTotalBytes: number;
    readonly memoryAvailableBytes: number;
    /** Non-loopback interfaces; undefined on the first sample (no previous counters). */
    readonly netRxBytesPerSec?: number;
    readonly netTxBytesPerSec?: number;
  };
  readonly disk?: { readonly freeBytes: number; readonly totalBytes: number };
  readonly mesh?: { readonly sentBytesPerSec: number; readonly receivedBytesPerSec: number };
  /** Limits this sample exceeds (memory: RSS above the budget; disk: less free space than the quota needs). */
  readonly overLimit: readonly ("memory" | "disk")[];
}

export type SampleListener = (sample: ResourceSample) => void;

interface Counters {
  /** performance.now() at the sample: rates need sub-millisecond intervals to be right. */
  readonly atPerfMs: number;
  readonly cpu: NodeJS.CpuUsage;
  readonly host: HostCounters;
  readonly mesh?: MeshByteCounters;
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** Interval sampler of process and host resources. */
export class ResourceMonitor {
  private readonly init: ResourceMonitorInit;
  private readonly components: ResourceMonitorComponents;
  private readonly listeners = new Set<SampleListener>();
  private readonly gauges: Record<
    | "processCpu"
    | "processRss"
    | "processHeap"
    | "hostCpu"
    | "hostMemTotal"
    | "hostMemAvailable"
    | "hostNet"
    | "diskFree"
    | "diskTotal"
    | "meshNet"
    | "overLimit"
    | "sampleErrors",
    Gauge<string>
  >;
  private previous: Counters | undefined;
  private last: ResourceSample | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight: Promise<unknown> | undefined;
  private onAbort: (() => void) | undefined;
  private signal: AbortSignal | undefined;
  private errors = 0;
  private sampling: Promise<unknown> = Promise.resolve();

  constructor(init: ResourceMonitorInit, components: ResourceMonitorComponents) {
    const intervalMs = init.intervalMs ?? MONITOR_INTERVAL_MS;
    if (!(intervalMs >= 10)) throw new RangeError(`intervalMs must be >= 10, got ${intervalMs}`);
    this.init = { ...init, intervalMs };
    this.components = components;
    const r = components.registry;
    this.gauges = {
      processCpu: gauge(r, "vain_process_cpu_percent", "Node process CPU, percent of the whole host"),
      processRss: gauge(r, "vain_process_resident_memory_bytes", "Node process resident set size"),
      processHeap: gauge(r, "vain_process_heap_used_bytes", "V8 heap in use"),
      hostCpu: gauge(r, "vain_host_cpu_percent", "Host CPU load, percent"),
      hostMemTotal: gauge(r, "vain_host_memory_total_bytes", "Host memory"),
      hostMemAvailable: gauge(r, "vain_host_memory_available_bytes", "Host memory available"),
      hostNet: gauge(r, "vain_host_network_bytes_per_second", "Host network traffic (non-loopback)", [
        "direction",
      ]),
      diskFree: gauge(r, "vain_disk_free_bytes", "Free space on the data directory's file system"),
      diskTotal: gauge(r, "vain_disk_total_bytes", "Size of the data directory's file system"),
      meshNet: gauge(r, "vain_mesh_bytes_per_second", "libp2p mesh traffic", ["direction"]),
      overLimit: gauge(r, "vain_resource_over_limit", "1 while the resource exceeds its operator limit", [
        "resource",
      ]),
      sampleErrors: gauge(r, "vain_resource_sample_errors", "Samples that failed (host probe errors)"),
    };
  }

  /** Subscribes to samples; returns the unsubscribe function. */
  onSample(listener: SampleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Feeds host series into an anomaly detector (CPU, RSS, free disk, mesh or host traffic); returns the
   * unsubscribe function.
   */
  feed(detector: AnomalyDetector): () => void {
    return this.onSample((s) => {
      const host = { kind: "host" } as const;
      const events: (AnomalyEvent | undefined)[] = [
        detector.observe(host, "cpuPercent", s.process.cpuPercent, s.atMs),
        detector.observe(host, "memoryRssBytes", s.process.rssBytes, s.atMs),
      ];
      if (s.disk !== undefined)
        events.push(detector.observe(host, "diskFreeBytes", s.disk.freeBytes, s.atMs));
      const net =
        s.mesh !== undefined
          ? s.mesh.sentBytesPerSec + s.mesh.receivedBytesPerSec
          : (s.host.netRxBytesPerSec ?? NaN) + (s.host.netTxBytesPerSec ?? NaN);
      events.push(detector.observe(host, "netBytesPerSecond", net, s.atMs));
      for (const e of events)
        if (e !== undefined) this.components.logger?.warn({ anomaly: e }, "resource anomaly");
    });
  }

  /** Takes the first sample, then samples every `intervalMs` until `stop()` or `signal` aborts. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.timer !== undefined) return;
    if (signal?.aborted === true) return;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.init.intervalMs);
    this.timer.unref();
    if (signal !== undefined) {
      this.signal = signal;
      this.onAbort = () => void this.stop();
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  /** Stops sampling and waits for a sample in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.onAbort !== undefined) this.signal?.removeEventListener("abort", this.onAbort);
    this.onAbort = undefined;
    this.signal = undefined;
    await this.inFlight;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  private async tick(): Promise<void> {
    if (this.inFlight !== undefined) return; // a slow probe must not pile up samples
    const run = this.sample().catch((error: unknown) => {
      this.errors++;
      this.gauges.sampleErrors.set(this.errors);
      this.components.logger?.warn({ err: error }, "resource sample failed");
    });
    this.inFlight = run;
    await run;
    this.inFlight = undefined;
  }

  /** Takes one sample now, updates the gauges and notifies listeners. */
  sample(): Promise<ResourceSample> {
    // One at a time: each sample's rates are deltas against the one before it.
    const next = this.sampling.then(
      () => this.takeSample(),
      () => this.takeSample(),
    );
    this.sampling = next.catch(() => undefined);
    return next;
  }

  private async takeSample(): Promise<ResourceSample> {
    const [host, disk] = await Promise.all([
      readHostCounters(),
      this.init.dataDir === undefined ? Promise.resolve(undefined) : statfs(this.init.dataDir),
    ]);
    // Counters are read together after the host probes, so they share one timestamp.
    const atMs = Date.now();
    const atPerfMs = performance.now();
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const hostCpus = host.cpus;
    const mesh = this.components.meshBytes?.();

    const prev = this.previous;
    const dtSec = prev === undefined ? 0 : (atPerfMs - prev.atPerfMs) / 1000;
    const rate = (now: number | undefined, before: number | undefined) =>
      now === undefined || before === undefined || dtSec <= 0
        ? undefined
        : Math.max(0, (now - before) / dtSec);
    const cpuPercent =
      prev === undefined || dtSec <= 0
        ? (100 * (cpu.user + cpu.system)) / 1e6 / Math.max(process.uptime(), 1e-3) / hostCpus
        : (100 * (cpu.user - prev.cpu.user + cpu.system - prev.cpu.system)) / 1e6 / dtSec / hostCpus;
    this.previous = { atPerfMs, cpu, host, mesh };

    const diskInfo =
      disk === undefined
        ? undefined
        : { freeBytes: disk.bavail * disk.bsize, totalBytes: disk.blocks * disk.bsize };
    const meshSent = rate(mesh?.sentBytes, prev?.mesh?.sentBytes);
    const meshReceived = rate(mesh?.receivedBytes, prev?.mesh?.receivedBytes);
    const overLimit: ("memory" | "disk")[] = [];
    const limits = this.init.limits;
    if (limits?.memoryBytes !== undefined && memory.rss > limits.memoryBytes) overLimit.push("memory");
    if (
      limits?.diskBytes !== undefined &&
      diskInfo !== undefined &&
      diskInfo.freeBytes < limits.diskBytes * 0.05
    ) {
      overLimit.push("disk"); // less than 5% of the quota left on the device: writes will start failing
    }

    const sample: ResourceSample = {
      atMs,
      process: {
        cpuPercent: Math.min(100, Math.max(0, cpuPercent)),
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
      },
      host: {
        cpus: hostCpus,
        cpuPercent: hostCpuPercent(host, prev?.host),
        memoryTotalBytes: host.memoryTotalBytes,
        memoryAvailableBytes: host.memoryAvailableBytes,
        netRxBytesPerSec: rate(host.net?.rxBytes, prev?.host.net?.rxBytes),
        netTxBytesPerSec: rate(host.net?.txBytes, prev?.host.net?.txBytes),
      },
      disk: diskInfo,
      mesh:
        meshSent === undefined || meshReceived === undefined
          ? undefined
          : { sentBytesPerSec: meshSent, receivedBytesPerSec: meshReceived },
      overLimit,
    };
    this.publish(sample);
    this.last = sample;
    for (const listener of this.listeners) {
      try {
        listener(sample);
      } catch (error) {
        this.components.logger?.warn({ err: error }, "resource sample listener failed");
      }
    }
    return sample;
  }

  private publish(s: ResourceSample): void {
    const g = this.gauges;
    g.processCpu.set(s.process.cpuPercent);
    g.processRss.set(s.process.rssBytes);
    g.processHeap.set(s.process.heapUsedBytes);
    g.hostCpu.set(s.host.cpuPercent);
    g.hostMemTotal.set(s.host.memoryTotalBytes);
    g.hostMemAvailable.set(s.host.memoryAvailableBytes);
    if (s.host.netRxBytesPerSec !== undefined) g.hostNet.set({ direction: "rx" }, s.host.netRxBytesPerSec);
    if (s.host.netTxBytesPerSec !== undefined) g.hostNet.set({ direction: "tx" }, s.host.netTxBytesPerSec);
    if (s.disk !== undefined) {
      g.diskFree.set(s.disk.freeBytes);
      g.diskTotal.set(s.disk.totalBytes);
    }
    if (s.mesh !== undefined) {
      g.meshNet.set({ direction: "sent" }, s.mesh.sentBytesPerSec);
      g.meshNet.set({ direction: "received" }, s.mesh.receivedBytesPerSec);
    }
    for (const resource of ["memory", "disk"] as const) {
      g.overLimit.set({ resource }, s.overLimit.includes(resource) ? 1 : 0);
    }
  }

  /** The latest sample, or undefined before the first. */
  latest(): ResourceSample | undefined {
    return this.last;
  }

  /** The status API's view of the latest sample (zeros before the first). */
  snapshot(): ResourceSnapshot {
    const s = this.last;
    if (s === undefined) return { cpuPercent: 0, memoryRssBytes: process.memoryUsage().rss };
    const net =
      s.mesh !== undefined
        ? s.mesh.sentBytesPerSec + s.mesh.receivedBytesPerSec
        : s.host.netRxBytesPerSec !== undefined && s.host.netTxBytesPerSec !== undefined
          ? s.host.netRxBytesPerSec + s.host.netTxBytesPerSec
          : undefined;
    return {
      cpuPercent: s.process.cpuPercent,
      memoryRssBytes: s.process.rssBytes,
      ...(s.disk === undefined ? {} : { diskFreeBytes: s.disk.freeBytes }),
      ...(net === undefined ? {} : { netBytesPerSecond: net }),
    };
  }
}
