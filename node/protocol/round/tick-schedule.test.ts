import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import { scheduleTicks } from "./tick-schedule.ts";

/** Lets the schedule's promise callbacks run between two moves of the mocked clock. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("scheduleTicks", () => {
  it("starts the next tick one interval after the last started, or a quarter interval after one that overran", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    try {
      const starts: number[] = [];
      const durations = [200, 1_500, 100, 100];
      const abort = new AbortController();
      scheduleTicks(
        () => {
          starts.push(Date.now());
          const ms = durations[starts.length - 1] ?? 100;
          return new Promise<void>((resolve) => setTimeout(resolve, ms));
        },
        1_000,
        abort.signal,
      );
      for (let t = 0; t < 4_000; t += 50) {
        mock.timers.tick(50);
        await settle();
      }
      // 1,000: first; 2,000: one interval after it; the second took 1,500 ms (ended 3,500): the third starts a
      // quarter interval later (3,750), not at the next whole interval (4,000) or the one after (setInterval).
      assert.deepEqual(starts.slice(0, 3), [1_000, 2_000, 3_750]);
      abort.abort();
      const before = starts.length;
      for (let t = 0; t < 3_000; t += 50) {
        mock.timers.tick(50);
        await settle();
      }
      assert.equal(starts.length, before, "no tick after the abort");
    } finally {
      mock.timers.reset();
    }
  });

  it("goes on after a tick that throws", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    try {
      let calls = 0;
      const abort = new AbortController();
      scheduleTicks(
        () => {
          calls += 1;
          return Promise.reject(new Error("chain down"));
        },
        500,
        abort.signal,
      );
      for (let t = 0; t < 2_000; t += 50) {
        mock.timers.tick(50);
        await settle();
      }
      abort.abort();
      assert.equal(calls, 4);
    } finally {
      mock.timers.reset();
    }
  });
});
