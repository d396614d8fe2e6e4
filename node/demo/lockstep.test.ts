/**
 * The lockstep barrier of rounds driven at once on one chain (lockstep.ts): no driver moves the shared clock
 * before every driver still running reached the same phase, a driver that ends is no longer waited for, and the
 * moves run one at a time (two drivers reading the clock and jumping at once moved it twice).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Lockstep, OpenTurns } from "./lockstep.ts";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("Lockstep", () => {
  it("holds every clock move until all drivers arrived, then runs the moves one at a time", async () => {
    const step = new Lockstep(3);
    const log: string[] = [];
    const move = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
    };
    const a = step.clockMove("commit", move("a"));
    const b = step.clockMove("commit", move("b"));
    await tick();
    assert.deepEqual(log, [], "two of three arrived: nothing moves");
    const c = step.clockMove("commit", move("c"));
    await Promise.all([a, b, c]);
    assert.deepEqual(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
  });

  it("stops waiting for a driver that ended", async () => {
    const step = new Lockstep(2);
    let moved = false;
    const a = step.clockMove("answers", async () => void (moved = true));
    await tick();
    assert.equal(moved, false);
    step.leave();
    await a;
    assert.equal(moved, true);
  });

  it("a failed move does not stop the next one", async () => {
    const step = new Lockstep(2);
    const a = step.clockMove("close", async () => {
      throw new Error("chain down");
    });
    const b = step.clockMove("close", async () => undefined);
    await assert.rejects(a, /chain down/);
    await b;
  });
});

describe("OpenTurns", () => {
  it("hands the turn on in order, once each", async () => {
    const turns = new OpenTurns();
    const order: number[] = [];
    const first = await turns.take();
    const second = turns.take().then((handOn) => (order.push(2), handOn));
    await tick();
    assert.deepEqual(order, [], "the second waits for the first's hand-on");
    first();
    first();
    (await second)();
    assert.deepEqual(order, [2]);
  });
});
