/** `vain-node status`'s latest-round line names the deadline of the round's state, or what it waits for. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { LatestRound } from "../../chain/operator-status.ts";
import { roundDeadline } from "./status.ts";

const round = (state: string): LatestRound => ({
  roundId: 2n,
  taskId: 1n,
  state,
  commitDeadline: 1_000n,
  aggregateDeadline: 1_030n,
  challengeDeadline: 1_035n,
  trainers: 3,
  aggregator: null,
  emissionWei: 0n,
});

describe("status: the latest round's deadline", () => {
  it("names the deadline of the round's state while it is ahead", () => {
    assert.match(roundDeadline(round("open"), 990n), /^, commit by 1970-01-01T00:16:40/);
    assert.match(roundDeadline(round("aggregating"), 1_010n), /^, aggregate by 1970-01-01T00:17:10/);
    assert.match(roundDeadline(round("challenging"), 1_031n), /^, challenges until 1970-01-01T00:17:15/);
  });

  it("says what a round waits for once its deadline passed, not a passed time", () => {
    assert.match(roundDeadline(round("open"), 1_001n), /selection next/);
    assert.match(roundDeadline(round("aggregating"), 1_031n), /missed aggregation/);
    assert.match(roundDeadline(round("challenging"), 1_036n), /then finalize/);
    assert.equal(roundDeadline(round("finalized"), 2_000n), "");
  });
});
