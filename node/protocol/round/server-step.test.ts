/**
 * The task's server step is a public function of (base model, optimizer state, proven aggregate): a node that
 * holds only the task's initial model, and one that holds a round's model but lost its optimizer state, both
 * derive exactly the chain of models a direct computation gives, for every optimizer a task may choose.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Hex } from "viem";

import { sha256 } from "../../p2p/blobs.ts";
import { commitEncoded, encodeFixedPoint } from "../../proofs/index.ts";
import { TASK_SERVER_OPTIMIZERS } from "../../training/server/index.ts";
import { ModelStore } from "../models.ts";
import { taskSpecSchema } from "../task-spec.ts";
import { emptyTransferStats } from "./context.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { ModelSync } from "./model-sync.ts";
import { modelRefOf, nextModel } from "./next-model.ts";
import { aggregateBytesOf } from "./round-data.ts";
import type { RoundData } from "./round-data.ts";
import { serverStateKey, serverStep } from "./server-step.ts";
import { mapFloat32 } from "../../core/vectors.ts";

const SIZE = 130;
const INITIAL: Hex = `0x${"ab".repeat(32)}`;

async function twoRounds() {
  const aggregates = [1, 2].map((r) =>
    encodeFixedPoint(mapFloat32({ length: SIZE }, (_, i) => (((i * r) % 9) - 4) / 256)),
  );
  const rounds = new Map<bigint, RoundView>();
  const blobs = new Map<string, Uint8Array>();
  let base = INITIAL;
  const refs: Hex[] = [];
  for (const [i, aggregate] of aggregates.entries()) {
    const roundId = BigInt(i + 1);
    const { root } = await commitEncoded(aggregate);
    const ref = modelRefOf(base, root, roundId);
    const bytes = aggregateBytesOf(aggregate);
    blobs.set(sha256(bytes), bytes);
    rounds.set(roundId, {
      posted: true,
      modelRef: ref,
      baseModelRef: base,
      aggregateCommitment: root,
      aggregator: "0x00000000000000000000000000000000000000a9",
      aggregateSha: sha256(bytes),
    } as unknown as RoundView);
    refs.push(ref);
    base = ref;
  }
  return { aggregates, rounds, blobs, refs };
}

function syncFor(
  spec: ReturnType<typeof taskSpecSchema.parse>,
  models: ModelStore,
  world: Awaited<ReturnType<typeof twoRounds>>,
): ModelSync {
  const ctx = {
    me: "0x00000000000000000000000000000000000000b1",
    paramSize: SIZE,
    models,
    stats: emptyTransferStats(),
    signal: new AbortController().signal,
    chain: {
      readRound: async (id: bigint) => world.rounds.get(id) ?? ({ posted: false } as unknown as RoundView),
      aggregateData: async (id: bigint) =>
        (world.rounds.get(id) as unknown as { aggregateSha: string }).aggregateSha,
      peerOf: async () => {
        throw new Error("no peer");
      },
    },
    options: {
      spec,
      mesh: { blobs: { serve: () => undefined }, admission: { admitted: () => [] } },
    },
  } as unknown as RoundContext;
  const data = {
    aggregateSha: () => undefined,
    bytes: (sha: string) => world.blobs.get(sha),
    keep: () => "",
    keepAggregate: () => "",
    isAggregate: () => false,
    activeRoundId: 0n,
  } as unknown as RoundData;
  return new ModelSync(ctx, data);
}

describe("server step: every node recomputes the task's optimizer from the proven aggregates", () => {
  for (const optimizer of TASK_SERVER_OPTIMIZERS) {
    it(`${optimizer}: derived from the initial model, and again after losing the state`, async () => {
      const spec = taskSpecSchema.parse({ model: { kind: "mlp" }, server: { optimizer } });
      const world = await twoRounds();
      const initial = mapFloat32({ length: SIZE }, (_, i) => Math.cos(i) / 10);
      const first = serverStep(spec.server, { params: initial, server: [] }, world.aggregates[0]!);
      const second = serverStep(spec.server, first, world.aggregates[1]!);

      const fresh = new ModelStore(32);
      fresh.put(initial, INITIAL);
      const derived = await syncFor(spec, fresh, world).ensureModel(world.refs[1]!);
      assert.deepEqual(derived, second.params, "two steps from the initial model");

      // A node holding round 1's model without its optimizer state derives the state again.
      const partial = new ModelStore(32);
      partial.put(initial, INITIAL);
      partial.put(first.params, world.refs[0]!);
      const again = await syncFor(spec, partial, world).ensureModel(world.refs[1]!);
      assert.deepEqual(again, second.params, "state recovered by derivation");
      for (const [k, vector] of second.server.entries())
        assert.deepEqual(partial.get(serverStateKey(world.refs[1]!, k)), vector, `state vector ${k} kept`);

      // Every task default differs from base + aggregate, FedAvg's included (its lr 2, TASK_FEDAVG_SERVER_LR).
      const plain = nextModel(first.params, world.aggregates[1]!);
      assert.notDeepEqual(second.params, plain, `${optimizer} is not McMahan's FedAvg`);
      if (optimizer === "fedavg") {
        const mcMahan = { optimizer, lr: 1 } as const;
        const viaLr1 = serverStep(mcMahan, { params: first.params, server: [] }, world.aggregates[1]!);
        assert.deepEqual(viaLr1.params, plain, "FedAvg at lr 1 is base + aggregate");
      }
    });
  }
});
