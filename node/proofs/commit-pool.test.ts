/**
 * Commitments off the event loop (commit-pool.ts): a worker's commitment is the one this thread computes, for an
 * update of the MLP's size and for a one-chunk vector; many asked at once each get their own; the pool starts up
 * to its size of workers at once; and an urgent commitment asked after background ones starts before every
 * background one still waiting (first come, first served, it would finish last). Callers asking for one vector
 * share one job (raised to urgent when an urgent caller joins) and later ones are answered from the kept
 * commitments, within their bound.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  COMMIT_MEMO_CHUNKS,
  commitOffThread,
  commitPoolStats,
  commitWorkerCount,
  configureCommitPool,
} from "./commit-pool.ts";
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

/**
 * Asks for four background commitments, then an urgent one, all at once (vectors from `seed` on, not asked
 * before: a kept commitment would answer at once); the order their answers came in.
 */
async function finishOrder(seed: number): Promise<string[]> {
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
      const encoded = randomEncoded(20_000, seed + i);
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
    assert.deepEqual(await finishOrder(100), ["b0", "u", "b1", "b2", "b3"]);
    const after = commitPoolStats().done;
    assert.equal(after.urgent - before.urgent, 1);
    assert.equal(after.background - before.background, 4);
  });

  it("first come, first served (the old single worker) finishes the urgent one last", async () => {
    configureCommitPool({ workers: 1, prioritized: false });
    assert.deepEqual(await finishOrder(200), ["b0", "b1", "b2", "b3", "u"]);
    configureCommitPool({ workers: commitWorkerCount(), prioritized: true });
  });

  it("callers asking for one vector share one job, and later ones get the kept commitment", async () => {
    configureCommitPool({ workers: 2, prioritized: true });
    const encoded = randomEncoded(MLP_PARAMS, 300);
    const before = commitPoolStats();
    // Five nodes of one process recomputing one update: one job; the copies are other arrays of equal values.
    const answers = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => commitEncoded(encoded.slice(), i === 0 ? "urgent" : "background")),
    );
    const after = commitPoolStats();
    assert.equal(after.done.urgent + after.done.background - before.done.urgent - before.done.background, 1);
    assert.equal(after.joined - before.joined, 4);
    const here = await commitEncodedHere(encoded);
    for (const answer of answers) assert.deepEqual(answer, here);
    assert.deepEqual(await commitEncoded(encoded.slice()), here, "asked again: the kept one");
    assert.equal(commitPoolStats().memoHits - after.memoHits, 1);
    // One value changed is another vector: its own job, its own commitment.
    const other = encoded.slice();
    other[MLP_PARAMS - 1] = other[MLP_PARAMS - 1]! ^ 1;
    const changed = await commitEncoded(other);
    assert.notEqual(changed.root, here.root);
    assert.equal(commitPoolStats().memoHits - after.memoHits, 1);
  });

  it("an urgent caller joining a waiting background job moves it ahead of the other background ones", async () => {
    configureCommitPool({ workers: 1, prioritized: true });
    const order: string[] = [];
    const ask = (name: string, seed: number) =>
      commitEncoded(randomEncoded(20_000, seed), "background").then(() => order.push(name));
    // b0 runs; b1..b3 wait; then a round waits on b3's vector.
    const asked = [ask("b0", 400), ask("b1", 401), ask("b2", 402), ask("b3", 403)];
    asked.push(commitEncoded(randomEncoded(20_000, 403), "urgent").then(() => order.push("u")));
    await Promise.all(asked);
    assert.deepEqual(order, ["b0", "b3", "u", "b1", "b2"]);
    configureCommitPool({ workers: commitWorkerCount() });
  });

  it("keeps no more chunks than its bound, the least recently used dropped first", async () => {
    configureCommitPool({ memoChunks: 2 * Math.ceil(20_000 / 64) });
    const [a, b, c] = [500, 501, 502].map((seed) => randomEncoded(20_000, seed));
    for (const encoded of [a, b]) await commitEncoded(encoded!);
    await commitEncoded(a!); // a used last: b is the oldest
    await commitEncoded(c!); // over the bound: b dropped
    const hits = commitPoolStats().memoHits;
    await commitEncoded(a!);
    await commitEncoded(c!);
    assert.equal(commitPoolStats().memoHits - hits, 2, "a and c kept");
    const done = commitPoolStats().done.background;
    await commitEncoded(b!);
    assert.equal(commitPoolStats().done.background - done, 1, "b computed again");
    configureCommitPool({ memoChunks: 0 });
    const none = commitPoolStats().memoHits;
    await commitEncoded(c!);
    assert.equal(commitPoolStats().memoHits - none, 0, "none kept at a bound of 0");
    configureCommitPool({ memoChunks: COMMIT_MEMO_CHUNKS });
  });
});
