/**
 * When a group leader commits its partial (partial-commit.ts): every reason to wait and to give up, from the
 * chain's values. The leader on a real chain, with real proofs at both levels: test/zk/partial-round.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address, Hex } from "viem";

import { RoundState } from "../../chain/contracts.ts";
import { nextPartialStep } from "./partial-commit.ts";
import type { PartialInputs } from "./partial-commit.ts";

const ME = "0x00000000000000000000000000000000000000aa" as Address;
const OTHER = "0x00000000000000000000000000000000000000bb" as Address;
const BASE = ("0x" + "11".repeat(32)) as Hex;
const NEXT = ("0x" + "22".repeat(32)) as Hex;
/** The group round's aggregate commitment (what its partial commits), and another commitment. */
const AGG = ("0x" + "33".repeat(32)) as Hex;
const ELSE = ("0x" + "44".repeat(32)) as Hex;

const inputs = (patch: Partial<PartialInputs> = {}): PartialInputs => ({
  me: ME,
  groupRound: { state: RoundState.Finalized, aggregator: ME, baseModelRef: BASE, aggregateCommitment: AGG },
  parentTask: { modelRef: BASE, activeRound: 9n },
  parentRound: {
    state: RoundState.Open,
    baseModelRef: BASE,
    commitDeadline: 100n,
    trainers: [OTHER],
    commitments: [ELSE],
  },
  now: 50n,
  ...patch,
});

describe("nextPartialStep", () => {
  it("commits a finalized group round it aggregated into the parent's open round", () => {
    assert.deepEqual(nextPartialStep(inputs()), { kind: "commit", parentRoundId: 9n });
    // Addresses compare case-insensitively (the chain returns checksummed ones).
    const upper = ("0x" + ME.slice(2).toUpperCase()) as Address;
    assert.equal(
      nextPartialStep(
        inputs({
          groupRound: {
            state: RoundState.Finalized,
            aggregator: upper,
            baseModelRef: BASE,
            aggregateCommitment: AGG,
          },
        }),
      ).kind,
      "commit",
    );
  });

  it("waits for the group round to close, for a parent round, and for the next parent round", () => {
    for (const state of [RoundState.Open, RoundState.Aggregating, RoundState.Challenging])
      assert.equal(
        nextPartialStep(
          inputs({ groupRound: { state, aggregator: ME, baseModelRef: BASE, aggregateCommitment: AGG } }),
        ).kind,
        "wait",
      );
    assert.equal(
      nextPartialStep(inputs({ parentTask: { modelRef: BASE, activeRound: 0n }, parentRound: undefined }))
        .kind,
      "wait",
    );
    // Past the parent's commit deadline, or its round aggregating: a failed parent round keeps the base.
    assert.equal(nextPartialStep(inputs({ now: 101n })).kind, "wait");
    assert.equal(
      nextPartialStep(
        inputs({
          parentRound: {
            state: RoundState.Aggregating,
            baseModelRef: BASE,
            commitDeadline: 100n,
            trainers: [OTHER],
            commitments: [ELSE],
          },
        }),
      ).kind,
      "wait",
    );
  });

  it("gives up when it did not lead, the group failed, the parent moved on, or it is in the parent's round", () => {
    const done = (patch: Partial<PartialInputs>) => nextPartialStep(inputs(patch)).kind;
    assert.equal(
      done({
        groupRound: {
          state: RoundState.Finalized,
          aggregator: OTHER,
          baseModelRef: BASE,
          aggregateCommitment: AGG,
        },
      }),
      "done",
    );
    assert.equal(
      done({
        groupRound: {
          state: RoundState.Failed,
          aggregator: ME,
          baseModelRef: BASE,
          aggregateCommitment: AGG,
        },
      }),
      "done",
    );
    assert.equal(done({ parentTask: { modelRef: NEXT, activeRound: 9n } }), "done");
    assert.equal(
      done({
        parentRound: {
          state: RoundState.Open,
          baseModelRef: BASE,
          commitDeadline: 100n,
          trainers: [OTHER, ME],
          commitments: [ELSE, ELSE],
        },
      }),
      "done",
    );
  });

  it("hands off again a partial it committed before a restart lost the hand-off (this very commitment)", () => {
    const parentRound = {
      state: RoundState.Open,
      baseModelRef: BASE,
      commitDeadline: 100n,
      trainers: [OTHER, ME],
      commitments: [ELSE, AGG],
    };
    assert.deepEqual(nextPartialStep(inputs({ parentRound })), { kind: "hand-off", parentRoundId: 9n });
    // Aggregating or past its deadline: the parent's aggregator still needs the bytes.
    assert.equal(
      nextPartialStep(inputs({ parentRound: { ...parentRound, state: RoundState.Aggregating }, now: 200n }))
        .kind,
      "hand-off",
    );
  });
});
