import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { SelectionStep } from "../../chain/draws.ts";
import type { RoundContext } from "./context.ts";
import { Keeper } from "./keeper.ts";
import type { DutyWork } from "./round-work.ts";

const ARGS = [7n, [], "0x01"] as const;

/** A keeper over a chain that answers `steps` in turn (the last one again once used up) and records what it sent. */
function keeperOver(steps: SelectionStep[], accept: (fn: string) => boolean = () => true) {
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
  return { keeper: new Keeper(ctx), sent, work, asked: () => asked };
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
});
