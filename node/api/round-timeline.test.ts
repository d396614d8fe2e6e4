/** Unit tests of the round timeline built from the contracts' events (what the dashboard's timeline shows). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { FAILURE_TEXT, RoundTimeline } from "./round-timeline.ts";

const ME = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

describe("round timeline", () => {
  it("follows a finalized round: times, aggregator, the operator's reward", () => {
    const timeline = new RoundTimeline(ME);
    timeline.opened(1n, 7n, 1_000);
    timeline.committed(1n, ME.toLowerCase() as `0x${string}`);
    timeline.selected(1n, OTHER);
    timeline.posted(1n);
    timeline.rewarded(1n, ME, 900n);
    timeline.rewarded(1n, OTHER, 100n);
    timeline.closed(1n, true, 31_000);
    const [entry] = timeline.takeChanged();
    assert.deepEqual(entry, {
      roundId: "1",
      taskId: "7",
      phase: "finalized",
      openedAt: 1_000,
      closedAt: 31_000,
      aggregator: OTHER,
      ownAggregator: false,
      reward: "900",
      trained: true,
    });
    assert.deepEqual(timeline.takeChanged(), [], "nothing changed since");
  });

  it("marks a failed round with the first reason and the operator's own aggregator duty", () => {
    const timeline = new RoundTimeline(ME);
    timeline.opened(2n, 1n, 5_000);
    timeline.selected(2n, ME);
    timeline.failing(2n, FAILURE_TEXT.aggregationMissed);
    timeline.failing(2n, FAILURE_TEXT.challengeFailed);
    timeline.closed(2n, false, 9_000);
    // A late event of an earlier phase does not reopen the round.
    timeline.posted(2n);
    const [entry] = timeline.takeChanged();
    assert.equal(entry?.phase, "failed");
    assert.equal(entry?.failure, FAILURE_TEXT.aggregationMissed);
    assert.equal(entry?.ownAggregator, true);
    assert.equal(entry?.trained, false);
    assert.equal(entry?.reward, "0");
  });

  it("shows the backup as the aggregator once it took over a missed aggregation, and no failure", () => {
    const timeline = new RoundTimeline(ME);
    timeline.opened(3n, 1n, 5_000);
    timeline.selected(3n, OTHER);
    timeline.failing(3n, FAILURE_TEXT.aggregationMissed);
    timeline.replaced(3n, ME);
    timeline.posted(3n);
    timeline.closed(3n, true, 9_000);
    const [entry] = timeline.takeChanged();
    assert.equal(entry?.phase, "finalized");
    assert.equal(entry?.failure, undefined);
    assert.equal(entry?.aggregator, ME);
    assert.equal(entry?.ownAggregator, true);
  });

  it("returns changed rounds oldest first", () => {
    const timeline = new RoundTimeline(ME);
    timeline.opened(10n, 1n, 3);
    timeline.opened(9n, 1n, 2);
    timeline.opened(11n, 1n, 4);
    assert.deepEqual(
      timeline.takeChanged().map((e) => e.roundId),
      ["9", "10", "11"],
    );
  });
});
