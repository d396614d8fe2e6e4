/**
 * A round's model is derived, never taken by a name its aggregator chose (issue #18: "wrong modelRef with an
 * honest aggregate"). The ref formula matches the contract's (RoundsBase._modelRefOf; RoundModelRef.t.sol
 * checks the same vector shape on chain, and bench:attacks' "wrong modelRef" strategy compares this function
 * with a real chain's ref). ModelSync derives a round's model from the base and the aggregate whose commitment
 * was posted, whatever bytes a peer serves; the store reloads it by its derived ref.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import pino from "pino";
import { encodeAbiParameters, keccak256 } from "viem";
import type { Address, Hex } from "viem";

import { HONEST_ADVERSARY } from "../../adversary/index.ts";
import { commitEncoded, encodeFixedPoint } from "../../proofs/index.ts";
import { ModelStore, modelRef, paramsToBytes } from "../models.ts";
import { RoundStore } from "../round-store.ts";
import { emptyTransferStats } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { ModelSync } from "./model-sync.ts";
import { aggregateBytesOf } from "./round-data.ts";
import type { RoundData } from "./round-data.ts";
import { modelRefOf, nextModel, roundOfModelRef } from "./next-model.ts";
import { mapFloat32 } from "../../core/vectors.ts";

const SIZE = 130; // three chunks of 64 (the last one partial)
const BASE_REF: Hex = `0x${"ab".repeat(32)}`;
const AGGREGATOR: Address = "0x00000000000000000000000000000000000000a9";

describe("modelRefOf", () => {
  it("is keccak(base, aggregate, round) with the round in its low 64 bits", () => {
    const commitment: Hex = `0x${"cd".repeat(32)}`;
    const ref = modelRefOf(BASE_REF, commitment, 7n);
    const hash = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }],
        [BASE_REF, commitment, 7n],
      ),
    );
    assert.equal(ref.slice(0, 50), hash.slice(0, 50), "high 192 bits are the hash's");
    assert.equal(BigInt(`0x${ref.slice(50)}`), 7n);
    assert.equal(roundOfModelRef(ref), 7n);
    assert.notEqual(
      modelRefOf(BASE_REF, `0x${"ce".repeat(32)}`, 7n),
      ref,
      "another aggregate, another model",
    );
  });
});

describe("ModelSync: a round's model by recomputation", () => {
  it("derives base + aggregate and ignores the model a peer serves under any name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-next-model-"));
    try {
      const base = mapFloat32({ length: SIZE }, (_, i) => Math.sin(i));
      const aggregate = encodeFixedPoint(mapFloat32({ length: SIZE }, (_, i) => (i % 7) / 100));
      const { root } = await commitEncoded(aggregate);
      const roundId = 5n;
      const ref = modelRefOf(BASE_REF, root, roundId);
      const aggregateBytes = aggregateBytesOf(aggregate);
      const evil = paramsToBytes(new Float32Array(SIZE).fill(42));
      const round = {
        posted: true,
        modelRef: ref,
        baseModelRef: BASE_REF,
        aggregateCommitment: root,
        aggregator: AGGREGATOR,
        // One trainer whose update nobody serves: the aggregate cannot be rebuilt from updates either.
        trainers: [AGGREGATOR],
        weights: [1n],
        commitments: [root],
      } as unknown as RoundView;
      const requested: string[] = [];
      const models = new ModelStore();
      models.put(base, BASE_REF);
      const store = new RoundStore(dir);
      const ctx = {
        me: "0x00000000000000000000000000000000000000b1",
        paramSize: SIZE,
        models,
        stats: emptyTransferStats(),
        signal: new AbortController().signal,
        log: pino({ level: "silent" }),
        adversary: HONEST_ADVERSARY,
        chain: {
          readRound: async (id: bigint) =>
            id === roundId ? round : ({ posted: false } as unknown as RoundView),
          aggregateData: async () => "11".repeat(32),
          peerOf: async () => {
            throw new Error("no peer");
          },
        },
        options: {
          store,
          spec: { server: { optimizer: "fedavg" } },
          mesh: {
            blobs: {
              serve: () => undefined,
              // The only peer serves the attacker's model whatever is asked, then the aggregate by its name.
              fetch: async (_peer: unknown, name: string) => {
                requested.push(name);
                return name === "11".repeat(32) ? aggregateBytes : evil;
              },
              fetchCommitted: async () => {
                throw new Error("not served");
              },
            },
            admission: {
              admitted: () => [{ peerId: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN" }],
            },
          },
        },
      } as unknown as RoundContext;
      const data = {
        aggregateSha: () => undefined,
        bytes: () => undefined,
        committedBytes: () => undefined,
        keep: () => "",
        keepAggregate: () => "",
        isAggregate: () => false,
        activeRoundId: 5n,
      } as unknown as RoundData;
      const sync = new ModelSync(ctx, data);
      const got = await sync.ensureModel(ref, AGGREGATOR);
      assert.ok(got !== undefined, "derived");
      assert.deepEqual(got, nextModel(base, aggregate), "base + decode(aggregate)");
      assert.ok(
        requested.every((name) => name === "11".repeat(32)),
        `only the aggregate was fetched, never a model by the round's ref: ${requested.join(", ")}`,
      );
      assert.deepEqual(await store.loadModel(ref, SIZE), got, "reloads by its derived ref");
      assert.deepEqual(
        models.bytesBySha256(modelRef(paramsToBytes(got)).slice(2)),
        paramsToBytes(got),
        "served by content",
      );

      // Bytes that do not match the posted commitment never make a model.
      const wrong = {
        ...round,
        aggregateCommitment: `0x${"ee".repeat(32)}`,
        modelRef: modelRefOf(BASE_REF, `0x${"ee".repeat(32)}`, 6n),
      };
      const sync2 = new ModelSync(
        {
          ...ctx,
          models: (() => {
            const m = new ModelStore();
            m.put(base, BASE_REF);
            return m;
          })(),
          options: { ...ctx.options, store: undefined },
          chain: { ...ctx.chain, readRound: async () => wrong },
        } as unknown as RoundContext,
        data,
      );
      assert.equal(
        await sync2.ensureModel(wrong.modelRef as Hex, AGGREGATOR),
        undefined,
        "unchecked bytes refused",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
