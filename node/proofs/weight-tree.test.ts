/**
 * The published leaves of a large round's weight tree (`postWeightsRoot`'s `weights`, event `WeightLeaves`):
 * 2 bytes a weight, big-endian, in commit order; what a trainer rebuilds its tree and opening from. The tree
 * itself is checked byte for byte against the contract in test/contracts/weight-claims-gas.test.ts and
 * round-scale-gas.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress } from "viem";

import {
  buildWeightTree,
  packWeights,
  unpackWeights,
  verifyWeightOpening,
  weightOpening,
} from "./weight-tree.ts";

describe("weight tree leaves", () => {
  it("packs weights 2 bytes each and unpacks them exactly", () => {
    const weights = [0n, 1n, 255n, 256n, 65_535n, 444n];
    const packed = packWeights(weights);
    assert.equal(packed, "0x0000000100ff0100ffff01bc");
    assert.deepEqual(unpackWeights(packed), weights);
    assert.deepEqual(unpackWeights("0x"), []);
  });

  it("refuses a weight above 16 bits and a length that is not whole weights", () => {
    assert.throws(() => packWeights([65_536n]), { code: "WEIGHT_TREE_INPUT" });
    assert.throws(() => packWeights([-1n]), { code: "WEIGHT_TREE_INPUT" });
    assert.throws(() => unpackWeights("0x010203"), { code: "WEIGHT_TREE_INPUT" });
  });

  it("rebuilds, from the published leaves alone, a tree whose openings verify", () => {
    const trainers = Array.from({ length: 18 }, (_, i) =>
      getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`),
    );
    const weights = trainers.map((_, i) => (i % 5 === 2 ? 0n : BigInt(400 + i)));
    const posted = buildWeightTree(7n, trainers, weights);
    const rebuilt = buildWeightTree(7n, trainers, unpackWeights(packWeights(weights)));
    assert.equal(rebuilt.root, posted.root);
    assert.equal(rebuilt.totalWeight, posted.totalWeight);
    const path = weightOpening(rebuilt, 17);
    assert.equal(path.length, 5, "18 leaves pad to 32: depth 5");
    assert.ok(verifyWeightOpening(posted, 17, trainers[17]!, weights[17]!, path));
    assert.ok(!verifyWeightOpening(posted, 17, trainers[16]!, weights[17]!, path), "someone else's leaf");
  });
});
