import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ChainClock } from "./chain-clock.ts";

describe("ChainClock", () => {
  it("knows nothing before a read", () => {
    assert.equal(new ChainClock().now(1_000), undefined);
  });

  it("ages a head from when its read was asked, not from when a decision looks at it", () => {
    const clock = new ChainClock();
    clock.observe(1_000n, 5_000); // the head (t = 1,000 s) asked for at wall 5 s
    // The tick decides 100 s later and passes the same timestamp: a later look is a smaller offset, ignored.
    clock.observe(1_000n, 105_000);
    assert.equal(clock.now(105_000), 1_100n);
  });

  it("is not set back by a stale read (an older block, a node acting behind the head)", () => {
    const clock = new ChainClock();
    clock.observe(2_000n, 10_000);
    clock.observe(1_976n, 12_000); // two 12 s blocks behind the head
    assert.equal(clock.now(20_000), 2_010n);
  });

  it("follows a chain whose clock was moved forward (a test chain's evm_increaseTime)", () => {
    const clock = new ChainClock();
    clock.observe(1_000n, 0);
    clock.observe(4_601n, 1_000); // an hour's jump
    assert.equal(clock.now(3_000), 4_603n);
  });
});
