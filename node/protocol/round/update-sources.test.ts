/**
 * Where a node asks for a trainer's update (aggregation-recovery.ts `orderUpdateSources`): the aggregator's own
 * pull asks the trainer first; a watcher asks a few random admitted peers first (the aggregator's pushes and the
 * other watchers' fetches made them holders), each for a short while, then the trainer and the aggregator.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { orderUpdateSources } from "./aggregation-recovery.ts";

const named = ["trainer", "aggregator"];
const others = Array.from({ length: 20 }, (_, i) => `peer-${i}`);

describe("update sources", () => {
  it("the aggregator's pull asks the trainer, then the aggregator, then every other peer in order", () => {
    const sources = orderUpdateSources(named, others, "owner");
    assert.deepEqual(
      sources.map((s) => s.peer),
      [...named, ...others],
    );
    assert.ok(sources.every((s) => s.timeoutMs === sources[0]!.timeoutMs));
  });

  it("a watcher asks 4 random holders briefly first, then the trainer and the aggregator, then the rest", () => {
    const firsts = new Map<string, number>();
    for (let draw = 0; draw < 400; draw++) {
      const sources = orderUpdateSources(named, others, "holders");
      assert.equal(sources.length, named.length + others.length);
      assert.deepEqual(new Set(sources.map((s) => s.peer)), new Set([...named, ...others]));
      const holders = sources.slice(0, 4);
      assert.ok(holders.every((s) => others.includes(s.peer)));
      assert.deepEqual(
        sources.slice(4, 6).map((s) => s.peer),
        named,
      );
      // A holder that does not answer costs less than the trainer's full deadline.
      assert.ok(holders.every((s) => s.timeoutMs < sources[4]!.timeoutMs));
      firsts.set(sources[0]!.peer, (firsts.get(sources[0]!.peer) ?? 0) + 1);
    }
    // Spread: every peer is asked first now and then (400 draws of 20: 20 on average; a peer never first has odds ~2e-8).
    assert.equal(firsts.size, others.length);
    assert.ok(
      Math.max(...firsts.values()) < 60,
      `one peer asked first ${Math.max(...firsts.values())} times`,
    );
  });

  it("a small mesh: fewer others than the tries asks them all, then the named peers", () => {
    const sources = orderUpdateSources(named, ["a", "b"], "holders");
    assert.deepEqual(new Set(sources.slice(0, 2).map((s) => s.peer)), new Set(["a", "b"]));
    assert.deepEqual(
      sources.slice(2).map((s) => s.peer),
      named,
    );
  });
});
