/**
 * The host's CPU, memory and network counters, read from what the kernel already exposes: `os.cpus()` times,
 * `/proc/meminfo` and `/proc/net/dev` (Linux; elsewhere `os.freemem()` and no network figures). Each sample
 * costs two small file reads and no process. The monitor used `systeminformation` before, whose CPU, memory and
 * network probes spawned shells (`exec`, `execSync`) on every 5 s sample: a fork of an 800 MB node process each time,
 * and an event loop blocked for the child's run, which a loaded machine stretches (the 3-node unattended test
 * spent a tenth of its nodes' main-thread samples in child_process spawns, 2026-12-06).
 */
import { readFile } from "node:fs/promises";
import { cpus, freemem, totalmem } from "node:os";

/** Cumulative counters of the host at one moment (rates come from two of them). */
export interface HostCounters {
  /** Logical CPUs (the monitor's per-core share divides by it; read with the times, one `os.cpus()` a sample). */
  readonly cpus: number;
  /** CPU time every core spent busy (not idle) since boot, ms. */
  readonly cpuBusyMs: number;
  /** CPU time of every core since boot, ms. */
  readonly cpuTotalMs: number;
  readonly memoryTotalBytes: number;
  /** Memory the kernel says new work can have without swapping (MemAvailable), or free memory. */
  readonly memoryAvailableBytes: number;
  /** Bytes received and sent on non-loopback interfaces since boot; undefined where unreadable. */
  readonly net?: { readonly rxBytes: number; readonly txBytes: number };
}

/** `/proc/meminfo`'s MemAvailable in bytes, or undefined when the file or the line is missing. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const match = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** Sums `/proc/net/dev`'s byte counters over the non-loopback interfaces; undefined when none is listed. */
export function parseNetDev(netDev: string): { rxBytes: number; txBytes: number } | undefined {
  let rxBytes = 0;
  let txBytes = 0;
  let seen = 0;
  for (const line of netDev.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    if (line.slice(0, colon).trim().startsWith("lo")) continue;
    // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ... (the 9th field).
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (fields.length < 9 || !Number.isFinite(fields[0]) || !Number.isFinite(fields[8])) continue;
    rxBytes += fields[0]!;
    txBytes += fields[8]!;
    seen += 1;
  }
  return seen === 0 ? undefined : { rxBytes, txBytes };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Reads the host's counters now. */
export async function readHostCounters(): Promise<HostCounters> {
  const [meminfo, netDev] = await Promise.all([readOptional("/proc/meminfo"), readOptional("/proc/net/dev")]);
  let cpuBusyMs = 0;
  let cpuTotalMs = 0;
  const cores = cpus();
  for (const { times } of cores) {
    const total = times.user + times.nice + times.sys + times.idle + times.irq;
    cpuTotalMs += total;
    cpuBusyMs += total - times.idle;
  }
  const net = netDev === undefined ? undefined : parseNetDev(netDev);
  return {
    cpus: cores.length,
    cpuBusyMs,
    cpuTotalMs,
    memoryTotalBytes: totalmem(),
    memoryAvailableBytes: (meminfo === undefined ? undefined : parseMemAvailable(meminfo)) ?? freemem(),
    ...(net === undefined ? {} : { net }),
  };
}

/** Host CPU load between two readings (0-100); since boot when there is no earlier one. */
export function hostCpuPercent(now: HostCounters, before: HostCounters | undefined): number {
  const busy = now.cpuBusyMs - (before?.cpuBusyMs ?? 0);
  const total = now.cpuTotalMs - (before?.cpuTotalMs ?? 0);
  return total <= 0 ? 0 : Math.min(100, Math.max(0, (100 * busy) / total));
}
