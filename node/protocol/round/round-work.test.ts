import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ROUNDS_KEPT } from "./context.ts";
import { RoundWorkStore } from "./round-work.ts";

describe("RoundWorkStore keeps the task's newest rounds", () => {
  it("counts the task's own rounds, not round IDs, which every task shares", () => {
    const store = new RoundWorkStore();
    // A parent task's rounds in a network of two groups: its rounds are every few IDs apart.
    const ids = [1n, 6n, 11n, 16n, 21n, 26n, 31n];
    for (const id of ids) store.for(id).posted = true;
    const kept = store.kept().map(([id]) => id);
    assert.equal(kept.length, Number(ROUNDS_KEPT) + 1);
    assert.deepEqual(kept, ids.slice(-(Number(ROUNDS_KEPT) + 1)));
    // The round before the newest is still there with its work (its status row is read after the next opens).
    assert.equal(store.get(26n)?.posted, true);
    assert.equal(store.get(6n), undefined);
  });

  it("an old round touched again (a restart's restore) drops nothing newer", () => {
    const store = new RoundWorkStore();
    for (const id of [10n, 11n, 12n, 13n, 14n]) store.for(id);
    store.for(3n).committed = true;
    assert.deepEqual(
      store.kept().map(([id]) => id),
      [3n, 10n, 11n, 12n, 13n, 14n],
    );
    assert.equal(store.for(3n).committed, true, "the same work, not a fresh one");
    store.for(15n);
    assert.deepEqual(
      store.kept().map(([id]) => id),
      [11n, 12n, 13n, 14n, 15n],
    );
  });
});
