/**
 * The guard's silent-coordinate evidence on sparse (top-k) updates: per coordinate, honest trainers' own
 * top-k picks look silent and a backdoor's trigger rows hide among them; grouped by input row
 * (coordinate-groups.ts), the rows the honest majority never touches stand out.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createLayout } from "../core/params.ts";
import { Rng } from "../core/rng.ts";
import { AggregationInputError } from "../core/updates.ts";
import { guardUpdates, inputGroups, singletonGroups } from "./index.ts";

/** A one-layer model: 40 inputs x 16 outputs, 16 biases. Inputs 36-39 are blank in every honest sample. */
const layout = createLayout([
  { name: "fc0.w", shape: [40, 16] },
  { name: "fc0.b", shape: [16] },
]);
const ACTIVE_INPUTS = 36;
/** Share of coordinates a trainer sends (the node's top-k ratio is 5% of a far larger model). */
const SENT = 0.2;

/** A sparse update: a random SENT share of the active rows' weights and of the biases, the rest zero. */
function sparseHonest(rng: Rng): Float32Array {
  const update = new Float32Array(layout.size);
  for (let j = 0; j < layout.size; j++) {
    const input = Math.floor(j / 16);
    const active = j >= 40 * 16 || input < ACTIVE_INPUTS;
    if (active && rng.next() < SENT) update[j] = 0.01 * Math.sin(j) + 0.01 * rng.normal();
  }
  return update;
}

/** An honest-looking sparse update plus a trigger: input 38's row, a fifth of the update's energy. */
function backdoored(rng: Rng): Float32Array {
  const update = sparseHonest(rng);
  let energy = 0;
  for (const x of update) energy += x * x;
  const amplitude = Math.sqrt((energy * 0.25) / 16);
  for (let h = 0; h < 16; h++) update[38 * 16 + h] = h % 2 === 0 ? amplitude : -amplitude;
  return update;
}

describe("coordinate groups (silent inputs on sparse updates)", () => {
  it("groups a matrix by input row and a bias as one", () => {
    const groups = inputGroups(layout);
    assert.equal(groups.length, 40 + 1 + 1);
    assert.deepEqual([...groups.slice(0, 3)], [0, 16, 32]);
    assert.deepEqual([...groups.slice(-2)], [40 * 16, layout.size]);
    assert.deepEqual([...singletonGroups(3)], [0, 1, 2, 3]);
  });

  it("rejects a trainer that moves an input row no honest trainer touches; per coordinate it passed", () => {
    const rng = new Rng(5);
    const updates = [
      sparseHonest(rng),
      sparseHonest(rng),
      sparseHonest(rng),
      sparseHonest(rng),
      backdoored(rng),
    ];
    const sent = updates.map((update) => ({ update, weight: 100 }));
    const grouped = guardUpdates(sent, {}, inputGroups(layout));
    assert.deepEqual(grouped.rejected, [false, false, false, false, true], JSON.stringify(grouped.updates));
    assert.ok(grouped.updates[4]!.reasons.includes("silent-coordinates"));
    // Per coordinate, each honest trainer's own picks count as silent, and the trigger is lost among them.
    const single = guardUpdates(sent);
    assert.equal(single.rejected[4], false, JSON.stringify(single.updates));
    assert.ok(single.updates.slice(0, 4).every((u) => u.silentRatio > 0.3));
  });

  it("refuses groups that do not cover the update", () => {
    const sent = [1, 2, 3].map(() => ({ update: new Float32Array(10), weight: 1 }));
    assert.throws(() => guardUpdates(sent, {}, singletonGroups(9)), AggregationInputError);
  });
});
