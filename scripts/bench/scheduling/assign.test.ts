/** Work assignment and the straggler simulation behind bench:scheduling (not used by the node). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { SchedulingError } from "../../../node/scheduling/errors.ts";
import { assignWork, closeRound, deadlineFor, proportionalSplit, rebalance } from "./assign.ts";
import type { Progress } from "./assign.ts";
import { makeScenario, simulateNaive, simulateWeighted } from "./simulate.ts";

const code = (c: string) => (e: unknown) => e instanceof SchedulingError && e.code === c;

describe("work assignment", () => {
  const nodes = [
    { peerId: "fast", samplesPerSec: 4000, reputation: 1 },
    { peerId: "mid", samplesPerSec: 2000, reputation: 1 },
    { peerId: "slow", samplesPerSec: 1000, reputation: 1 },
    { peerId: "untrusted", samplesPerSec: 9000, reputation: 0.1 },
    { peerId: "unmeasured", samplesPerSec: 0, reputation: 1 },
  ];

  it("splits in proportion to speed × reputation and equalises expected time", () => {
    const a = assignWork(nodes, 700, { batchSize: 10, startMs: 0, maxShare: 1, overheadMs: 0, slack: 1 });
    assert.deepEqual(
      a.shares.map((s) => [s.peerId, s.steps]),
      [
        ["fast", 400],
        ["mid", 200],
        ["slow", 100],
      ],
    );
    assert.deepEqual(
      a.excluded.map((e) => e.peerId),
      ["untrusted", "unmeasured"],
    );
    for (const s of a.shares) assert.equal(s.deadlineMs, 1000); // 400 steps at 400 steps/s, etc.
    assert.equal(a.assignedSteps, 700);
    assert.equal(deadlineFor(100, 50, { slack: 2, overheadMs: 500 }), 1500);
    assert.throws(() => deadlineFor(0, 1), code("SCHEDULING_INVALID_INPUT"));
  });

  it("caps any single share and respects a hard deadline", () => {
    const capped = assignWork(nodes, 700, {
      batchSize: 10,
      startMs: 0,
      maxShare: 0.4,
      overheadMs: 0,
      slack: 1,
    });
    assert.ok(capped.shares.every((s) => s.steps <= 280));
    assert.equal(capped.assignedSteps, 700);
    const tight = assignWork(nodes, 700, {
      batchSize: 10,
      startMs: 0,
      deadlineMs: 500,
      overheadMs: 0,
      slack: 1,
      maxShare: 1,
    });
    assert.equal(tight.assignedSteps, 350);
    assert.equal(tight.unassignedSteps, 350);
    assert.ok(tight.shares.every((s) => s.deadlineMs <= 500));
  });

  it("proportionalSplit rounds to the exact total within caps", () => {
    const out = proportionalSplit(10, [1, 1, 1], [10, 10, 10]);
    assert.equal(
      out.reduce((s, v) => s + v, 0),
      10,
    );
    assert.ok(Math.max(...out) - Math.min(...out) <= 1);
    assert.deepEqual(proportionalSplit(10, [5, 1], [2, 100]), [2, 8]);
  });

  it("rebalance moves a leaver's whole share and a straggler's excess to nodes with spare time", () => {
    const a = assignWork(
      [
        { peerId: "a", samplesPerSec: 1000, reputation: 1 },
        { peerId: "b", samplesPerSec: 1000, reputation: 1 },
        { peerId: "c", samplesPerSec: 1000, reputation: 1 },
        { peerId: "d", samplesPerSec: 1000, reputation: 1 },
      ],
      400,
      { batchSize: 10, startMs: 0, overheadMs: 0, slack: 2, maxShare: 1 },
    );
    // each: 100 steps at 100 steps/s, deadline 2000 ms; check at 500 ms
    const progress = new Map<string, Progress>([
      ["a", { stepsDone: 50, atMs: 500 }],
      ["b", { stepsDone: 50, atMs: 500 }],
      ["c", { stepsDone: 10, atMs: 500 }], // straggler: 20 steps/s, 30 more by the deadline
      ["d", { stepsDone: 30, atMs: 500, left: true }],
    ]);
    const r = rebalance(a, progress, 500);
    const steps = Object.fromEntries(r.assignment.shares.map((s) => [s.peerId, s.steps]));
    assert.deepEqual(r.dropped, ["d"]);
    assert.equal(steps["c"], 10 + 30);
    assert.ok(steps["a"]! > 100 && steps["b"]! > 100);
    assert.equal(r.abandonedSteps + r.assignment.assignedSteps, 400);
    assert.equal(
      r.moves.reduce((s, m) => s + m.steps, 0),
      steps["a"]! + steps["b"]! - 200,
    );
    assert.ok(r.moves.every((m) => m.to === "a" || m.to === "b"));
  });

  it("closeRound completes, waits, proceeds with a quorum past the deadline, or fails", () => {
    const a = assignWork(
      [
        { peerId: "a", samplesPerSec: 1000, reputation: 1 },
        { peerId: "b", samplesPerSec: 1000, reputation: 1 },
      ],
      100,
      { batchSize: 10, startMs: 0, overheadMs: 0, slack: 1, maxShare: 1 },
    );
    assert.equal(
      closeRound(
        a,
        new Map([
          ["a", 50],
          ["b", 50],
        ]),
        10,
      ).kind,
      "complete",
    );
    assert.equal(closeRound(a, new Map([["a", 50]]), 100).kind, "wait");
    const late = closeRound(a, new Map([["a", 50]]), a.deadlineMs, 0.5);
    assert.deepEqual(late, { kind: "proceed", receivedFraction: 0.5, stragglers: ["b"] });
    assert.equal(closeRound(a, new Map([["a", 50]]), a.deadlineMs, 0.6).kind, "fail");
    assert.throws(() => closeRound(a, new Map(), 0, 0), code("SCHEDULING_INVALID_INPUT"));
  });
});

describe("round simulation", () => {
  it("weighted assignment with deadline dropping beats equal shares + wait-for-all", () => {
    const nodes = makeScenario({
      nodes: 20,
      seed: 7,
      medianSamplesPerSec: 2000,
      speedSpread: 0.8,
      attestationNoise: 0.1,
      stragglerFraction: 0.15,
      stragglerFactor: 5,
      leaverFraction: 0.1,
      expectedRoundMs: 30_000,
    });
    const totalSteps = Math.round((nodes.reduce((s, n) => s + n.samplesPerSec, 0) / 32) * 30);
    const o = { totalSteps, batchSize: 32, downloadMs: 1000, uploadMs: 1000, timeoutMs: 300_000 };
    const naive = simulateNaive(nodes, o);
    const weighted = simulateWeighted(nodes, o);
    assert.ok(weighted.roundMs < naive.roundMs / 2, `${weighted.roundMs} vs ${naive.roundMs}`);
    assert.ok(weighted.completedFraction >= 0.6 && !weighted.failed);
  });
});
