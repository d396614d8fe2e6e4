/**
 * The attack bench's harness on three strategies (issue #18), on a real `hardhat node` with the real Groth16
 * verifier: an aggregator that misses its deadline and has its sybil report it, an operator that equivocates
 * in both roles and has its sybil report the cheaper fault first, and a flood of bonded challenges at an
 * honest aggregator that answers them with real proofs. Each must cost the attacker (profit < 0), cost no
 * honest operator any stake, and leave the model alone; an aggregator naming its own model with an honest
 * aggregate leaves the task on the derived model. `npm run bench:attacks` runs every strategy.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { equivocationSelfReport, selfReportMissedDeadline } from "./attacks-faults.ts";
import { bondFlood, wrongModelRef } from "./attacks-proofs.ts";
import { runChainStrategies } from "./attacks.ts";

describe("bench:attacks harness (chain process + zk)", { timeout: 300_000 }, () => {
  it("self-reports and a bond flood cost the attacker and no honest operator", async () => {
    const rows = await runChainStrategies([selfReportMissedDeadline, equivocationSelfReport, bondFlood], 1);
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.ok(Number.isFinite(row.attackerProfitVain), `${row.attack} ran: ${row.note}`);
      assert.ok(
        row.attackerProfitVain < 0,
        `${row.attack} costs the attacker: ${row.attackerProfitVain} VAIN`,
      );
      assert.equal(row.honestStakeLostVain, 0, `${row.attack}: no honest stake lost`);
      assert.equal(row.modelCorrupted, 0, `${row.attack}: model intact`);
    }
  });

  it("an aggregator naming its own model with an honest aggregate cannot change the model", async () => {
    // The chain derives the ref from the base and the proven aggregate (next-model.ts, RoundModelRef.t.sol).
    const [row] = await runChainStrategies([wrongModelRef], 1);
    assert.ok(row !== undefined && Number.isFinite(row.attackerProfitVain), `ran: ${row?.note}`);
    assert.equal(row.modelCorrupted, 0, `model derived from the proven aggregate: ${row.note}`);
    assert.ok(row.attackerProfitVain <= 0, `no gain: ${row.attackerProfitVain} VAIN`);
    assert.equal(row.honestStakeLostVain, 0);
  });
});
