/**
 * The soak's own parts that need no chain: the cuttable RPC proxy, the RSS trend, the fault schedule, and the
 * judgements of figures.ts (which fault excuses a slash or an idle round, trainers per round, goals, disk growth).
 */
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import { faultCycle, seededRandom } from "./faults.ts";
import {
  IDLE_STREAK_ROUNDS,
  activity,
  diskGrowth,
  dutyDrawnAt,
  faultedDuring,
  goals,
  idleStreaks,
  minimaPer,
} from "./figures.ts";
import type { FaultWindow } from "./figures.ts";
import { memoryFromMetrics } from "./node-process.ts";
import type { DiskSample, RssSample } from "./node-process.ts";
import type { RoundTrack } from "./observer.ts";
import { RpcProxy } from "./rpc-proxy.ts";
import { LONG_RSS_LIFE_MS, memoryPart, rssGrowth } from "./run.ts";

/** Sends `text` through 127.0.0.1:`port` and resolves with the echo, or rejects with the socket error. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(text));
    let echoed = "";
    socket.on("data", (chunk: Buffer) => (echoed += chunk.toString()));
    socket.on("end", () => resolve(echoed));
    socket.on("error", reject);
  });
}

describe("soak parts", () => {
  it("the RPC proxy forwards, refuses while cut, and forwards again on the same port once restored", async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const proxy = new RpcProxy((echo.address() as AddressInfo).port);
    try {
      await proxy.start();
      const port = Number(new URL(proxy.url).port);
      assert.equal(await roundTrip(port, "before"), "before");
      await proxy.cut();
      assert.equal(proxy.reachable, false);
      await assert.rejects(roundTrip(port, "during"), /ECONNREFUSED/);
      await proxy.restore();
      assert.equal(Number(new URL(proxy.url).port), port);
      assert.equal(await roundTrip(port, "after"), "after");
    } finally {
      await proxy.stop();
      echo.close();
    }
  });

  it("RSS growth is the steepest trend of a long enough process life, after its start-up third", () => {
    const minute = 60_000;
    const life = (n: number, mb: (i: number) => number, lifeNo: number): RssSample[] =>
      Array.from({ length: n }, (_, i) => ({ at: i * minute, mb: mb(i), life: lifeNo }));
    const flat = life(30, (i) => (i < 5 ? 100 + 20 * i : 200), 1); // warms up, then flat
    const leaking = life(30, (i) => 200 + i, 1); // 1 MB a minute = 60 MB/h
    const short = life(2, (i) => 100 + 500 * i, 2); // too short to judge
    assert.ok(rssGrowth(new Map([[0, flat]])).growthMBPerHour < 1);
    const both = rssGrowth(
      new Map([
        [0, [...flat, ...short]],
        [1, leaking],
      ]),
    );
    assert.ok(Math.abs(both.growthMBPerHour - 60) < 1e-6, String(both.growthMBPerHour));
    assert.equal(both.maxMB, 600); // the last sample of each node: 600 and 229
    // Garbage-collection swings of 200 MB on a flat process are not growth; the same swings on a leak still show it.
    const swinging = life(40, (i) => 400 + (i % 4 === 3 ? 200 : 0), 1);
    assert.ok(Math.abs(rssGrowth(new Map([[0, swinging]])).growthMBPerHour) < 1);
    const swingingLeak = life(40, (i) => 400 + i + (i % 4 === 3 ? 200 : 0), 1);
    assert.ok(Math.abs(rssGrowth(new Map([[0, swingingLeak]])).growthMBPerHour - 60) < 5);
    // The long-lives figure skips a 30-minute-short life that climbs and keeps a 40-minute one.
    const climbingShort = life(20, (i) => 300 + 10 * i, 1);
    const twoNodes = new Map([
      [0, climbingShort],
      [1, swinging],
    ]);
    assert.ok(rssGrowth(twoNodes).growthMBPerHour > 500);
    assert.ok(Math.abs(rssGrowth(twoNodes, LONG_RSS_LIFE_MS).growthMBPerHour) < 1);
  });

  it("tells heap, external and native growth apart from the nodes' /metrics", () => {
    const metrics = [
      "# HELP vain_process_nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.",
      "# TYPE vain_process_nodejs_heap_size_used_bytes gauge",
      "vain_process_nodejs_heap_size_used_bytes 134217728",
      "vain_process_nodejs_heap_size_total_bytes 157286400",
      'vain_process_nodejs_heap_space_size_used_bytes{space="old"} 999',
      "vain_process_nodejs_external_memory_bytes 6.8157440e+7",
    ].join("\n");
    assert.deepEqual(memoryFromMetrics(metrics), { heapMB: 128, heapTotalMB: 150, externalMB: 65 });
    assert.deepEqual(memoryFromMetrics(""), {}); // a frozen node did not answer
    const minute = 60_000;
    // RSS grows 1 MB a minute, all of it native; the heap is flat; one sample has no metrics.
    const samples: RssSample[] = Array.from({ length: 40 }, (_, i) => ({
      at: i * minute,
      mb: 500 + i,
      life: 1,
      ...(i === 7 ? {} : { heapMB: 120 + (i % 2) * 30, heapTotalMB: 150, externalMB: 60 }),
    }));
    const rss = new Map([[0, samples]]);
    assert.equal(memoryPart(rss, "heap").get(0)!.length, 39);
    assert.ok(rssGrowth(memoryPart(rss, "heap")).growthMBPerHour < 1);
    assert.ok(rssGrowth(memoryPart(rss, "external")).growthMBPerHour < 1);
    assert.ok(Math.abs(rssGrowth(memoryPart(rss, "native")).growthMBPerHour - 60) < 1);
    assert.equal(memoryPart(rss, "native").get(0)![0]!.mb, 500 - 150 - 60);
  });

  it("memory floors per slice start where asked: a one-time step shows as a level, not a slope", () => {
    const minute = 60_000;
    // 20 minutes at ~600 MB swinging by 100, a step to ~850 MB at minute 20 (first aggregation), flat after.
    const samples = Array.from({ length: 40 }, (_, i) => ({
      at: i * minute,
      mb: (i < 20 ? 600 : 850) + (i % 2) * 100 + 0.4,
    }));
    assert.deepEqual(minimaPer(samples, 0, 5 * minute), [600, 600, 600, 600, 850, 850, 850, 850]);
    assert.deepEqual(minimaPer(samples, 20 * minute, 5 * minute), [850, 850, 850, 850]);
    // Slices without samples are left out, not read as 0.
    assert.deepEqual(
      minimaPer(
        [
          { at: 0, mb: 1 },
          { at: 11 * minute, mb: 2 },
        ],
        0,
        5 * minute,
      ),
      [1, 2],
    );
  });

  it("the fault cycle kills the aggregator in every phase and is replayable from its seed", () => {
    const plans = faultCycle(seededRandom(1), true);
    assert.deepEqual(
      plans.filter((p) => p.kind === "kill-aggregator").map((p) => p.phase),
      ["open", "aggregating", "challenging"],
    );
    assert.deepEqual(
      new Set(plans.map((p) => p.kind)),
      new Set([
        "kill-30pct",
        "kill-aggregator",
        "rpc-outage",
        "wipe-restart",
        "wipe-aggregator",
        "freeze-aggregator",
        "disk-full",
      ]),
    );
    assert.deepEqual(faultCycle(seededRandom(9), false), faultCycle(seededRandom(9), false));
    assert.ok(!faultCycle(seededRandom(1), false).some((p) => p.kind === "disk-full"));
  });

  /** A closed round `id` spanning [seenAt, seenAt + 50 s], committed by `committers`. */
  const round = (id: number, committers: string[], draws: RoundTrack["draws"] = []): RoundTrack => ({
    id: BigInt(id),
    phase: committers.length > 0 ? "finalized" : "failed",
    seenAt: id * 50_000,
    closedAt: id * 50_000 + 50_000,
    draws,
    trainers: committers.length,
    committers,
    weights: [],
    maxOverdueS: 0,
    stuck: false,
    phaseAt: {},
  });
  const roundMs = 50_000;

  it("an RPC outage that ended before a duty was drawn does not excuse its slash; a kill does, with a grace", () => {
    // Session 16: the outage ran 2,229-2,259 s, node 0 was drawn at 2,325 s and slashed; the soak excused it.
    const outage: FaultWindow[] = [{ kind: "rpc-outage", from: 2_229_000, to: 2_259_000 }];
    const rounds = [round(43, ["0xa"], [{ aggregator: "0xa", at: 2_325_000 }])];
    const drawn = dutyDrawnAt(rounds, "0xA", 2_357_000);
    assert.equal(drawn, 2_325_000);
    assert.equal(faultedDuring(outage, drawn!, 2_357_000, roundMs), false);
    // Drawn during the outage: excused.
    assert.equal(faultedDuring(outage, 2_250_000, 2_300_000, roundMs), true);
    // A kill that ended 40 s before the draw (restart, model sync) excuses it; one two rounds before does not.
    const kill: FaultWindow[] = [{ kind: "kill-aggregator", from: 2_270_000, to: 2_285_000 }];
    assert.equal(faultedDuring(kill, 2_325_000, 2_357_000, roundMs), true);
    assert.equal(faultedDuring(kill, 2_285_000 + 2 * roundMs, 2_400_000, roundMs), false);
    // A backup taking over is a later draw of another operator; a draw after the slash is not its duty.
    const takeover = [
      round(
        50,
        ["0xa", "0xb"],
        [
          { aggregator: "0xa", at: 100 },
          { aggregator: "0xb", at: 200 },
        ],
      ),
    ];
    assert.equal(dutyDrawnAt(takeover, "0xb", 150), undefined);
    assert.equal(dutyDrawnAt(takeover, "0xa", 300), 100);
  });

  it("a node that stops committing with no fault on it shows as idle, the rounds nobody committed included", () => {
    const operators = new Map([
      [0, "0xA"],
      [1, "0xb"],
    ]);
    // Node 0 commits in rounds 1-2, then never; node 1 commits to 1-4, then nobody commits (the network died).
    const judged = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) =>
      round(id, [...(id <= 2 ? ["0xa"] : []), ...(id <= 4 ? ["0xb"] : [])]),
    );
    const none = idleStreaks(judged, operators, () => false);
    assert.deepEqual(
      none.map((i) => [i.node, i.rounds, i.from, i.to, i.committed]),
      [
        [0, 8, 3n, 10n, 2],
        [1, 6, 5n, 10n, 4],
      ],
    );
    assert.ok(none.every((i) => i.rounds >= IDLE_STREAK_ROUNDS));
    // A fault on node 0 in round 6's span breaks its run: 3-5 and 7-10.
    const faults: FaultWindow[] = [{ kind: "disk-full", from: 6 * 50_000 + 10_000, to: 6 * 50_000 + 20_000 }];
    const split = idleStreaks(judged, operators, (node, start, end) =>
      node === 0 ? faultedDuring(faults, start, end, roundMs) : false,
    );
    assert.deepEqual([split[0]!.rounds, split[0]!.from, split[0]!.to], [4, 7n, 10n]);
    assert.deepEqual(activity(judged), {
      minTrainers: 0,
      medianTrainers: 0,
      minTrainersLast10: 0,
      medianTrainersLast10: 0,
      roundsUnder2Trainers: 8,
    });
    assert.equal(activity(judged.slice(0, 3)).medianTrainers, 2);
  });

  it("each goal is a pass or a fail, and RSS unmeasured is neither", () => {
    const base = {
      finalizedFraction: 0.99,
      stuckRounds: 0,
      nodeCrashes: 0,
      slashesWithoutFault: 0,
      rssGrowthMBPerHour: 11.6,
      rssMeasured: true,
      nodesIdleWithoutFault: 0,
    };
    assert.ok(goals(base).every((g) => g.pass === true));
    const dead = goals({ ...base, finalizedFraction: 0.76, nodesIdleWithoutFault: 4, rssMeasured: false });
    assert.deepEqual(
      dead.map((g) => g.pass),
      [false, true, true, true, undefined, false],
    );
  });

  it("disk growth is measured over a data directory's longest series without a wipe, per round closed in it", () => {
    const sample = (at: number, wipes: number, rounds: number, models: number): DiskSample => ({
      at,
      wipes,
      entries: { rounds, models, "config.json": 100 },
    });
    const samples = [
      sample(0, 0, 0, 1 << 20),
      sample(60_000, 0, 512 << 10, 1 << 20),
      sample(70_000, 1, 0, 0), // wiped: a new, shorter series, not mixed with the first
    ];
    const g = diskGrowth(3, samples, [10_000, 30_000, 50_000, 65_000])!;
    assert.equal(g.rounds, 3);
    assert.equal(g.topEntry, "rounds");
    assert.ok(Math.abs(g.kibPerRound - 512 / 3) < 1e-9, String(g.kibPerRound));
    assert.ok(Math.abs(g.firstMB - (1 + 100 / 2 ** 20)) < 1e-9);
  });
});
