/**
 * The relay of a proven round's updates (update-relay.ts): whom a node offers an update to, how many bodies it
 * sends per update and per window, and what a peer that hands out bytes failing their commitment gets (refused,
 * not kept, not relayed, scored as abuse). The spread over real nodes is node/demo/update-relay.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address, Hex } from "viem";

import { encodeUpdate } from "../../compression/index.ts";
import { mapFloat32 } from "../../core/vectors.ts";
import type { PushOutcome } from "../../p2p/blobs.ts";
import { MeshError } from "../../p2p/errors.ts";
import { commitUpdateBytes } from "../update.ts";
import type { RoundContext, RoundView } from "./context.ts";
import { keepReplica } from "./replica-intake.ts";
import { RelayBudget, offerBlob, relayOrder } from "./update-relay.ts";

const DIMENSION = 2_000;
const TRAINER: Address = "0x00000000000000000000000000000000000000a1";

function updateBytes(seed: number): Uint8Array {
  const indices = Uint32Array.from({ length: 20 }, (_, i) => i * 53 + seed);
  const values = mapFloat32({ length: 20 }, (_, i) => ((i % 5) - 2) / (7 + seed));
  return encodeUpdate({ dimension: DIMENSION, indices, values });
}

describe("relay order", () => {
  it("offers the round's members first, then the others, never the skipped peers", () => {
    const peers = ["m1", "m2", "m3", "o1", "o2", "sender", "trainer"].map((name) => ({
      peerId: name,
      operator: `op-${name}`,
    }));
    const members = new Set(["op-m1", "op-m2", "op-m3", "op-trainer"]);
    for (let run = 0; run < 20; run++) {
      const order = relayOrder(peers, members, (p) => p.peerId === "sender" || p.operator === "op-trainer");
      assert.deepEqual([...order.slice(0, 3)].sort(), ["m1", "m2", "m3"]);
      assert.deepEqual([...order.slice(3)].sort(), ["o1", "o2"]);
    }
  });
});

describe("relay budget", () => {
  it("relays each update once and at most the window's bodies; a refund gives one back", () => {
    const budget = new RelayBudget(3, 60_000, 2);
    assert.equal(budget.claim("a"), true);
    assert.equal(budget.claim("a"), false, "an update is relayed once");
    assert.equal(budget.claim("b"), true);
    assert.equal(budget.claim("c"), true, "a third update evicts the oldest remembered");
    assert.equal(budget.claim("a"), true, "a forgotten update may be relayed again");
    assert.equal(budget.take(0), true);
    assert.equal(budget.take(1), true);
    assert.equal(budget.take(2), true);
    assert.equal(budget.take(3), false, "the window's bodies are spent");
    budget.refund();
    assert.equal(budget.take(4), true, "a push that sent no body gave its copy back");
    assert.equal(budget.take(5), false);
    assert.equal(budget.take(60_000), true, "a new window");
  });
});

describe("offering one update", () => {
  const pushes = (outcomes: Record<string, PushOutcome | "fail">) => {
    const asked: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const push = async (peer: string): Promise<PushOutcome> => {
      asked.push(peer);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5 + (peer.charCodeAt(1) % 3)));
      inFlight -= 1;
      const outcome = outcomes[peer] ?? "sent";
      if (outcome === "fail") throw new MeshError("BLOB_REJECTED", "refused");
      return outcome;
    };
    return { push, asked, maxInFlight: () => maxInFlight };
  };

  it("sends `copies` bodies; held and failed peers are passed over", async () => {
    const { push, asked, maxInFlight } = pushes({ p0: "held", p1: "fail", p2: "held" });
    const order = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"];
    const outcome = await offerBlob(push, order, 3, 8);
    assert.deepEqual([...outcome.sent].sort(), ["p3", "p4", "p5"]);
    assert.equal(outcome.held, 2);
    assert.equal(outcome.failed, 1);
    assert.equal(asked.length, 6, "no push after the third body");
    assert.ok(maxInFlight() <= 3);
  });

  it("stops after `tries` pushes, and when the budget is spent", async () => {
    const everyoneHolds = pushes(Object.fromEntries(["a", "b", "c", "d", "e"].map((p) => [p, "held"])));
    const tried = await offerBlob(everyoneHolds.push, ["a", "b", "c", "d", "e"], 3, 4);
    assert.equal(tried.sent.length, 0);
    assert.equal(everyoneHolds.asked.length, 4, "duplicates cost a header each, up to the tries");
    const budget = new RelayBudget(2, 60_000);
    const spent = pushes({});
    const limited = await offerBlob(
      spent.push,
      ["a", "b", "c", "d"],
      3,
      8,
      () => budget.take(),
      () => budget.refund(),
    );
    assert.equal(limited.sent.length, 2, "the window allowed two bodies");
    assert.equal(spent.asked.length, 2);
  });
});

describe("a peer that hands out an update failing its commitment", () => {
  it("is refused and scored; nothing is kept (so nothing is relayed); the true update is kept", async () => {
    const good = updateBytes(1);
    const { commitment } = await commitUpdateBytes(good, DIMENSION);
    const round = { trainers: [TRAINER], commitments: [commitment.root] } as unknown as RoundView;
    const violations: string[] = [];
    const kept: Hex[] = [];
    const ctx = {
      paramSize: DIMENSION,
      chain: { roundForPush: async () => round },
      options: {
        mesh: { reportViolation: (peer: string, kind: string) => violations.push(`${peer}:${kind}`) },
      },
    } as unknown as RoundContext;
    const checking: string[] = [];
    const data = {
      whileChecking: async <T>(sha: string, check: () => Promise<T>) => {
        checking.push(sha);
        return check();
      },
      keepUpdate: (_roundId: bigint, root: Hex) => {
        kept.push(root);
        return "";
      },
    };
    const garbage = updateBytes(2);
    await assert.rejects(
      keepReplica(ctx, data, 1n, TRAINER, garbage, "liar"),
      (error: unknown) => error instanceof MeshError && error.code === "BLOB_REJECTED",
    );
    const junk = new Uint8Array([1, 2, 3, 4, 5]);
    await assert.rejects(keepReplica(ctx, data, 1n, TRAINER, junk, "liar"));
    assert.deepEqual(violations, ["liar:blob-uncommitted", "liar:blob-uncommitted"]);
    assert.equal(kept.length, 0, "no failing bytes kept");
    // A trainer's own replica (no relayer) that fails is refused without scoring it: not a relay.
    await assert.rejects(keepReplica(ctx, data, 1n, TRAINER, garbage));
    assert.equal(violations.length, 2);
    const view = await keepReplica(ctx, data, 1n, TRAINER, good, "honest");
    assert.equal(view, round);
    assert.deepEqual(kept, [commitment.root]);
    assert.equal(checking.length, 4, "every check ran while a duplicate push would be declined");
  });
});
