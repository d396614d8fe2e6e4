/**
 * Which updates of a round another node aggregated a node folds (held-revealed.ts): every committed update it holds,
 * whatever the aggregator's announcement lists. The attacker's case: a colluding aggregator lists a friend's update as
 * not screened ("") to keep its push out of the round's silent memories on every node.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";

import { updatesToFold } from "./held-revealed.ts";
import type { HeldRound } from "./held-revealed.ts";

const TRAINERS = ["0xaa", "0xbb", "0xcc"];
const COMMITMENTS: Hex[] = ["0x01", "0x02", "0x03"];
const bytes = (k: number) => Uint8Array.of(k, k, k);

function round(listed: readonly string[], held: Record<string, Uint8Array>, extra: Partial<HeldRound> = {}) {
  return {
    listed,
    trainers: TRAINERS,
    commitments: COMMITMENTS,
    me: "0xdd",
    committedBytes: (root: string) => held[root],
    ...extra,
  };
}

describe("updatesToFold", () => {
  it("folds a held committed update the aggregator listed as not screened", () => {
    // The aggregator lists 0xbb as "": a node holding 0xbb's replica (checked against its commitment) folds it.
    const folded = updatesToFold(round(["a1", "", "c3"], { "01": bytes(1), "02": bytes(2), "03": bytes(3) }));
    assert.deepEqual(folded, [bytes(1), bytes(2), bytes(3)]);
  });

  it("folds a not-screened update it does not hold as absent, and waits for a listed one it does not hold", () => {
    assert.deepEqual(updatesToFold(round(["a1", "", "c3"], { "01": bytes(1), "03": bytes(3) })), [
      bytes(1),
      undefined,
      bytes(3),
    ]);
    assert.equal(updatesToFold(round(["a1", "b2", "c3"], { "01": bytes(1), "03": bytes(3) })), undefined);
  });

  it("folds this node's own update, listed or not", () => {
    const own = { sha: "mine", bytes: bytes(9) };
    const me = { me: "0xbb", own };
    assert.deepEqual(updatesToFold(round(["a1", "", "c3"], { "01": bytes(1), "03": bytes(3) }, me)), [
      bytes(1),
      bytes(9),
      bytes(3),
    ]);
    assert.deepEqual(updatesToFold(round(["a1", "mine", "c3"], { "01": bytes(1), "03": bytes(3) }, me)), [
      bytes(1),
      bytes(9),
      bytes(3),
    ]);
    // Listed with another hash than its own: not its update as screened, and not held as committed: wait.
    assert.equal(
      updatesToFold(round(["a1", "other", "c3"], { "01": bytes(1), "03": bytes(3) }, me)),
      undefined,
    );
  });

  it("refuses a listing that is not the round's (a wrong length)", () => {
    assert.equal(updatesToFold(round(["a1", "b2"], { "01": bytes(1), "02": bytes(2) })), undefined);
    assert.equal(updatesToFold(round(["a1", "b2", "c3", "d4"], {})), undefined);
  });
});
