import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import pino from "pino";

import {
  PROVING_CHECK_INTERVAL_MS,
  PROVING_REMEASURE_INTERVAL_MS,
  ProvingRemeasure,
  type ProvingSubject,
} from "./proving-remeasure.ts";

/** Lets a finished measurement's promise settle (the mocked clock runs no microtasks). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("proving re-measure loop", () => {
  it("measures only while the figure does not fit, at most once per interval, and stops", async () => {
    mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
    try {
      let fits = true;
      let measured = 0;
      const subject: ProvingSubject = {
        canAnswerInTime: () => fits,
        measureProving: () => Promise.resolve(++measured),
      };
      const loop = new ProvingRemeasure(() => subject, pino({ level: "silent" }));
      loop.start();
      mock.timers.tick(10 * PROVING_CHECK_INTERVAL_MS);
      assert.equal(measured, 0, "a node whose proofs fit never proves for nothing");
      fits = false;
      mock.timers.tick(PROVING_CHECK_INTERVAL_MS);
      assert.equal(measured, 1, "measured at the first check that does not fit");
      await settle();
      mock.timers.tick(PROVING_REMEASURE_INTERVAL_MS - 2 * PROVING_CHECK_INTERVAL_MS);
      assert.equal(measured, 1, "not again within the interval");
      mock.timers.tick(2 * PROVING_CHECK_INTERVAL_MS);
      assert.equal(measured, 2, "again after it");
      loop.stop();
      mock.timers.tick(10 * PROVING_REMEASURE_INTERVAL_MS);
      assert.equal(measured, 2, "nothing after stop");
    } finally {
      mock.timers.reset();
    }
  });

  it("survives a failed measurement and a node without a participant yet", async () => {
    mock.timers.enable({ apis: ["setInterval", "Date"], now: 1_000_000 });
    try {
      const node: { participant?: ProvingSubject } = {};
      let calls = 0;
      const loop = new ProvingRemeasure(() => node.participant, pino({ level: "silent" }));
      loop.start();
      mock.timers.tick(PROVING_CHECK_INTERVAL_MS);
      node.participant = {
        canAnswerInTime: () => false,
        measureProving: () => {
          calls++;
          return Promise.reject(new Error("prover crashed"));
        },
      };
      mock.timers.tick(PROVING_CHECK_INTERVAL_MS);
      await settle();
      mock.timers.tick(PROVING_REMEASURE_INTERVAL_MS);
      assert.equal(calls, 2, "a failure does not stop the loop");
      loop.stop();
    } finally {
      mock.timers.reset();
    }
  });
});
