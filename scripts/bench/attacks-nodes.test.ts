/**
 * The withholding attack (#18) on real nodes (chain process, libp2p, training, zk): a trainer holding half
 * of a 2-trainer round's weight commits and never delivers, which keeps the honest aggregator below its quorum
 * until the deadline margin. The aggregator must still post in time (weight 0 for the withholder) and answer its
 * sampled chunk, keep its stake, and the withholder earns nothing (its forgone trainer share makes its profit
 * negative).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { runNodeStrategies } from "./attacks-nodes.ts";

describe("a withholding trainer against an honest aggregator (real nodes)", { timeout: 600_000 }, () => {
  it("cannot get the honest aggregator slashed and earns nothing", async () => {
    const { rows, aborted } = await runNodeStrategies(0, 1);
    assert.equal(aborted, undefined);
    const [row] = rows;
    assert.ok(row !== undefined, "the withholding round ran");
    assert.equal(row.honestStakeLostVain, 0, `honest stake lost: ${row.honestStakeLostVain} VAIN`);
    assert.ok(row.attackerProfitVain < 0, `withholder profit ${row.attackerProfitVain} VAIN`);
  });
});
