/**
 * Held peers (held-peers.ts) are bounded by half the connection cap: the members of one round cannot take a
 * low-power node's slots (cap 16) for the round's length; a hold ends, is renewed, and frees its place.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { HeldPeers } from "./held-peers.ts";
import { LOW_POWER_PROFILE } from "./profiles.ts";

describe("held peers", () => {
  it("a round's 15 other members hold at most half of a low-power node's 16 slots", () => {
    const held = new HeldPeers(LOW_POWER_PROFILE.maxConnections);
    const now = 1_000;
    const accepted = Array.from({ length: 15 }, (_, i) => held.hold(`member-${i}`, now + 60_000, now));
    assert.equal(accepted.filter(Boolean).length, 8);
    assert.equal(held.count(now), 8);
    assert.ok(held.has("member-0", now) && !held.has("member-8", now));
    // A held member renews its hold at the bound; a new one is still refused.
    assert.equal(held.hold("member-0", now + 120_000, now), true);
    assert.equal(held.hold("member-9", now + 120_000, now), false);
  });

  it("an ended hold frees its place and is no longer held", () => {
    const held = new HeldPeers(4);
    assert.equal(held.hold("a", 2_000, 0), true);
    assert.equal(held.hold("b", 5_000, 0), true);
    assert.equal(held.hold("c", 5_000, 0), false);
    assert.equal(held.has("a", 3_000), false);
    assert.equal(held.hold("c", 5_000, 3_000), true);
    assert.deepEqual(
      ["a", "b", "c"].map((p) => held.has(p, 4_000)),
      [false, true, true],
    );
  });
});
