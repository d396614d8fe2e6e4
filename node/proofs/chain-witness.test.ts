/**
 * Chained proofs (circuits/aggregate-link.circom): links of K trainers compose to exactly the flat aggregate
 * of any number of trainers, and a link that drops, alters or re-weights a trainer's contribution cannot be
 * satisfied even with every hash and the statement recomputed to match its lie. Compiles a small instance
 * (K = 4, C = 16) into circuits/build/link-test and runs its wasm witness calculator, which fails on any
 * unsatisfied constraint (no setup or proving needed to check satisfiability).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import * as snarkjs from "snarkjs";

import { Rng } from "../core/rng.ts";
import { buildChainWitnesses, linkStatementHash, packSums, sumsHash } from "./chain-witness.ts";
import type { ChainLink, LinkShape } from "./chain-witness.ts";
import { hashChunk } from "./commitment.ts";
import { aggregateFixedPoint } from "./fixed-point.ts";
import { roundChunk } from "./witness.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIR = "circuits/build/link-test";
const SHAPE: LinkShape = { trainers: 4, chunkSize: 16, countBits: 10 };
const WASM = `${ROOT}${DIR}/link_k4_c16_js/link_k4_c16.wasm`;

async function satisfies(input: Record<string, unknown>): Promise<boolean> {
  try {
    await snarkjs.wtns.calculate(input, WASM, { type: "mem" });
    return true;
  } catch {
    return false;
  }
}

function randomUpdates(rng: Rng, n: number): Uint16Array[] {
  return Array.from({ length: n }, () =>
    Uint16Array.from({ length: SHAPE.chunkSize * 3 }, () => Math.floor(rng.next() * 65536)),
  );
}

/** A link rebuilt around other running sums, with every hash and the statement recomputed to match. */
async function forgeLink(honest: ChainLink, sums: bigint[]): Promise<Record<string, unknown>> {
  const s = honest.statement;
  const divisor = s.wOut === 0n ? 1n : s.wOut;
  const agg = sums.map((v) => v / divisor);
  const rem = sums.map((v, j) => v - agg[j]! * divisor);
  const statement = await linkStatementHash({
    ...s,
    sumOutHash: await sumsHash(sums, SHAPE),
    aggregateChunkHash: await hashChunk(Uint16Array.from(agg, Number)),
    roundChunk: BigInt(honest.input.roundChunk as string),
  });
  return {
    ...honest.input,
    statement: String(statement),
    sumOut: sums.map(String),
    agg: agg.map(String),
    rem: rem.map(String),
  };
}

describe("chained aggregation proofs (links of K trainers)", () => {
  before(() => {
    mkdirSync(`${ROOT}${DIR}`, { recursive: true });
    writeFileSync(
      `${ROOT}${DIR}/link_k4_c16.circom`,
      'pragma circom 2.1.0;\ninclude "../../aggregate-link.circom";\n' +
        "component main {public [statement]} = AggregateLink(4, 16, 16, 16, 10);\n",
    );
    execFileSync(
      `${ROOT}node_modules/.bin/circom2`,
      [`${DIR}/link_k4_c16.circom`, "--wasm", "--O2", "-o", DIR],
      { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
    );
  });

  it("11 trainers in 3 links: every link proves, the chain links up, the last aggregate is the flat one", async () => {
    const rng = new Rng(21);
    const updates = randomUpdates(rng, 11);
    const weights = updates.map((_, i) => (i === 5 ? 0 : 1 + Math.floor(rng.next() * 65535)));
    for (const chunk of [0, 2]) {
      const links = await buildChainWitnesses(9n, chunk, updates, weights, SHAPE);
      assert.equal(links.length, 3);
      assert.equal(links[0]!.statement.sumInHash, await sumsHash(new Array(16).fill(0n), SHAPE));
      assert.equal(links[0]!.statement.wIn, 0n);
      for (const [i, link] of links.entries()) {
        assert.equal(await satisfies(link.input), true, `link ${i}`);
        if (i > 0) {
          assert.equal(link.statement.sumInHash, links[i - 1]!.statement.sumOutHash);
          assert.equal(link.statement.wIn, links[i - 1]!.statement.wOut);
        }
      }
      const flat = aggregateFixedPoint(
        updates.map((u) => u.subarray(chunk * 16, chunk * 16 + 16)),
        weights,
      );
      const last = links.at(-1)!;
      assert.deepEqual(last.input.agg, Array.from(flat.aggregate, String));
      assert.equal(last.statement.aggregateChunkHash, await hashChunk(flat.aggregate));
      assert.equal(last.statement.wOut, BigInt(flat.totalWeight));
    }
  });

  it("a first link of rejected trainers only (weight 0) still proves", async () => {
    const updates = randomUpdates(new Rng(5), 6);
    const links = await buildChainWitnesses(1n, 0, updates, [0, 0, 0, 0, 7, 9], SHAPE);
    assert.equal(links[0]!.statement.wOut, 0n);
    for (const link of links) assert.equal(await satisfies(link.input), true);
  });

  it("a lying link cannot be satisfied, even with its hashes and statement recomputed", async () => {
    const rng = new Rng(33);
    const updates = randomUpdates(rng, 9);
    const weights = updates.map(() => 1 + Math.floor(rng.next() * 1000));
    const links = await buildChainWitnesses(4n, 1, updates, weights, SHAPE);
    const link = links[1]!;
    const sumsIn = links[0]!.input.sumOut as string[];
    const u = link.input.u as string[][];
    const w = link.statement.weights;
    // Drops trainer 0 of the link (the sums of the other three only).
    const dropped = sumsIn.map((s, j) =>
      [1, 2, 3].reduce((acc, k) => acc + BigInt(w[k]!) * BigInt(u[k]![j]!), BigInt(s)),
    );
    assert.equal(await satisfies(await forgeLink(link, dropped)), false);
    // Moves the running sum of one coordinate by one (the aggregate shifts with it).
    const honest = (link.input.sumOut as string[]).map(BigInt);
    const shifted = honest.map((v, j) => (j === 3 ? v + BigInt(link.statement.wOut) : v));
    assert.equal(await satisfies(await forgeLink(link, shifted)), false);
    // Claims other running sums coming in than the previous link put out (a forged chain start).
    const fakeIn = (link.input.sumOut as string[]).map(() => 0n);
    const forged = {
      ...link.input,
      sumInPacked: packSums(fakeIn, SHAPE).map(String),
    };
    assert.equal(await satisfies(forged), false);
    // The honest link still proves, and its statement names its round, chunk and place in the chain.
    assert.equal(await satisfies(link.input), true);
    assert.equal(await satisfies({ ...link.input, link: "2" }), false);
    assert.equal(await satisfies({ ...link.input, roundChunk: String(roundChunk(4n, 2)) }), false);
  });
});
