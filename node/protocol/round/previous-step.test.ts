/**
 * The previous round's public model step that the aggregator hands the guarded mean's history test: this
 * round's base minus the model its producing round started from, and none for a task's initial model.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Hex } from "viem";

import type { RoundContext, RoundView } from "./context.ts";
import type { ModelSync } from "./model-sync.ts";
import { modelRefOf } from "./next-model.ts";
import { previousModelStep } from "./previous-step.ts";

// A content hash whose low 64 bits are zero: no round id (roundOfModelRef).
const INITIAL: Hex = `0x${"ab".repeat(24)}${"00".repeat(8)}`;
const COMMITMENT: Hex = `0x${"cd".repeat(32)}`;
const ROUND_ONE = modelRefOf(INITIAL, COMMITMENT, 1n);

/** A chain whose round 1 posted `ROUND_ONE` from `INITIAL`, and models held by ref. */
function sources(models: ReadonlyMap<string, Float32Array>, posted = true) {
  const chain = {
    readRound: async (id: bigint) =>
      ({
        posted,
        modelRef: id === 1n ? ROUND_ONE : COMMITMENT,
        baseModelRef: INITIAL,
      }) as unknown as RoundView,
  } as unknown as RoundContext["chain"];
  const modelSync: Pick<ModelSync, "ensureModel"> = { ensureModel: async (ref) => models.get(ref) };
  return { chain, modelSync };
}

describe("previousModelStep", () => {
  const initial = Float32Array.from([1, 2, 3]);
  const next = Float32Array.from([1.5, 1, 3]);
  const held = new Map([[INITIAL, initial]]);

  it("is the base minus the model the producing round started from", async () => {
    const { chain, modelSync } = sources(held);
    const step = await previousModelStep({ chain }, modelSync, ROUND_ONE, next);
    assert.deepEqual(Array.from(step!), [0.5, -1, 0]);
  });

  it("is absent for a task's initial model, a round that did not post the ref, or a parent not held", async () => {
    const { chain, modelSync } = sources(held);
    assert.equal(await previousModelStep({ chain }, modelSync, INITIAL, initial), undefined);
    const unposted = sources(held, false);
    assert.equal(
      await previousModelStep({ chain: unposted.chain }, unposted.modelSync, ROUND_ONE, next),
      undefined,
    );
    const missing = sources(new Map());
    assert.equal(
      await previousModelStep({ chain: missing.chain }, missing.modelSync, ROUND_ONE, next),
      undefined,
    );
    // Low bits naming round 1, but not the ref round 1 posted.
    const lookalike: Hex = `0x${"ef".repeat(24)}0000000000000001`;
    assert.equal(await previousModelStep({ chain }, modelSync, lookalike, next), undefined);
  });
});
