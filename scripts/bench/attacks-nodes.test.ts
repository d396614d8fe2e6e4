/**
 * A finding of `bench:attacks` (issue #18), kept as its test: on a chain that mines only on transactions, a
 * trainer holding half of a 2-trainer round's weight commits and withholds its update. The honest aggregator
 * stayed below quorum, judged its deadline by the stale head, never posted, and the withholder's own node
 * reported the miss: the honest operator lost half its stake and the attacker took the reporter share. Real
 * nodes (chain process, libp2p, training, zk): the honest aggregator posts weight 0 for the withholder in time,
 * keeps its stake, and the withholder earns nothing (its forgone trainer share makes its profit negative).
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
