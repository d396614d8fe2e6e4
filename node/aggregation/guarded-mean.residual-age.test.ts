/**
 * A long-lived honest trainer beside freshly started ones, on the node's default compressed updates: the
 * session-14 soak lost 5 honest updates so. Without a bound the error-feedback residual of a trainer that has
 * compressed for many rounds grows, and the top-k of it (what it sends) grew several times larger than a fresh
 * trainer's top-k of one update, which the guarded mean's norm test (3× the median) rejects. The node's
 * compressor bounds what it sends by its own update's top-k (compression/constants.ts, DEFAULT_SENT_NORM_CAP).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import {
  DEFAULT_TOPK_RATIO,
  DEFAULT_TOPK_WARMUP_RATIOS,
  DEFAULT_VALUE_BITS,
} from "../compression/constants.ts";
import { fedAvg } from "../core/updates.ts";
import { TrainingPool, createModel, loadMnist, partition } from "../training/index.ts";
import type { ModelSpec } from "../training/index.ts";
import { guardUpdates } from "./guarded-mean.ts";
import { inputGroups } from "./index.ts";
import { runCompressedRounds } from "./testing/compressed-rounds.ts";
import type { CompressedRoundsOptions } from "./testing/compressed-rounds.ts";

/** The demo network's model (task-spec default) and its shards (8 nodes' IID split; three of them train). */
const MODEL: ModelSpec = { kind: "mlp", hidden: [128] };
const SHARDS = 8;
const TRAINERS = 3;
/** The round in which trainers 1 and 2 start over: trainer 0 has then compressed for AGE - 1 rounds. */
const AGE = 25;

describe("a long-lived trainer beside fresh ones, default compressed updates", { timeout: 600_000 }, () => {
  const pool = new TrainingPool({ size: 1 });
  after(() => pool.close());
  const groups = inputGroups(createModel(MODEL).layout);

  /** Per round, each trainer's norm over the round's median and the trainers the guarded mean rejected. */
  const run = async (compression?: CompressedRoundsOptions["compression"]) => {
    const seed = 2;
    const { train } = loadMnist({ seed, testFraction: 0.2 });
    const parts = partition(train, SHARDS, { kind: "iid" }, seed).slice(0, TRAINERS);
    const normRatios: number[][] = [];
    const { excluded } = await runCompressedRounds({
      pool,
      model: MODEL,
      parts,
      rounds: AGE,
      seed,
      ...(compression === undefined ? {} : { compression }),
      freshCompressor: (round, trainer) => round === AGE && trainer > 0,
      screen: (sent) => {
        const guard = guardUpdates(sent, {}, groups);
        normRatios.push(guard.updates.map((u) => u.normRatio));
        return {
          aggregate: fedAvg(sent.filter((_, i) => !guard.rejected[i])),
          acceptedWeights: guard.acceptedWeights,
          reasons: guard.updates.map((u) => u.reasons),
        };
      },
    });
    return { excluded, normRatios };
  };

  // Measured (seed 2): 1.86x the median in round AGE with the default bounds (1.21x at a sent cap of 2), 25.8x without.
  it("accepts the old trainer and the two fresh ones; its norm stays under 2.5x the median", async () => {
    const { excluded, normRatios } = await run();
    assert.deepEqual(excluded, new Array(AGE).fill([]));
    assert.ok(normRatios[AGE - 1]![0]! < 2.5, `old trainer at ${normRatios[AGE - 1]![0]} x the median`);
  });

  it("without the age bounds the old trainer's norm passes 3x the median and it is rejected", async () => {
    const { excluded, normRatios } = await run({
      ratio: DEFAULT_TOPK_RATIO,
      warmupRatios: DEFAULT_TOPK_WARMUP_RATIOS,
      quantizeBits: DEFAULT_VALUE_BITS,
    });
    assert.ok(normRatios[AGE - 1]![0]! > 3, `old trainer at ${normRatios[AGE - 1]![0]} x the median`);
    assert.equal(excluded[AGE - 1]!.length, 1);
    assert.match(excluded[AGE - 1]![0]!, /^0:(.*\+)?norm(\+|$)/);
  });
});
