import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { SelectionStep } from "../../chain/draws.ts";
import type { RoundContext } from "./context.ts";
import { Keeper } from "./keeper.ts";
import type { DutyWork } from "./round-work.ts";

const ARGS = [7n, [], "0x01"] as const;

/** A keeper over a chain that answers `steps` in turn (the last one again once used up) and records what it sent. */
function keeperOver(steps: SelectionStep[], accept: (fn: string) => boolean = () => true, tickGapMs = 0) {
  const sent: string[] = [];
  let asked = 0;
  const ctx = {
    options: { dutyBackoffMs: 2_000 },
    me: "0xme",
    chain: {
      nextSelectionStep: async (): Promise<SelectionStep> => steps[Math.min(asked++, steps.length - 1)]!,
      sendIfValid: async (fn: string): Promise<boolean> => {
        sent.push(fn);
        return accept(fn);
      },
    },
    log: { info: () => undefined, debug: () => undefined, warn: () => undefined },
    signal: new AbortController().signal,
  } as unknown as RoundContext;
  const work = { dueSince: new Map<string, number>() } as unknown as DutyWork;
  return { keeper: new Keeper(ctx, () => tickGapMs), sent, work, asked: () => asked };
}

describe("the keeper's selection", () => {
  it("selects in the same call once its own lock's seed block is mined", async () => {
    const k = keeperOver([{ kind: "lock" }, { kind: "wait", seedBlock: 9n }, { kind: "select", args: ARGS }]);
    await k.keeper.selectAggregator(7n, 100n, k.work, 0);
    assert.deepEqual(k.sent, ["lockSelection", "selectAggregator"]);
  });

  it("leaves the selection to a later tick when its lock was not sent", async () => {
    const k = keeperOver([{ kind: "lock" }, { kind: "select", args: ARGS }], (fn) => fn !== "lockSelection");
    await k.keeper.selectAggregator(7n, 100n, k.work, 0);
    assert.deepEqual(k.sent, ["lockSelection"]);
    assert.equal(k.asked(), 1);
  });

  it("stops when the round needs a lock again (another node selected, or it expired)", async () => {
    const k = keeperOver([{ kind: "lock" }, { kind: "lock" }]);
    await k.keeper.selectAggregator(7n, 100n, k.work, 0);
    assert.deepEqual(k.sent, ["lockSelection"]);
  });

  it("a later trainer neither locks nor selects before its back-off", async () => {
    const k = keeperOver([{ kind: "lock" }, { kind: "select", args: ARGS }]);
    await k.keeper.selectAggregator(7n, 100n, k.work, 3);
    assert.deepEqual(k.sent, []);
  });

  it("backs off by its own tick gap when that is longer than the step (no herd of locks)", async () => {
    const slow = keeperOver([{ kind: "lock" }], () => true, 10_000);
    slow.work.dueSince.set("lock", Date.now() - 5_000);
    await slow.keeper.selectAggregator(7n, 100n, slow.work, 1);
    assert.deepEqual(slow.sent, [], "position 1 waits one 10 s tick gap, not one 2 s step");
    const quick = keeperOver([{ kind: "lock" }, { kind: "lock" }], () => true, 0);
    quick.work.dueSince.set("lock", Date.now() - 5_000);
    await quick.keeper.selectAggregator(7n, 100n, quick.work, 1);
    assert.deepEqual(quick.sent, ["lockSelection"], "with quick ticks the 2 s step holds");
    const capped = keeperOver([{ kind: "lock" }, { kind: "lock" }], () => true, 600_000);
    capped.work.dueSince.set("lock", Date.now() - 31_000);
    await capped.keeper.selectAggregator(7n, 100n, capped.work, 1);
    assert.deepEqual(capped.sent, ["lockSelection"], "the step is capped at 30 s");
  });

  it("every duty backs off by the tick gap (the samples' draw herd), a watcher's challenge by the configured step", () => {
    const slow = keeperOver([{ kind: "lock" }], () => true, 10_000);
    for (const duty of ["draw", "finalize", "resolve-3"]) slow.work.dueSince.set(duty, Date.now() - 5_000);
    assert.equal(slow.keeper.dutyDue(slow.work, "draw", 1), false, "position 1 waits one 10 s tick gap");
    assert.equal(slow.keeper.dutyDue(slow.work, "finalize", 1), false);
    assert.equal(slow.keeper.dutyDue(slow.work, "resolve-3", 0), true, "the first trainer acts at once");
    slow.work.dueSince.set("challenge-4", Date.now() - 5_000);
    assert.equal(slow.keeper.dutyDue(slow.work, "challenge-4", 2, "configured"), true, "2 x 2 s have passed");
  });
});
