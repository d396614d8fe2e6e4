/**
 * A group leader's delivery (partial-update.ts): the wire bytes of its group's aggregate decode, through the
 * same path the parent's aggregator checks every update with (`commitUpdateBytes`), to exactly the aggregate's
 * fixed-point codes and their commitment, over the whole code range and for a real weighted mean. On a real
 * chain, against the commitment the parent round recorded: test/zk/partial-round.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../../core/rng.ts";
import { aggregateFixedPoint, commitEncoded, encodeFixedPoint } from "../../proofs/index.ts";
import { VALUE_OFFSET } from "../../proofs/constants.ts";
import { commitUpdateBytes } from "../update.ts";
import { partialUpdateBytes } from "./partial-update.ts";
import { mapFloat32 } from "../../core/vectors.ts";

describe("partialUpdateBytes", () => {
  it("round-trips every code, the range's ends included, to the same commitment", async () => {
    const rng = new Rng(7);
    const codes = Uint16Array.from({ length: 1_000 }, () => Math.floor(rng.next() * 65_536));
    codes.set([0, 65_535, VALUE_OFFSET, VALUE_OFFSET - 1, VALUE_OFFSET + 1], 0);
    const checked = await commitUpdateBytes(partialUpdateBytes(codes), codes.length);
    assert.deepEqual(checked.encoded, codes);
    assert.equal(checked.commitment.root, (await commitEncoded(codes)).root);
  });

  it("round-trips a weighted mean of updates, and an all-zero aggregate", async () => {
    const rng = new Rng(11);
    const updates = [0, 1, 2].map(() =>
      encodeFixedPoint(mapFloat32({ length: 300 }, () => (rng.next() < 0.7 ? 0 : rng.normal() * 0.05))),
    );
    const { aggregate } = aggregateFixedPoint(updates, [100, 101, 102]);
    const checked = await commitUpdateBytes(partialUpdateBytes(aggregate), aggregate.length);
    assert.deepEqual(checked.encoded, aggregate);
    assert.equal(checked.commitment.root, (await commitEncoded(aggregate)).root);
    const zero = new Uint16Array(300).fill(VALUE_OFFSET);
    assert.deepEqual((await commitUpdateBytes(partialUpdateBytes(zero), 300)).encoded, zero);
  });
});
