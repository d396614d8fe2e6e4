import assert from "node:assert/strict";
import { describe, it } from "node:test";

import * as snarkjs from "snarkjs";

import { Rng } from "../core/rng.ts";
import { ARTIFACTS_DIR } from "./artifacts.ts";
import { CHUNK_SIZE, MAX_WEIGHT, PROOF_TRAINERS } from "./constants.ts";
import { buildChunkWitness } from "./witness.ts";

const WASM = `${ARTIFACTS_DIR}aggregate.wasm`;

/** Runs the circuit's witness calculator, which fails on any unsatisfied constraint. */
async function satisfies(input: Record<string, unknown>): Promise<boolean> {
  try {
    await snarkjs.wtns.calculate(input, WASM, { type: "mem" });
    return true;
  } catch {
    return false;
  }
}

describe("aggregation circuit vs aggregateFixedPoint", () => {
  const rng = new Rng(7);
  const cases: { name: string; updates: Uint16Array[]; weights: number[] }[] = [
    {
      name: "random values and weights",
      updates: Array.from({ length: PROOF_TRAINERS }, () =>
        Uint16Array.from({ length: CHUNK_SIZE }, () => Math.floor(rng.next() * 65536)),
      ),
      weights: Array.from({ length: PROOF_TRAINERS }, () => 1 + Math.floor(rng.next() * MAX_WEIGHT)),
    },
    {
      name: "extremes: all maximum values at maximum weight",
      updates: Array.from({ length: PROOF_TRAINERS }, () => new Uint16Array(CHUNK_SIZE).fill(65535)),
      weights: Array.from({ length: PROOF_TRAINERS }, () => MAX_WEIGHT),
    },
    {
      name: "extremes: 0 / 65535 alternating, one trainer rejected, fewer than K trainers",
      updates: Array.from({ length: 5 }, (_, k) =>
        Uint16Array.from({ length: CHUNK_SIZE }, (_, j) => ((j + k) % 2 === 0 ? 0 : 65535)),
      ),
      weights: [1, MAX_WEIGHT, 0, 3, MAX_WEIGHT - 1],
    },
  ];

  for (const c of cases) {
    it(`accepts exactly the TypeScript aggregate (${c.name})`, async () => {
      const { input, aggregateChunk } = await buildChunkWitness(3n, 0, c.updates, c.weights);
      assert.equal(await satisfies(input), true);
      // Off by one in either direction (with a remainder that would still be in range) must fail.
      const agg = input.agg as string[];
      for (const delta of [1n, -1n]) {
        const j = agg.findIndex((v) => (delta < 0n ? BigInt(v) > 0n : BigInt(v) < 65535n));
        if (j < 0) continue;
        const tampered = [...agg];
        tampered[j] = String(BigInt(agg[j]!) + delta);
        assert.equal(await satisfies({ ...input, agg: tampered }), false);
      }
      // The one public input binds the weights, the round and the chunk: another statement fails.
      assert.equal(
        await satisfies({ ...input, roundChunk: String(BigInt(input.roundChunk as string) + 1n) }),
        false,
      );
      const w = input.w as string[];
      const k = w.findIndex((v) => BigInt(v) > 1n);
      assert.equal(
        await satisfies({ ...input, w: w.map((v, i) => (i === k ? String(BigInt(v) - 1n) : v)) }),
        false,
      );
      assert.equal(aggregateChunk.length, CHUNK_SIZE);
    });
  }
});
