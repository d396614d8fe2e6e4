/** The soak's own parts that need no chain: the cuttable RPC proxy, the RSS trend, the fault schedule. */
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";

import { faultCycle, seededRandom } from "./faults.ts";
import type { RssSample } from "./node-process.ts";
import { RpcProxy } from "./rpc-proxy.ts";
import { LONG_RSS_LIFE_MS, rssGrowth } from "./run.ts";

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
});
