import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { DEFAULT_ANSWER_WINDOW_S } from "../../chain/constants.ts";
import { ANSWER_TX_MARGIN_MS, DEFAULT_PROVING_ESTIMATE_MS } from "./context.ts";
import {
  AnswerWindowTooShortError,
  PROVING_HEADROOM,
  ProvingBudget,
  RECENT_PROOFS_WINDOW_MS,
} from "./proving-budget.ts";

/** What an answer must be given after a slowest recent proof of `ms`. */
const needs = (ms: number): number => ms * PROVING_HEADROOM + ANSWER_TX_MARGIN_MS;

describe("proving budget (a proven task's answer window against this node's proving time)", () => {
  it("refuses a proven task whose answer window has no headroom over a proof plus its transaction", () => {
    const budget = new ProvingBudget();
    // The soak's honest slash: the 20.5 s estimate plus the margin "fit" a 30 s window, and the next proof, at
    // load 28, took 30 s. With headroom the node refuses that window (issue #18).
    assert.throws(
      () => budget.check({ proven: true, answerWindowS: 30n }),
      (error: unknown) =>
        error instanceof AnswerWindowTooShortError &&
        error.code === "ANSWER_WINDOW_TOO_SHORT" &&
        error.answerWindowMs === 30_000 &&
        error.neededMs === needs(DEFAULT_PROVING_ESTIMATE_MS),
    );
    assert.ok(
      needs(DEFAULT_PROVING_ESTIMATE_MS) >= 30_000 + ANSWER_TX_MARGIN_MS,
      "the slow proof would have fit",
    );
    // The default 60 s window holds the estimate with headroom and its transaction margin.
    budget.check({ proven: true, answerWindowS: DEFAULT_ANSWER_WINDOW_S });
  });

  it("never refuses an unproven task: nothing is ever proven there", () => {
    new ProvingBudget().check({ proven: false, answerWindowS: 5n });
  });

  it("counts the slowest proof this node actually made, and an operator's own estimate", () => {
    const budget = new ProvingBudget();
    assert.equal(budget.record(10_000), true, "nothing checked yet: nothing to miss");
    budget.check({ proven: true, answerWindowS: 30n });
    assert.equal(budget.record(20_000), false, "a 20 s proof leaves no headroom in the checked 30 s window");
    assert.equal(budget.neededMs(), needs(20_000));
    assert.throws(() => budget.check({ proven: true, answerWindowS: 30n }), AnswerWindowTooShortError);
    budget.record(1_000); // a fast proof does not hide the slow one
    assert.equal(budget.neededMs(), needs(20_000));
    const fast = new ProvingBudget(2_000);
    fast.check({ proven: true, answerWindowS: 10n });
    assert.throws(() => new ProvingBudget(Number.NaN), RangeError);
  });

  it("tracks contention: a slow proof counts for RECENT_PROOFS_WINDOW_MS, then the node fits again", () => {
    let now = 1_000_000;
    const budget = new ProvingBudget(DEFAULT_PROVING_ESTIMATE_MS, () => now);
    budget.check({ proven: true, answerWindowS: 60n });
    assert.equal(budget.record(4_000), true, "a quiet 4 s proof fits a 60 s window");
    now += 60_000;
    assert.equal(budget.record(51_000), false, "the soak's 51 s proof under contention does not");
    assert.equal(budget.fits(), false);
    now += 60_000;
    assert.equal(budget.record(5_000), false, "one fast proof does not hide a recent slow one");
    now += 60_000;
    assert.equal(budget.record(4_500), false, "two fast proofs do not either");
    now += 60_000;
    assert.equal(budget.record(4_000), true, "three fast proofs in a row outweigh it");
    assert.equal(budget.neededMs(), needs(5_000));
    assert.equal(budget.record(51_000), false);
    now += RECENT_PROOFS_WINDOW_MS - 30_000;
    budget.record(5_000);
    now += 60_000;
    assert.equal(budget.fits(), true, "the slow proof aged out; the fast one counts");
    assert.equal(budget.neededMs(), needs(5_000));
    now += RECENT_PROOFS_WINDOW_MS;
    assert.equal(budget.neededMs(), needs(5_000), "no recent proof: the last one measured");
    assert.equal(new ProvingBudget().fits(), true, "nothing checked yet: nothing to miss");
  });
});
