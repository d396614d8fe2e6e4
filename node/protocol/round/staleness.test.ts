import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Hex } from "viem";

import { taskSpecSchema } from "../task-spec.ts";
import { bufferedCommitDecision } from "./buffered-trainer.ts";
import type { RoundView } from "./context.ts";
import { modelRefOf } from "./next-model.ts";
import { discountStaleWeights, discountedWeight, modelStepsBetween } from "./staleness.ts";

const initial: Hex = `0x${"ab".repeat(32)}`;
const aggregate = (k: number): Hex => `0x${k.toString(16).padStart(64, "0")}`;

/** A chain of three posted rounds (ids 5, 6, 7) from the initial model: their refs, and a reader of them. */
function chain(): { refs: Hex[]; readRound: (id: bigint) => Promise<RoundView> } {
  const rounds = new Map<bigint, RoundView>();
  const refs: Hex[] = [initial];
  for (const id of [5n, 6n, 7n]) {
    const base = refs.at(-1)!;
    const ref = modelRefOf(base, aggregate(Number(id)), id);
    rounds.set(id, { posted: true, baseModelRef: base, modelRef: ref } as unknown as RoundView);
    refs.push(ref);
  }
  return {
    refs,
    readRound: async (id) => {
      const round = rounds.get(id);
      if (round === undefined) throw new Error(`no round ${id}`);
      return round;
    },
  };
}

describe("FedBuff staleness on chain", () => {
  it("counts model steps back through the posted rounds", async () => {
    const { refs, readRound } = chain();
    assert.equal(await modelStepsBetween(readRound, refs[3]!, refs[3]!, 8), 0);
    assert.equal(await modelStepsBetween(readRound, refs[3]!, refs[1]!, 8), 2);
    assert.equal(await modelStepsBetween(readRound, refs[3]!, initial, 8), 3);
    assert.equal(await modelStepsBetween(readRound, refs[3]!, initial, 2), undefined, "older than allowed");
    assert.equal(await modelStepsBetween(readRound, refs[1]!, refs[3]!, 8), undefined, "a newer model");
    const unknown: Hex = `0x${"cd".repeat(32)}`;
    assert.equal(await modelStepsBetween(readRound, refs[3]!, unknown, 8), undefined, "not on the chain");
  });

  it("discounts by (1 + τ)^-a, keeps an accepted update at least 1, drops unknown bases", () => {
    assert.equal(discountedWeight(100, 0, 0.5), 100);
    assert.equal(discountedWeight(100, 3, 0.5), 50);
    assert.equal(discountedWeight(100, 2, 0.5), 57);
    assert.equal(discountedWeight(1, 8, 0.5), 1);
    assert.equal(discountedWeight(0, 0, 0.5), 0, "a rejected update stays rejected");
    assert.equal(discountedWeight(100, undefined, 0.5), 0);
  });

  it("applies only to buffered tasks; a trainer naming no base trained from the round's", async () => {
    const { refs, readRound } = chain();
    const ctx = (spec: unknown) => ({ options: { spec: taskSpecSchema.parse(spec) }, chain: { readRound } });
    const sync = ctx({ model: { kind: "mlp" } });
    const fedbuff = ctx({ model: { kind: "mlp" }, rounds: { mode: "fedbuff" } });
    const round = { baseModelRef: refs[3]! };
    const updates = [{}, { base: refs[2]! }, { base: initial }, { base: refs[3]! }];
    const weights = [100, 100, 100, 0];
    assert.deepEqual((await discountStaleWeights(sync, round, updates, weights)).weights, weights);
    const out = await discountStaleWeights(fedbuff, round, updates, weights);
    assert.deepEqual(out.weights, [100, 70, 50, 0]);
    assert.deepEqual(out.staleness, [0, 1, 3, undefined]);
  });

  it("a buffered trainer commits only into an open round with room that it is not in yet", () => {
    const me = "0x00000000000000000000000000000000000000aa";
    const other = "0x00000000000000000000000000000000000000bb";
    const round = (trainers: string[]) => ({ trainers: trainers as Hex[], commitDeadline: 100n });
    assert.equal(bufferedCommitDecision(true, round([other]), me, 50n, 3), "commit");
    assert.equal(bufferedCommitDecision(false, round([]), me, 50n, 3), "nothing-ready");
    assert.equal(bufferedCommitDecision(true, round([me]), me, 50n, 3), "already-in");
    assert.equal(bufferedCommitDecision(true, round([other, other, other]), me, 50n, 3), "round-full");
    assert.equal(bufferedCommitDecision(true, round([]), me, 101n, 3), "window-closed");
  });

  it("the spec refuses a buffer larger than a flat aggregation's fan-in", () => {
    const parsed = taskSpecSchema.safeParse({
      model: { kind: "mlp" },
      rounds: { mode: "fedbuff", bufferSize: 8 },
      aggregation: { maxFanIn: 4 },
    });
    assert.equal(parsed.success, false);
    assert.match(parsed.error!.message, /exceeds aggregation.maxFanIn/);
  });
});
