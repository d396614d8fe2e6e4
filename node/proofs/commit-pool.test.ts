/**
 * Commitments off the event loop (commit-pool.ts): a worker's commitment is the one this thread computes, for an
 * update of the MLP's size and for a one-chunk vector; many asked at once each get their own; the pool starts up
 * to its size of workers at once; and an urgent commitment asked after background ones starts before every
 * background one still waiting (first come, first served, it would finish last).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { commitOffThread, commitPoolStats, commitWorkerCount, configureCommitPool } from "./commit-pool.ts";
import type { CommitPriority } from "./commit-pool.ts";
import { commitEncoded, commitEncodedHere } from "./commitment.ts";

/** Parameters of the task's MLP (the size whose commitment stalled the event loop). */
const MLP_PARAMS = 101_770;

function randomEncoded(length: number, seed: number): Uint16Array {
  const out = new Uint16Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    out[i] = x % 65_536;
  }
  return out;
}

/** Asks for four background commitments, then an urgent one, all at once; the order their answers came in. */
async function finishOrder(): Promise<string[]> {
  const asked: [string, CommitPriority][] = [
    ["b0", "background"],
    ["b1", "background"],
    ["b2", "background"],
    ["b3", "background"],
    ["u", "urgent"],
  ];
  const order: string[] = [];
  await Promise.all(
    asked.map(async ([name, priority], i) => {
      const encoded = randomEncoded(20_000, 10 + i);
      const commitment = await commitEncoded(encoded, priority);
      order.push(name);
      // Same commitment as this thread's, whatever the queue did.
      assert.equal(commitment.root, (await commitEncodedHere(encoded)).root, name);
    }),
  );
  return order;
}

describe("commitments in the commitment pool", () => {
  it("is sized to the cores, bounded", () => {
    assert.equal(commitWorkerCount(1), 1);
    assert.equal(commitWorkerCount(2), 2);
    assert.equal(commitWorkerCount(64), 4);
  });

  it("starts up to its size of workers at once, each answer the caller's", async () => {
    configureCommitPool({ workers: 2, prioritized: true });
    const inputs = [3, 4, 5, 6].map((seed) => randomEncoded(5_000, seed));
    const answers = await Promise.all(inputs.map((encoded) => commitEncoded(encoded, "urgent")));
    for (const [i, encoded] of inputs.entries())
      assert.equal(answers[i]!.root, (await commitEncodedHere(encoded)).root, `input ${i}`);
    assert.equal(new Set(answers.map((a) => a.root)).size, inputs.length);
    assert.equal(commitPoolStats().maxBusy, 2);
    assert.equal(commitPoolStats().spawned, 2);
  });

  it("background jobs leave one worker free for urgent ones (and the event loop its core)", async () => {
    configureCommitPool({ workers: 2, prioritized: true });
    // Both workers are up (the test before started them): starting a worker after one was terminated is not
    // what this measures (and once crashed the process, SIGSEGV, in 1 of 16 runs here).
    await Promise.all([11, 12].map((seed) => commitEncoded(randomEncoded(5_000, seed), "urgent")));
    const before = commitPoolStats().done;
    // Asked together (the pool dispatches as each is asked): b0 takes one worker, b1..b3 wait although the
    // other is idle, and u starts on it at once. First come, two background jobs would hold both workers.
    const asked = [0, 1, 2, 3].map((seed) => commitOffThread(randomEncoded(20_000, 20 + seed), "background"));
    asked.push(commitOffThread(randomEncoded(20_000, 30), "urgent"));
    assert.deepEqual(commitPoolStats().busy, { urgent: 1, background: 1 });
    assert.ok(
      (await Promise.all(asked)).every((c) => c !== undefined),
      "every job answered by a worker",
    );
    assert.equal(commitPoolStats().maxBackgroundBusy, 1, "one background job at a time with two workers");
    assert.equal(commitPoolStats().done.background - before.background, 4);
  });

  it("made smaller while its workers are busy, retires the extra one when its job is done", async () => {
    configureCommitPool({ workers: 2, prioritized: true });
    const jobs = [7, 8].map((seed) => commitEncoded(randomEncoded(5_000, seed), "urgent"));
    assert.equal(commitPoolStats().live, 2, "both workers busy");
    configureCommitPool({ workers: 1 });
    await Promise.all(jobs);
    assert.equal(commitPoolStats().live, 1);
    configureCommitPool({ workers: 2 });
  });

  it("the worker's commitment equals this thread's, for the MLP's size and for one chunk", async () => {
    for (const [length, seed] of [
      [MLP_PARAMS, 1],
      [7, 2],
    ] as const) {
      const encoded = randomEncoded(length, seed);
      const offThread = await commitOffThread(encoded, "urgent");
      assert.ok(offThread !== undefined, "the worker answered");
      assert.deepEqual(offThread, await commitEncodedHere(encoded));
    }
  });

  it("an urgent commitment starts before every background one still waiting", async () => {
    configureCommitPool({ workers: 1, prioritized: true });
    const before = commitPoolStats().done;
    // b0 is in the one worker when the others are asked; u overtakes b1..b3.
    assert.deepEqual(await finishOrder(), ["b0", "u", "b1", "b2", "b3"]);
    const after = commitPoolStats().done;
    assert.equal(after.urgent - before.urgent, 1);
    assert.equal(after.background - before.background, 4);
  });

  it("first come, first served (the old single worker) finishes the urgent one last", async () => {
    configureCommitPool({ workers: 1, prioritized: false });
    assert.deepEqual(await finishOrder(), ["b0", "b1", "b2", "b3", "u"]);
    configureCommitPool({ workers: commitWorkerCount(), prioritized: true });
  });
});
