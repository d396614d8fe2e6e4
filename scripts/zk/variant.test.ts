import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import * as snarkjs from "snarkjs";

import { MAX_WEIGHT } from "../../node/proofs/constants.ts";
import { buildChunkWitness } from "../../node/proofs/witness.ts";
import { Rng } from "../../node/core/rng.ts";
import { VariantSetupError, compileVariant, parseShape, requiredPtauPower, variantPaths } from "./variant.ts";

/**
 * A real compiled variant of the templates at a fan-in and chunk size other than the node's (K = 16, C = 16:
 * ~14 s of circom2 here, so small; it still has two packed weight elements, the two-level statement hash and
 * a chunk packed 15 + 1), fed the generic circuit input. The witness calculator fails on any unsatisfied
 * constraint, so acceptance means the TypeScript mirrors the templates at this shape.
 */
const SHAPE = { trainers: 16, chunkSize: 16 };
const OUTPUT = fileURLToPath(new URL("../../test-output/", import.meta.url));

async function satisfies(wasm: string, input: Record<string, unknown>): Promise<boolean> {
  try {
    await snarkjs.wtns.calculate(input, wasm, { type: "mem" });
    return true;
  } catch {
    return false;
  }
}

describe("circuit variants (scripts/zk/variant.ts)", () => {
  let dir = "";
  before(async () => {
    await mkdir(OUTPUT, { recursive: true });
    dir = await mkdtemp(`${OUTPUT}zk-variant-`);
    await compileVariant(SHAPE, { r1cs: false, wasm: true }, dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("the compiled K = 16, C = 16 variant accepts the generic input and rejects a wrong one", async () => {
    const wasm = variantPaths(SHAPE, dir).wasm;
    const rng = new Rng(5);
    const updates = Array.from({ length: 16 }, () => Uint16Array.from({ length: 40 }, () => rng.int(65536)));
    const weights = updates.map((_, k) => (k === 2 ? 0 : 1 + rng.int(MAX_WEIGHT)));
    weights[0] = MAX_WEIGHT;
    const { input } = await buildChunkWitness(77n, 2, updates, weights, SHAPE); // chunk 2: 8 values + padding
    assert.equal(await satisfies(wasm, input), true);
    const agg = input.agg as string[];
    const tampered = agg.map((v, j) => (j === 0 ? String(BigInt(v) === 0n ? 1n : BigInt(v) - 1n) : v));
    assert.equal(await satisfies(wasm, { ...input, agg: tampered }), false);
    // Weight 16 is alone in the second packed element: a consistent witness with another w[15] is valid, but
    // not under the first witness's statement.
    const other = await buildChunkWitness(77n, 2, updates, weights.with(15, weights[15]! + 1), SHAPE);
    assert.equal(await satisfies(wasm, other.input), true);
    assert.equal(await satisfies(wasm, { ...other.input, statement: input.statement }), false);
    // The node's shape gives a different input: it does not fit this circuit.
    const defaults = await buildChunkWitness(77n, 2, updates.slice(0, 8), weights.slice(0, 8));
    assert.equal(await satisfies(wasm, defaults.input), false);
  });

  it("parses K,C and sizes the powers of tau as snarkjs does", () => {
    assert.deepEqual(parseShape("4,64"), { trainers: 4, chunkSize: 64 });
    assert.throws(() => parseShape("4x64"), VariantSetupError);
    assert.equal(requiredPtauPower(15_220), 14);
    assert.equal(requiredPtauPower(16_382), 14);
    assert.equal(requiredPtauPower(16_383), 15);
    assert.equal(requiredPtauPower(26_781), 15);
  });
});
