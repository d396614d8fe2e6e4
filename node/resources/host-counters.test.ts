/**
 * The host counters the resource monitor samples (host-counters.ts): `/proc/meminfo` and `/proc/net/dev` parsed as
 * the kernel writes them, loopback left out, a missing line or file is undefined (not 0), CPU load from two
 * readings, and real readings of this machine that move forward.
 */
import assert from "node:assert/strict";
import { cpus } from "node:os";
import { describe, it } from "node:test";

import { hostCpuPercent, parseMemAvailable, parseNetDev, readHostCounters } from "./host-counters.ts";

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9000000   12000    0    0    0     0          0         0  9000000   12000    0    0    0     0       0          0
  eth0: 1500     10    0    0    0     0          0         0     2500      20    0    0    0     0       0          0
 wlan0:  100      1    0    0    0     0          0         0      300       3    0    0    0     0       0          0
`;

describe("host counters", () => {
  it("parses MemAvailable in bytes, undefined without it", () => {
    assert.equal(parseMemAvailable("MemTotal:       16384 kB\nMemAvailable:    2048 kB\n"), 2048 * 1024);
    assert.equal(parseMemAvailable("MemTotal:       16384 kB\nMemFree: 10 kB\n"), undefined);
  });

  it("sums the non-loopback interfaces of /proc/net/dev, undefined with none", () => {
    assert.deepEqual(parseNetDev(NET_DEV), { rxBytes: 1600, txBytes: 2800 });
    const loOnly = NET_DEV.split("\n").slice(0, 3).join("\n");
    assert.equal(parseNetDev(loOnly), undefined);
    assert.equal(parseNetDev(""), undefined);
  });

  it("derives CPU load from two readings, or since boot from one", () => {
    const at = (busy: number, total: number) => ({
      cpus: 2,
      cpuBusyMs: busy,
      cpuTotalMs: total,
      memoryTotalBytes: 1,
      memoryAvailableBytes: 1,
    });
    assert.equal(hostCpuPercent(at(1_500, 4_000), at(1_000, 2_000)), 25);
    assert.equal(hostCpuPercent(at(500, 1_000), undefined), 50);
    assert.equal(hostCpuPercent(at(1_000, 2_000), at(1_000, 2_000)), 0, "no time passed");
  });

  it("reads this machine's counters, moving forward", async () => {
    const first = await readHostCounters();
    let spin = 0;
    for (let i = 0; i < 2e7; i++) spin += i % 3;
    assert.ok(spin > 0);
    const second = await readHostCounters();
    assert.equal(first.cpus, cpus().length);
    assert.ok(first.memoryTotalBytes > first.memoryAvailableBytes && first.memoryAvailableBytes > 0);
    assert.ok(second.cpuBusyMs >= first.cpuBusyMs && second.cpuTotalMs > first.cpuTotalMs);
    const load = hostCpuPercent(second, first);
    assert.ok(load > 0 && load <= 100, `load ${load}`);
    if (first.net !== undefined) assert.ok(second.net!.rxBytes >= first.net.rxBytes);
  });
});
