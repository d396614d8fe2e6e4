/**
 * A trainer whose acknowledgement came too late pushes the same update again (Delivery retries). The aggregator
 * checks those bytes against the trainer's on-chain commitment once: a repeat that arrives while the check waits
 * in the commitment pool joins it, one that arrives after it passed is acknowledged without a check. Before,
 * every repeat queued its own 0.35 s check in the queue the round waits on (23 of 152 urgent commitments at 64
 * nodes, docs/scaling.md session 12). A different update under the same trainer is still checked, and refused.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address, Hex } from "viem";

import { encodeUpdate } from "../../compression/index.ts";
import { sha256 } from "../../p2p/blobs.ts";
import { MeshError } from "../../p2p/errors.ts";
import { COMMIT_MEMO_CHUNKS, commitPoolStats, configureCommitPool } from "../../proofs/commit-pool.ts";
import { commitUpdateBytes } from "../update.ts";
import { Aggregator } from "./aggregator.ts";
import type { AggregatorComponents } from "./aggregator.ts";
import type { RoundContext, RoundView } from "./context.ts";
import type { AggregatorWork } from "./round-work.ts";
import { mapFloat32 } from "../../core/vectors.ts";

const DIMENSION = 5_000;
const ME: Address = "0x00000000000000000000000000000000000000aa";
const TRAINER: Address = "0x00000000000000000000000000000000000000a1";

function updateBytes(seed: number): Uint8Array {
  const indices = Uint32Array.from({ length: 50 }, (_, i) => i * 97 + seed);
  const values = mapFloat32({ length: 50 }, (_, i) => ((i % 7) - 3) / (10 + seed));
  return encodeUpdate({ dimension: DIMENSION, indices, values });
}

/** An aggregator of a one-trainer round whose commitment is `root`; only what `acceptUpdate` reads is real. */
function aggregatorFor(root: Hex): { aggregator: Aggregator; work: AggregatorWork } {
  const round = { trainers: [TRAINER], commitments: [root], aggregator: ME } as unknown as RoundView;
  const work = { received: new Map() } as unknown as AggregatorWork;
  const ctx = {
    me: ME,
    paramSize: DIMENSION,
    chain: { roundForPush: async () => round },
  } as unknown as RoundContext;
  const components = {
    work: { for: () => work },
    // As RoundData does: kept under the bytes' content hash, which it returns.
    data: { keepUpdate: (_round: bigint, _root: Hex, kept: Uint8Array) => sha256(kept) },
  } as unknown as AggregatorComponents;
  return { aggregator: new Aggregator(ctx, components), work };
}

describe("the aggregator checks a repeated push once", () => {
  it("a repeat during the check joins it, a repeat after it needs none, another update is refused", async () => {
    // The aggregator's own bookkeeping, not the pool's: the pool would answer a vector it committed before from
    // its kept commitments, and join callers asking for one vector at once (commit-pool.test.ts).
    configureCommitPool({ memoChunks: 0 });
    const bytes = updateBytes(1);
    const { commitment } = await commitUpdateBytes(bytes, DIMENSION);
    const { aggregator, work } = aggregatorFor(commitment.root);
    const before = commitPoolStats().done.urgent;
    const joinedBefore = commitPoolStats().joined;
    // Three pushes of the same bytes at once (the first check is still in the pool when the others arrive).
    await Promise.all([1, 2, 3].map(() => aggregator.acceptUpdate(1n, TRAINER, bytes)));
    assert.equal(commitPoolStats().done.urgent - before, 1, "one check for three pushes at once");
    assert.equal(commitPoolStats().joined - joinedBefore, 0, "asked of the pool once");
    assert.equal(work.received.get(TRAINER.toLowerCase())?.commitment.root, commitment.root);
    await aggregator.acceptUpdate(1n, TRAINER, bytes);
    assert.equal(commitPoolStats().done.urgent - before, 1, "a push after the check passed needs none");
    await assert.rejects(
      aggregator.acceptUpdate(1n, TRAINER, updateBytes(2)),
      (error: unknown) => error instanceof MeshError && /on-chain commitment/.test(error.message),
    );
    assert.equal(commitPoolStats().done.urgent - before, 2, "other bytes are checked");
    configureCommitPool({ memoChunks: COMMIT_MEMO_CHUNKS });
  });
});
