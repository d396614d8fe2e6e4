import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Refusals } from "./refusals.ts";

const OPERATOR = "0x00000000000000000000000000000000000000Aa";

describe("Refusals", () => {
  it("a stake refusal is lifted only by the operator's standing change after the block it was read at", () => {
    const refusals = new Refusals();
    refusals.refuse("peer-a", 60_000, { operator: OPERATOR, asOfBlock: 10n });
    refusals.refuse("peer-b", 60_000, {
      operator: "0x00000000000000000000000000000000000000bb",
      asOfBlock: 10n,
    });
    refusals.refuse("peer-c", 60_000);
    // The registry's events arrive a poll late: the operator's bind and first stake (blocks 9 and 10) are already
    // in the read that refused it and must not let the peer in to be checked again.
    refusals.liftStakeOf(OPERATOR, 9n);
    refusals.liftStakeOf(OPERATOR.toLowerCase(), 10n);
    assert.equal(refusals.has("peer-a"), true);
    // Its top-up in block 11 may change the verdict: checked again at once, not a minute later.
    refusals.liftStakeOf(OPERATOR.toLowerCase(), 11n);
    assert.equal(refusals.has("peer-a"), false);
    // Another operator's peer and a refusal for something other than stake stay.
    assert.equal(refusals.has("peer-b"), true);
    refusals.liftStakeOf("0x00000000000000000000000000000000000000cc", 99n);
    assert.equal(refusals.has("peer-c"), true);
  });

  it("a refusal for another reason replaces a stake refusal, and expires with its TTL", async () => {
    const refusals = new Refusals();
    refusals.refuse("peer", 60_000, { operator: OPERATOR, asOfBlock: 1n });
    refusals.refuse("peer", 20);
    refusals.liftStakeOf(OPERATOR, 2n);
    assert.equal(refusals.has("peer"), true, "no longer a stake refusal");
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(refusals.has("peer"), false);
  });
});
