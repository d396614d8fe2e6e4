import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";

import { Registry } from "prom-client";

import { Rng } from "../core/rng.ts";
import { AnomalyDetector, EwmaDetector, MessageRateTracker, RobustZScoreDetector } from "./anomaly.ts";
import type { AnomalyEvent } from "./anomaly.ts";
import { ResourceLimitError } from "./errors.ts";
import { createRateLimiter, parseByteSize, resolveLimits, throttle } from "./limits.ts";
import { ResourceMonitor } from "./monitor.ts";

const host = { cpus: 8, totalMemoryBytes: 16 * 2 ** 30, freeDiskBytes: 100 * 2 ** 30 };

describe("resolveLimits", () => {
  it("standard profile leaves a core free and volunteers for aggregation", () => {
    const l = resolveLimits({}, host);
    assert.equal(l.profile, "standard");
    assert.equal(l.cpuThreads, 7);
    assert.equal(l.memoryBytes, 8 * 2 ** 30);
    assert.equal(l.bandwidthBytesPerSec, Infinity);
    assert.equal(l.diskBytes, 20 * 2 ** 30);
    assert.equal(l.aggregatorDuty, true);
  });

  it("the default disk quota counts the data directory's own files as usable, so it holds across restarts", () => {
    const disk = (free: number, held: number) =>
      resolveLimits({}, { ...host, freeDiskBytes: free * 2 ** 20, dataDirBytes: held * 2 ** 20 }).diskBytes;
    // A 256 MiB disk: the same quota whether the directory is empty or holds 60 MiB of models.
    assert.equal(disk(256, 0), 128 * 2 ** 20);
    assert.equal(disk(196, 60), 128 * 2 ** 20);
    // A restart while another program filled the disk: half of what the node holds and what is free, not a few MiB.
    assert.equal(disk(16, 60), 38 * 2 ** 20);
    assert.equal(resolveLimits({}, { ...host, freeDiskBytes: 16 * 2 ** 20 }).diskBytes, 8 * 2 ** 20);
  });

  it("low-power profile: one thread, small batches, fewer connections, no aggregation duty, capped bandwidth", () => {
    const l = resolveLimits({ profile: "low-power" }, host);
    assert.equal(l.cpuThreads, 1);
    assert.equal(l.batchSize, 16);
    assert.equal(l.maxConnections, 16);
    assert.equal(l.aggregatorDuty, false);
    assert.equal(l.memoryBytes, 512 * 2 ** 20);
    assert.equal(l.bandwidthBytesPerSec, 2 ** 20);
    assert.ok(l.batchSize < resolveLimits({}, host).batchSize);
  });

  it("explicit operator values win and are clamped to the host", () => {
    const l = resolveLimits(
      {
        profile: "low-power",
        maxCpuThreads: 64,
        maxMemoryBytes: "2GiB",
        maxBandwidthBytesPerSec: "10 MB",
        aggregatorDuty: true,
      },
      host,
    );
    assert.equal(l.cpuThreads, 8);
    assert.equal(l.memoryBytes, 2 * 2 ** 30);
    assert.equal(l.bandwidthBytesPerSec, 10_000_000);
    assert.equal(l.aggregatorDuty, true);
  });

  it("rejects bad input with a one-line typed error", () => {
    for (const bad of [
      { maxCpuThreads: 0 },
      { profile: "turbo" },
      { maxMemoryBytes: "lots" },
      { extra: 1 },
    ]) {
      assert.throws(
        () => resolveLimits(bad, host),
        (e: unknown) =>
          e instanceof ResourceLimitError && e.code === "LIMITS_INVALID" && !e.message.includes("\n"),
      );
    }
    assert.equal(parseByteSize("1.5KiB"), 1536);
    assert.throws(() => parseByteSize("12 parsecs"), ResourceLimitError);
  });
});

describe("createRateLimiter", () => {
  it("lets a burst through, then holds the long-run rate (virtual clock)", async () => {
    let t = 0;
    const limiter = createRateLimiter(1000, { burstBytes: 500, now: () => t });
    assert.equal(limiter.tryTake(500), true);
    assert.equal(limiter.tryTake(1), false);
    t = 250; // 250 bytes of budget back
    assert.equal(limiter.tryTake(250), true);
    assert.equal(limiter.tryTake(10), false);
    t = 10_000;
    assert.equal(limiter.tryTake(500), true);
  });

  it("throttles real stream writes to the configured rate", async () => {
    const limiter = createRateLimiter(200_000, { burstBytes: 10_000 });
    const chunks = Array.from({ length: 20 }, () => new Uint8Array(5_000)); // 100 kB at 200 kB/s
    const start = performance.now();
    let sent = 0;
    for await (const chunk of throttle(chunks, limiter)) sent += chunk.length;
    const seconds = (performance.now() - start) / 1000;
    assert.equal(sent, 100_000);
    // (100 kB - 10 kB burst) / 200 kB/s = 0.45 s at least; timers only fire late, never early
    assert.ok(seconds >= 0.44, `took ${seconds} s`);
    assert.ok(seconds < 2, `took ${seconds} s`);
  });

  it("honours AbortSignal while waiting and returns the reservation", async () => {
    let t = 0;
    const limiter = createRateLimiter(1000, { burstBytes: 100, now: () => t });
    await limiter.take(100);
    const controller = new AbortController();
    const pending = limiter.take(1000, controller.signal);
    controller.abort(new Error("round cancelled"));
    await assert.rejects(pending, /round cancelled/);
    t = 100;
    assert.equal(limiter.tryTake(100), true, "aborted reservation was returned");
  });

  it("unlimited never waits; invalid rates are typed errors", async () => {
    const unlimited = createRateLimiter(Infinity);
    await unlimited.take(1e12);
    assert.throws(
      () => createRateLimiter(0),
      (e: unknown) => e instanceof ResourceLimitError && e.code === "RATE_INVALID",
    );
    await assert.rejects(createRateLimiter(10).take(-1), ResourceLimitError);
  });
});

describe("anomaly detectors", () => {
  it("EWMA and robust z flag a jump after a noisy steady series, not the noise", () => {
    const rng = new Rng(1);
    const ewma = new EwmaDetector();
    const robust = new RobustZScoreDetector();
    for (let i = 0; i < 100; i++) {
      const v = 100 + rng.normal() * 5;
      assert.equal(robust.update(v).anomalous, false, `robust false positive at ${i}`);
      const e = ewma.update(v);
      assert.ok(i < 20 || !e.anomalous, `ewma false positive at ${i}`);
    }
    assert.equal(ewma.update(200).anomalous, true);
    const r = robust.update(200);
    assert.equal(r.anomalous, true);
    assert.ok(r.score > 3.5 && Math.abs(r.baseline - 100) < 3);
  });

  it("robust z keeps its baseline when an attacker floods outliers into the window", () => {
    const robust = new RobustZScoreDetector({ window: 30 });
    for (let i = 0; i < 30; i++) robust.update(10 + (i % 3));
    for (let i = 0; i < 10; i++) robust.update(1000); // a third of the window poisoned
    const d = robust.update(1000);
    assert.equal(d.anomalous, true);
    assert.ok(d.baseline < 20);
  });

  it("AnomalyDetector emits typed peer events in the directions that matter", () => {
    const detector = new AnomalyDetector({ now: () => 42 });
    const events: AnomalyEvent[] = [];
    detector.on((e) => events.push(e));
    const peer = {
      kind: "peer",
      peerId: "12D3KooWpeer",
      operator: "0x00000000000000000000000000000000000000aa",
    } as const;
    const rng = new Rng(2);
    for (let i = 0; i < 30; i++) detector.observe(peer, "latencyMs", 50 + rng.normal() * 3);
    assert.equal(detector.observe(peer, "latencyMs", 5), undefined, "a faster peer is not penalised");
    const e = detector.observe(peer, "latencyMs", 500);
    assert.ok(e !== undefined);
    assert.equal(e.subject, peer);
    assert.equal(e.metric, "latencyMs");
    assert.equal(e.direction, "high");
    assert.equal(e.atMs, 42);
    assert.ok(e.severity > 0 && e.severity <= 1);
    assert.deepEqual(events, [e]);
    assert.equal(detector.observe(peer, "latencyMs", NaN), undefined);
  });

  it("MessageRateTracker flags a peer that starts flooding", () => {
    const detector = new AnomalyDetector();
    const tracker = new MessageRateTracker(detector, 1000);
    const peer = { kind: "peer", peerId: "flooder" } as const;
    let t = 0;
    let flagged: AnomalyEvent | undefined;
    for (let window = 0; window < 30; window++) {
      const perWindow = window < 25 ? 5 + (window % 2) : 200;
      for (let m = 0; m < perWindow; m++) {
        const e = tracker.record(peer, t + (m * 1000) / perWindow);
        if (e !== undefined && flagged === undefined) flagged = e;
      }
      t += 1000;
    }
    tracker.record(peer, t);
    assert.ok(flagged !== undefined, "flood was flagged");
    assert.equal(flagged.metric, "messageRate");
    assert.ok(flagged.value >= 100);
  });
});

describe("ResourceMonitor", () => {
  it("samples the real process and host, publishes gauges and a status snapshot", async () => {
    const registry = new Registry();
    let sent = 0;
    const monitor = new ResourceMonitor(
      { intervalMs: 50, dataDir: tmpdir(), limits: { memoryBytes: 1 } },
      { registry, meshBytes: () => ({ sentBytes: (sent += 10_000), receivedBytes: 0 }) },
    );
    const samples: number[] = [];
    monitor.onSample((s) => samples.push(s.atMs));
    await monitor.start();
    const busyUntil = performance.now() + 300;
    while (performance.now() < busyUntil) Math.sqrt(Math.random()); // burn CPU for this process
    await new Promise((r) => setTimeout(r, 120));
    const s = await monitor.sample();
    await monitor.stop();
    assert.ok(samples.length >= 2, `${samples.length} samples`);
    assert.ok(s.process.rssBytes > 10 * 2 ** 20);
    assert.ok(s.host.memoryTotalBytes > s.host.memoryAvailableBytes && s.host.memoryAvailableBytes > 0);
    assert.ok(s.disk !== undefined && s.disk.freeBytes > 0 && s.disk.totalBytes >= s.disk.freeBytes);
    assert.ok(s.mesh !== undefined && s.mesh.sentBytesPerSec > 0);
    assert.deepEqual(s.overLimit, ["memory"]);
    // An interval sample may land after `s` and before stop(): the snapshot shows the latest one.
    const snap = monitor.snapshot();
    const latest = monitor.latest();
    assert.ok(latest !== undefined);
    assert.equal(snap.memoryRssBytes, latest.process.rssBytes);
    assert.equal(snap.diskFreeBytes, latest.disk?.freeBytes);
    assert.ok(snap.netBytesPerSecond !== undefined && snap.netBytesPerSecond > 0);
    const metrics = await registry.metrics();
    assert.match(metrics, /vain_process_resident_memory_bytes \d+/);
    assert.match(metrics, /vain_resource_over_limit\{resource="memory"\} 1/);
    assert.match(metrics, /vain_mesh_bytes_per_second\{direction="sent"\} [1-9]/);
    const count = samples.length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(samples.length, count, "no samples after stop()");
  });

  it("measures this process's CPU when it is busy", async () => {
    const monitor = new ResourceMonitor({ intervalMs: 1000 }, { registry: new Registry() });
    const before = process.cpuUsage();
    const startedAt = performance.now();
    await monitor.sample();
    // 300 ms of this process's CPU time, not of wall time: at load 10 a 400 ms wall-clock loop got 8% of a core.
    const busyFrom = process.cpuUsage();
    for (let used = 0; used < 300_000 && performance.now() - startedAt < 20_000;) {
      for (let i = 0; i < 100_000; i++) Math.sqrt(Math.random());
      const delta = process.cpuUsage(busyFrom);
      used = delta.user + delta.system;
    }
    const s = await monitor.sample();
    // Our own figure over a window that contains the monitor's: the monitor must see about as much.
    const spent = process.cpuUsage(before);
    const wallS = (performance.now() - startedAt) / 1000;
    const ours = (100 * (spent.user + spent.system)) / 1e6 / wallS / s.host.cpus;
    assert.ok(s.process.cpuPercent > 0.5 * ours, `monitor ${s.process.cpuPercent}%, ours ${ours}%`);
    assert.ok(s.process.cpuPercent <= 100);
  });

  it("stops when the AbortSignal aborts and shares gauges on one registry", async () => {
    const registry = new Registry();
    const controller = new AbortController();
    const a = new ResourceMonitor({ intervalMs: 20 }, { registry });
    new ResourceMonitor({ intervalMs: 20 }, { registry }); // no duplicate-registration crash
    await a.start(controller.signal);
    assert.equal(a.running, true);
    controller.abort();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(a.running, false);
    assert.throws(() => new ResourceMonitor({ intervalMs: 1 }, { registry }), RangeError);
  });

  it("feeds host series to an anomaly detector", async () => {
    const monitor = new ResourceMonitor({ intervalMs: 1000 }, { registry: new Registry() });
    const detector = new AnomalyDetector({ robust: { minSamples: 2 } });
    const seen: string[] = [];
    const origObserve = detector.observe.bind(detector);
    detector.observe = (subject, metric, value, atMs) => {
      seen.push(metric);
      return origObserve(subject, metric, value, atMs);
    };
    const off = monitor.feed(detector);
    await monitor.sample();
    off();
    await monitor.sample();
    assert.deepEqual(seen.sort(), ["cpuPercent", "memoryRssBytes", "netBytesPerSecond"]);
  });
});
