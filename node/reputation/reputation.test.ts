import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { AnomalyDetector } from "../resources/anomaly.ts";
import { StorageError } from "../storage/errors.ts";
import { ReputationBook, ReputationError } from "./book.ts";
import type { Operator } from "./book.ts";
import { DEFAULT_HALF_LIFE_MS } from "./constants.ts";

const A: Operator = "0x00000000000000000000000000000000000000aa";
const B: Operator = "0x00000000000000000000000000000000000000bb";
const C: Operator = "0x00000000000000000000000000000000000000cc";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vain-rep-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ReputationBook", () => {
  it("starts newcomers at 0.5 and orders operators by verified behaviour", () => {
    let t = 0;
    const book = ReputationBook.inMemory({ now: () => t });
    assert.equal(book.score(A), 0.5);
    for (let round = 0; round < 10; round++) {
      t += 60_000;
      book.apply({ kind: "update-accepted", operator: A });
      book.apply({ kind: "update-accepted", operator: B, anomalyScore: 0.5 });
      book.apply({ kind: "update-rejected", operator: C });
    }
    const [a, b, c] = [book.score(A), book.score(B), book.score(C)];
    assert.ok(a > 0.9, `A ${a}`);
    assert.ok(Math.abs(b - 0.5) < 0.01, `B ${b}`);
    assert.ok(c < 0.1, `C ${c}`);
    assert.deepEqual(
      book.snapshot().map((e) => e.operator),
      [A, B, C],
    );
    assert.equal(book.snapshot()[0]!.counts["update-accepted"], 10);
    assert.ok(book.peerScore(A) > 0.8 && book.peerScore(C) < -0.8);
  });

  it("a slash outweighs many good rounds; a proof answered counts for more than an update", () => {
    const book = ReputationBook.inMemory({ now: () => 0 });
    for (let i = 0; i < 10; i++) book.apply({ kind: "update-accepted", operator: A });
    const before = book.score(A);
    book.apply({ kind: "slashed", operator: A, reason: 1 });
    assert.ok(book.score(A) < 0.4, `after slash ${book.score(A)} (before ${before})`);
    book.apply({ kind: "proof-answered", operator: B });
    book.apply({ kind: "update-accepted", operator: C });
    assert.ok(book.score(B) > book.score(C));
    book.apply({ kind: "deadline-missed", operator: C, role: "trainer" });
    assert.ok(book.score(C) < 0.6);
    book.apply({ kind: "proof-failed", operator: B });
    assert.ok(book.score(B) < 0.25);
  });

  it("decays evidence with the half-life: old mistakes fade toward the newcomer prior", () => {
    let t = 0;
    const book = ReputationBook.inMemory({ now: () => t, halfLifeMs: 1000 });
    book.apply({ kind: "update-rejected", operator: A }); // bad = 2 -> 1/4
    assert.equal(book.score(A), 0.25);
    t = 1000; // bad = 1 -> 1/3
    assert.ok(Math.abs(book.score(A) - 1 / 3) < 1e-12);
    t = 50_000;
    assert.ok(Math.abs(book.score(A) - 0.5) < 1e-9);
    assert.equal(book.halfLifeMs, 1000);
    assert.equal(ReputationBook.inMemory().halfLifeMs, DEFAULT_HALF_LIFE_MS);
  });

  it("applies peer anomaly events from the anomaly detector, ignoring host events and unknown peers", () => {
    const book = ReputationBook.inMemory({ now: () => 0 });
    const detector = new AnomalyDetector({ now: () => 0, robust: { minSamples: 5 }, ewma: { warmup: 5 } });
    const applied: boolean[] = [];
    detector.on((e) => applied.push(book.applyAnomaly(e, (peerId) => (peerId === "peerB" ? B : undefined))));
    for (const peerId of ["peerB", "stranger"]) {
      const peer = { kind: "peer", peerId } as const;
      for (let i = 0; i < 10; i++) detector.observe(peer, "updateNorm", 1 + (i % 3) * 0.01);
      detector.observe(peer, "updateNorm", 50);
    }
    for (let i = 0; i < 10; i++) detector.observe({ kind: "host" }, "cpuPercent", 10 + (i % 3));
    detector.observe({ kind: "host" }, "cpuPercent", 99);
    assert.deepEqual(applied, [true, false, false]);
    assert.ok(book.score(B) < 0.5);
    assert.equal(book.snapshot().length, 1);
    assert.equal(book.snapshot()[0]!.counts.anomaly, 1);
  });

  it("rejects malformed events with a typed error", () => {
    const book = ReputationBook.inMemory();
    assert.throws(
      () => book.apply({ kind: "update-rejected", operator: "0x12" as Operator }),
      ReputationError,
    );
    assert.throws(
      () => book.apply({ kind: "update-accepted", operator: A, anomalyScore: 2 }),
      (e: unknown) => e instanceof ReputationError && e.code === "REPUTATION_EVENT_INVALID",
    );
    assert.throws(() => ReputationBook.inMemory({ halfLifeMs: 0 }), ReputationError);
  });

  it("persists across a restart (case-insensitive addresses) and refuses a corrupt file", async () => {
    const file = join(dir, "reputation.json");
    let t = 1_000;
    const book = await ReputationBook.open({ file, now: () => t, noSync: true });
    book.apply({ kind: "slashed", operator: A.toUpperCase().replace("0X", "0x") as Operator, reason: 2 });
    book.apply({ kind: "update-accepted", operator: B });
    await book.flush();
    const reopened = await ReputationBook.open({ file, now: () => t, noSync: true });
    assert.equal(reopened.score(A), book.score(A));
    assert.equal(reopened.score(B), book.score(B));
    assert.equal(reopened.snapshot().find((e) => e.operator === A)?.counts.slashed, 1);
    t += DEFAULT_HALF_LIFE_MS;
    assert.ok(reopened.score(A) > book.score(A, 1_000));
    await writeFile(file, "{broken");
    await assert.rejects(ReputationBook.open({ file }), StorageError);
  });
});
