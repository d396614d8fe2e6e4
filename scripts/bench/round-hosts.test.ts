/**
 * bench:round's several-process rows (round-hosts.ts, round-host.ts): a proven two-level round over nodes in two
 * host processes finalizes proven at both levels, driven from this process; no host outlives the run; and a host
 * whose driver is gone (its channel closed: the driver stopped, was killed or its test cancelled) exits by itself.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { hostShares, RoundHost } from "./round-hosts.ts";
import { measureRoundScaleProven } from "./round-scale-proven.ts";

/** PIDs of this process's children running round-host.ts (Linux /proc). */
function hostChildren(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("round-host.ts")) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Resolves once `host`'s process has exited, or rejects after `ms`. */
function exitOf(host: RoundHost, ms: number): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host still running after ${ms} ms`)), ms);
    host.child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("bench:round --scale-proven --hosts", () => {
  it("splits the nodes into contiguous shares of near-equal size", () => {
    assert.deepEqual(hostShares(5, 2), [
      [0, 1],
      [2, 3, 4],
    ]);
    assert.deepEqual(
      hostShares(1000, 4).map((s) => s.length),
      [250, 250, 250, 250],
    );
    assert.deepEqual(
      hostShares(1000, 3).flat(),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  });

  it("a host exits once its driver's channel closes", async () => {
    const host = new RoundHost();
    await host.ready;
    host.child.disconnect();
    await exitOf(host, 30_000);
  });

  it("8 nodes in 2 hosts: the round finalizes proven at both levels, and no host outlives the run", async () => {
    const { row } = await measureRoundScaleProven(8, 2, 2);
    assert.equal(row["rounds (leaf / middle / root)"], "2 / 1");
    assert.equal(row["proven finalized"], "2 / 1");
    assert.equal(row["root state"], "finalized proven");
    assert.equal(row["accepted %"], 100);
    assert.deepEqual(hostChildren(), []);
  });
});
