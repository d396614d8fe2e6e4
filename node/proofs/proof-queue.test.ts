import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { encodeFixedPoint } from "./fixed-point.ts";
import { ProofQueue } from "./proof-queue.ts";
import { proveChunk } from "./prover.ts";

/** A job the test finishes by hand, recording when it ran and how many ran beside it. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { release, done };
}

describe("ProofQueue: one proof at a time, earliest answer deadline first", () => {
  it("runs queued answers in deadline order, never two at once, work without a deadline last", async () => {
    const queue = new ProofQueue();
    const order: string[] = [];
    let inside = 0;
    let most = 0;
    const job = (name: string) => async () => {
      inside += 1;
      most = Math.max(most, inside);
      order.push(name);
      await new Promise((resolve) => setImmediate(resolve));
      inside -= 1;
      return name;
    };
    const blocker = gate();
    const first = queue.run(() => blocker.done.then(() => "first"), { deadline: 100n });
    // Challenges arrive while a proof runs: in an order that is not their deadlines' (the contract spaces
    // deadlines one window apart, later challenges get later ones, but two tasks' rounds interleave).
    const results = [
      queue.run(job("measure")),
      queue.run(job("due-130"), { deadline: 130n }),
      queue.run(job("due-110"), { deadline: 110n }),
      queue.run(job("due-120"), { deadline: 120n }),
      queue.run(job("due-110-later"), { deadline: 110n }),
    ];
    assert.equal(queue.active, 1);
    assert.equal(queue.queued, 5);
    blocker.release();
    assert.deepEqual(await Promise.all([first, ...results]), [
      "first",
      "measure",
      "due-130",
      "due-110",
      "due-120",
      "due-110-later",
    ]);
    assert.deepEqual(order, ["due-110", "due-110-later", "due-120", "due-130", "measure"]);
    assert.equal(most, 1);
    assert.equal(queue.active + queue.queued, 0);
  });

  it("a job aborted while it waits leaves the queue with the signal's reason; a failed job frees the slot", async () => {
    const queue = new ProofQueue();
    const blocker = gate();
    const held = queue.run(() => blocker.done, { deadline: 1n });
    const controller = new AbortController();
    let ranAborted = false;
    const aborted = queue.run(
      async () => {
        ranAborted = true;
      },
      { deadline: 2n, signal: controller.signal },
    );
    const failing = queue.run(() => Promise.reject(new Error("prover crashed")), { deadline: 3n });
    const after = queue.run(async () => "ran", { deadline: 4n });
    controller.abort(new Error("node stopping"));
    await assert.rejects(aborted, /node stopping/);
    assert.equal(queue.queued, 2);
    blocker.release();
    await held;
    await assert.rejects(failing, /prover crashed/);
    assert.equal(await after, "ran");
    assert.equal(ranAborted, false);
    // Already aborted: refused at once, never queued.
    await assert.rejects(
      queue.run(async () => 1, { signal: AbortSignal.abort(new Error("gone")) }),
      /gone/,
    );
    assert.equal(queue.queued, 0);
    assert.throws(() => new ProofQueue(0), RangeError);
  });

  it("real proofs queued together run one after another, in deadline order", async () => {
    const queue = new ProofQueue();
    const update = encodeFixedPoint(new Float32Array(64).map((_, i) => (i % 7) / 10 - 0.3));
    const spans: { chunk: number; start: number; end: number; proveMs: number }[] = [];
    const prove = (chunk: number, deadline: bigint) =>
      queue.run(
        async () => {
          const start = performance.now();
          const proof = await proveChunk(1n, 0, [update], [3]);
          spans.push({ chunk, start, end: performance.now(), proveMs: proof.proveMs });
        },
        { deadline },
      );
    // Challenges drawn in one block arrive while the slot is busy (here: held until all three are queued).
    const blocker = gate();
    const held = queue.run(() => blocker.done);
    const proofs = [prove(2, 300n), prove(0, 100n), prove(1, 200n)];
    blocker.release();
    await Promise.all([held, ...proofs]);
    assert.deepEqual(
      spans.map((s) => s.chunk),
      [0, 1, 2],
    );
    for (let i = 1; i < spans.length; i++)
      assert.ok(spans[i]!.start >= spans[i - 1]!.end, "no two proofs overlap");
  });
});
