import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Rng } from "../core/rng.ts";
import {
  CHUNK_SIZE,
  DEFAULT_CIRCUIT_SHAPE,
  MAX_WEIGHT,
  PROOF_TRAINERS,
  ProofInputError,
  buildChunkWitness,
  getPoseidon,
  hashChunk,
  packChunk,
  packWeights,
  paddingChunkHash,
  roundChunk,
  statementHash,
  statementInputs,
} from "./index.ts";

const rng = new Rng(11);
const randomUpdates = (count: number, length: number) =>
  Array.from({ length: count }, () => Uint16Array.from({ length }, () => rng.int(65536)));

describe("circuit input for other fan-ins and chunk sizes (CircuitShape)", () => {
  it("the default shape is the node's: same input with and without it", async () => {
    const updates = randomUpdates(5, CHUNK_SIZE * 3);
    const weights = [3, 0, MAX_WEIGHT, 1, 70];
    const implicit = await buildChunkWitness(9n, 2, updates, weights);
    const explicit = await buildChunkWitness(9n, 2, updates, weights, DEFAULT_CIRCUIT_SHAPE);
    assert.deepEqual(explicit.input, implicit.input);
    assert.equal((implicit.input.u as string[][]).length, PROOF_TRAINERS);
  });

  it("K = 16, C = 32: two packed weight elements, a two-level statement hash, 3-element chunk hashes", async () => {
    const shape = { trainers: 16, chunkSize: 32 };
    const updates = randomUpdates(16, 100); // 4 chunks of 32, the last padded
    const weights = Array.from({ length: 16 }, (_, k) => (k === 4 ? 0 : 1 + rng.int(MAX_WEIGHT)));
    const { input, statement, aggregateChunk } = await buildChunkWitness(5n, 3, updates, weights, shape);
    assert.equal((input.u as string[][]).length, 16);
    assert.ok((input.u as string[][]).every((row) => row.length === 32));
    assert.equal(aggregateChunk.length, 32);
    // Chunk 3 holds values 96..99 and 28 encoded zeros; 32 values pack into 15 + 15 + 2.
    assert.deepEqual(Array.from((input.u as string[][])[0]!.slice(0, 5), Number), [
      ...Array.from(updates[0]!.subarray(96, 100)),
      32768,
    ]);
    assert.equal(packChunk(aggregateChunk).length, 3);
    assert.equal(statement.trainerChunkHashes[4], await paddingChunkHash(32)); // weight 0: padding hash
    const inputs = await statementInputs(statement, shape);
    assert.equal(inputs.length, 16 + 1 + 2 + 1);
    assert.equal(inputs[17], packWeights(weights.slice(0, 15)));
    assert.equal(inputs[18], BigInt(weights[15]!));
    assert.equal(inputs[19], roundChunk(5n, 3));
    // The circuit folds the 16 trainer hashes into one Poseidon first (20 inputs > 16).
    const poseidon = await getPoseidon();
    const hash = (values: bigint[]) => poseidon.F.toObject(poseidon(values));
    assert.equal(
      await statementHash(statement, shape),
      hash([hash(inputs.slice(0, 16)), ...inputs.slice(16)]),
    );
    assert.equal(input.statement, String(await statementHash(statement, shape)));
    assert.equal(statement.aggregateChunkHash, await hashChunk(aggregateChunk));
  });

  it("K = 4, C = 64: fewer trainers pad to K with the padding hash and weight 0", async () => {
    const shape = { trainers: 4, chunkSize: 64 };
    const { input, statement } = await buildChunkWitness(1n, 0, randomUpdates(2, 64), [7, 9], shape);
    assert.deepEqual(input.w, ["7", "9", "0", "0"]);
    const inputs = await statementInputs(statement, shape);
    assert.equal(inputs.length, 4 + 1 + 1 + 1);
    assert.deepEqual(inputs.slice(2, 4), [await paddingChunkHash(64), await paddingChunkHash(64)]);
    assert.equal(await statementHash(statement, shape), hashOf(await getPoseidon(), inputs));
  });

  it("rejects shapes the templates cannot instantiate, and more trainers than K, with ProofInputError", async () => {
    const updates = randomUpdates(5, 64);
    const weights = [1, 1, 1, 1, 1];
    for (const shape of [
      { trainers: 17, chunkSize: 64 },
      { trainers: 0, chunkSize: 64 },
      { trainers: 8, chunkSize: 241 },
      { trainers: 8, chunkSize: 0 },
      { trainers: 2.5, chunkSize: 64 },
      { trainers: 4, chunkSize: 64 }, // 5 trainers > K = 4
    ]) {
      await assert.rejects(buildChunkWitness(1n, 0, updates, weights, shape), (error: unknown) => {
        assert.ok(error instanceof ProofInputError);
        assert.equal(error.code, "PROOF_INPUT");
        return true;
      });
    }
  });
});

function hashOf(poseidon: Awaited<ReturnType<typeof getPoseidon>>, values: bigint[]): bigint {
  return poseidon.F.toObject(poseidon(values));
}
