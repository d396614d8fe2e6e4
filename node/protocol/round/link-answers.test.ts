/**
 * Chained rounds in the node (link-answers.ts): which rounds chain, the cells a watcher challenges, and the
 * link statement a watcher reads back (against the encoder the verifier's bytes are tested with).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { encodeLinkStatement } from "../../proofs/index.ts";
import { challengeTargets } from "./aggregate-watcher.ts";
import { cellsOfChunks, decodeLinkClaims, isChained } from "./link-answers.ts";

describe("chained rounds in the node", () => {
  it("chains only proven rounds above the flat fan-in of 8", () => {
    const trainers = (n: number) => Array.from({ length: n }, () => "0x");
    assert.equal(isChained({ proven: true, trainers: trainers(8) }), false);
    assert.equal(isChained({ proven: true, trainers: trainers(9) }), true);
    assert.equal(isChained({ proven: false, trainers: trainers(16) }), false);
  });

  it("challenges every link of the first wrong chunk of a chained round, the first 3 chunks of a flat one", () => {
    assert.deepEqual(cellsOfChunks([2, 5], 3), [6, 7, 8, 15, 16, 17]);
    assert.deepEqual(challengeTargets([2, 5, 7, 9], 0), [2, 5, 7]);
    assert.deepEqual(challengeTargets([2, 5], 3), [6, 7, 8]);
    assert.deepEqual(challengeTargets([], 3), []);
  });

  it("reads a link statement's trainer slots, weights and chunk", () => {
    const statement = encodeLinkStatement(
      {
        statement: 1n,
        trainerChunkHashes: [11n, 12n, 13n, 14n],
        sumInHash: 2n,
        sumOutHash: 3n,
        aggregateChunkHash: 4n,
        weights: [5, 0, 7, 8],
        wIn: 9n,
        wOut: 29n,
        link: 2,
      },
      (7n << 32n) | 4n,
    );
    // A 10-trainer round: link 2 holds trainers 8 and 9 only.
    const claims = decodeLinkClaims(statement, 10);
    assert.equal(claims.chunk, 4);
    assert.deepEqual(claims.slots, [
      { trainer: 8, chunkHash: 11n, weight: 5 },
      { trainer: 9, chunkHash: 12n, weight: 0 },
    ]);
    assert.throws(() => decodeLinkClaims(statement, 8), RangeError);
  });
});
