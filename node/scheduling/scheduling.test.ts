import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import { resolveLimits } from "../resources/limits.ts";
import { assignWork, closeRound, deadlineFor, proportionalSplit, rebalance } from "./assign.ts";
import type { Progress } from "./assign.ts";
import { createChallenge, runAttestation, runBlock, verifyAttestation } from "./attestation.ts";
import {
  attestedCapacity,
  encodeCapacityRecord,
  signCapacityRecord,
  signReceipt,
  verifyCapacityRecord,
} from "./capacity.ts";
import { SchedulingError } from "./errors.ts";
import { planFlat, planHierarchy } from "./hierarchy.ts";
import { shouldOptInAsAggregator } from "./opt-in.ts";
import { makeScenario, simulateNaive, simulateWeighted } from "./simulate.ts";

const code = (c: string) => (e: unknown) => e instanceof SchedulingError && e.code === c;

describe("attestation", () => {
  it("is deterministic per seed and differs across seeds and blocks", () => {
    const seed = "ab".repeat(32);
    assert.equal(runBlock(seed, 8, 0), runBlock(seed, 8, 0));
    assert.notEqual(runBlock(seed, 8, 0), runBlock(seed, 8, 1));
    assert.notEqual(runBlock(seed, 8, 0), runBlock("cd".repeat(32), 8, 0));
  });

  it("an honest answer verifies and the speed comes from the verifier's clock", () => {
    const challenge = createChallenge({ blocks: 4, blockSamples: 32 });
    const start = performance.now();
    const response = runAttestation(challenge);
    const observedMs = performance.now() - start;
    const verdict = verifyAttestation(challenge, response, { observedMs, claimedSamplesPerSec: 1 });
    assert.equal(verdict.checkedBlocks, 4);
    assert.ok(Math.abs(verdict.measuredSamplesPerSec - (128 * 1000) / observedMs) < 1e-6);
    assert.equal(verdict.claimConsistent, true);
    const inflated = verifyAttestation(challenge, response, { observedMs, claimedSamplesPerSec: 1e12 });
    assert.equal(inflated.claimConsistent, false);
  });

  it("catches a wrong block, a forged result hash, another seed, a too-fast claim and a stale answer", () => {
    const challenge = createChallenge({ blocks: 3, blockSamples: 8 });
    const good = runAttestation(challenge);
    const forgedBlock = {
      ...good,
      blockHashes: [good.blockHashes[0]!, "00".repeat(32), good.blockHashes[2]!],
    };
    assert.throws(
      () => verifyAttestation(challenge, forgedBlock, { observedMs: 100 }),
      code("ATTESTATION_WRONG_RESULT"),
    );
    assert.throws(
      () => verifyAttestation(challenge, { ...good, resultHash: "11".repeat(32) }, { observedMs: 100 }),
      code("ATTESTATION_WRONG_RESULT"),
    );
    assert.throws(
      () => verifyAttestation(challenge, { ...good, seed: "22".repeat(32) }, { observedMs: 100 }),
      code("ATTESTATION_WRONG_RESULT"),
    );
    assert.throws(
      () => verifyAttestation(challenge, { ...good, elapsedMs: 1000 }, { observedMs: 10 }),
      code("ATTESTATION_TOO_FAST"),
    );
    assert.throws(
      () => verifyAttestation(challenge, good, { observedMs: 100, nowMs: challenge.issuedAtMs + 120_000 }),
      code("ATTESTATION_MALFORMED"),
    );
    assert.throws(
      () => verifyAttestation(challenge, { nope: 1 }, { observedMs: 1 }),
      code("ATTESTATION_MALFORMED"),
    );
  });
});

describe("signed capacity records", () => {
  const claimed = { samplesPerSec: 5000, threads: 2, memoryBytes: 2 ** 30, bandwidthBytesPerSec: 1e7 };

  it("sign → encode → verify round-trips; tampering and expiry are typed errors", async () => {
    const key = await generateKeyPair("Ed25519");
    const record = await signCapacityRecord(key, {
      seq: 1,
      issuedAtMs: 1000,
      claimed,
      aggregatorOptIn: true,
      lowPower: false,
      receipts: [],
    });
    assert.equal(record.peerId, peerIdFromPrivateKey(key).toString());
    const parsed = await verifyCapacityRecord(encodeCapacityRecord(record), 2000);
    assert.deepEqual(parsed, record);
    const tampered = { ...record, claimed: { ...claimed, samplesPerSec: 1e9 } };
    await assert.rejects(verifyCapacityRecord(tampered, 2000), code("CAPACITY_RECORD_BAD_SIGNATURE"));
    const other = await generateKeyPair("Ed25519");
    const stolen = { ...record, peerId: peerIdFromPrivateKey(other).toString() };
    await assert.rejects(verifyCapacityRecord(stolen, 2000), code("CAPACITY_RECORD_BAD_SIGNATURE"));
    await assert.rejects(
      verifyCapacityRecord(record, record.expiresAtMs + 1),
      code("CAPACITY_RECORD_EXPIRED"),
    );
    await assert.rejects(
      verifyCapacityRecord(new TextEncoder().encode("{"), 0),
      code("CAPACITY_RECORD_MALFORMED"),
    );
  });

  it("attested capacity is the median of valid receipts from distinct verifiers, capped by the claim", async () => {
    const node = await generateKeyPair("Ed25519");
    const subject = peerIdFromPrivateKey(node).toString();
    const verifiers = await Promise.all([1, 2, 3].map(() => generateKeyPair("Ed25519")));
    const seed = "ab".repeat(32);
    const resultHash = "cd".repeat(32);
    const receipts = await Promise.all(
      [3000, 4000, 100_000].map((samplesPerSec, i) =>
        signReceipt(verifiers[i]!, { subject, seed, resultHash, samplesPerSec, atMs: 1000 }),
      ),
    );
    const selfReceipt = await signReceipt(node, {
      subject,
      seed,
      resultHash,
      samplesPerSec: 9e9,
      atMs: 1000,
    });
    const forged = { ...receipts[0]!, samplesPerSec: 9e9 };
    const record = await signCapacityRecord(node, {
      seq: 2,
      issuedAtMs: 1000,
      claimed,
      aggregatorOptIn: false,
      lowPower: false,
      receipts: [...receipts, selfReceipt, forged],
    });
    const cap = await attestedCapacity(record, { nowMs: 2000 });
    assert.equal(cap.verifiers, 3);
    assert.equal(cap.samplesPerSec, 4000, "median, not the colluding 100k");
    assert.deepEqual(
      cap.rejected.map((r) => r.reason),
      ["self-attestation", "duplicate verifier"],
    );
    const untrusted = await attestedCapacity(record, { nowMs: 2000, trusted: () => false });
    assert.equal(untrusted.samplesPerSec, 0);
    const stale = await attestedCapacity(record, { nowMs: 1000 + 2 * 24 * 3600 * 1000 });
    assert.equal(stale.samplesPerSec, 0);
    // a forged receipt (changed speed) fails its own signature
    const { signature: _s, peerId: _p, version: _v, ...body } = record;
    const onlyForged = await signCapacityRecord(node, { ...body, seq: 3, receipts: [forged] });
    const c2 = await attestedCapacity(onlyForged, { nowMs: 2000 });
    assert.equal(c2.samplesPerSec, 0);
    assert.match(c2.rejected[0]!.reason, /does not verify/);
    const capped = await signCapacityRecord(node, {
      ...body,
      seq: 4,
      claimed: { ...claimed, samplesPerSec: 3500 },
    });
    assert.equal((await attestedCapacity(capped, { nowMs: 2000 })).samplesPerSec, 3500);
  });
});

describe("work assignment", () => {
  const nodes = [
    { peerId: "fast", samplesPerSec: 4000, reputation: 1 },
    { peerId: "mid", samplesPerSec: 2000, reputation: 1 },
    { peerId: "slow", samplesPerSec: 1000, reputation: 1 },
    { peerId: "untrusted", samplesPerSec: 9000, reputation: 0.1 },
    { peerId: "unmeasured", samplesPerSec: 0, reputation: 1 },
  ];

  it("splits in proportion to speed × reputation and equalises expected time", () => {
    const a = assignWork(nodes, 700, { batchSize: 10, startMs: 0, maxShare: 1, overheadMs: 0, slack: 1 });
    assert.deepEqual(
      a.shares.map((s) => [s.peerId, s.steps]),
      [
        ["fast", 400],
        ["mid", 200],
        ["slow", 100],
      ],
    );
    assert.deepEqual(
      a.excluded.map((e) => e.peerId),
      ["untrusted", "unmeasured"],
    );
    for (const s of a.shares) assert.equal(s.deadlineMs, 1000); // 400 steps at 400 steps/s, etc.
    assert.equal(a.assignedSteps, 700);
    assert.equal(deadlineFor(100, 50, { slack: 2, overheadMs: 500 }), 1500);
    assert.throws(() => deadlineFor(0, 1), code("SCHEDULING_INVALID_INPUT"));
  });

  it("caps any single share and respects a hard deadline", () => {
    const capped = assignWork(nodes, 700, {
      batchSize: 10,
      startMs: 0,
      maxShare: 0.4,
      overheadMs: 0,
      slack: 1,
    });
    assert.ok(capped.shares.every((s) => s.steps <= 280));
    assert.equal(capped.assignedSteps, 700);
    const tight = assignWork(nodes, 700, {
      batchSize: 10,
      startMs: 0,
      deadlineMs: 500,
      overheadMs: 0,
      slack: 1,
      maxShare: 1,
    });
    assert.equal(tight.assignedSteps, 350);
    assert.equal(tight.unassignedSteps, 350);
    assert.ok(tight.shares.every((s) => s.deadlineMs <= 500));
  });

  it("proportionalSplit rounds to the exact total within caps", () => {
    const out = proportionalSplit(10, [1, 1, 1], [10, 10, 10]);
    assert.equal(
      out.reduce((s, v) => s + v, 0),
      10,
    );
    assert.ok(Math.max(...out) - Math.min(...out) <= 1);
    assert.deepEqual(proportionalSplit(10, [5, 1], [2, 100]), [2, 8]);
  });

  it("rebalance moves a leaver's whole share and a straggler's excess to nodes with spare time", () => {
    const a = assignWork(
      [
        { peerId: "a", samplesPerSec: 1000, reputation: 1 },
        { peerId: "b", samplesPerSec: 1000, reputation: 1 },
        { peerId: "c", samplesPerSec: 1000, reputation: 1 },
        { peerId: "d", samplesPerSec: 1000, reputation: 1 },
      ],
      400,
      { batchSize: 10, startMs: 0, overheadMs: 0, slack: 2, maxShare: 1 },
    );
    // each: 100 steps at 100 steps/s, deadline 2000 ms; check at 500 ms
    const progress = new Map<string, Progress>([
      ["a", { stepsDone: 50, atMs: 500 }],
      ["b", { stepsDone: 50, atMs: 500 }],
      ["c", { stepsDone: 10, atMs: 500 }], // straggler: 20 steps/s, 30 more by the deadline
      ["d", { stepsDone: 30, atMs: 500, left: true }],
    ]);
    const r = rebalance(a, progress, 500);
    const steps = Object.fromEntries(r.assignment.shares.map((s) => [s.peerId, s.steps]));
    assert.deepEqual(r.dropped, ["d"]);
    assert.equal(steps["c"], 10 + 30);
    assert.ok(steps["a"]! > 100 && steps["b"]! > 100);
    assert.equal(r.abandonedSteps + r.assignment.assignedSteps, 400);
    assert.equal(
      r.moves.reduce((s, m) => s + m.steps, 0),
      steps["a"]! + steps["b"]! - 200,
    );
    assert.ok(r.moves.every((m) => m.to === "a" || m.to === "b"));
  });

  it("closeRound completes, waits, proceeds with a quorum past the deadline, or fails", () => {
    const a = assignWork(
      [
        { peerId: "a", samplesPerSec: 1000, reputation: 1 },
        { peerId: "b", samplesPerSec: 1000, reputation: 1 },
      ],
      100,
      { batchSize: 10, startMs: 0, overheadMs: 0, slack: 1, maxShare: 1 },
    );
    assert.equal(
      closeRound(
        a,
        new Map([
          ["a", 50],
          ["b", 50],
        ]),
        10,
      ).kind,
      "complete",
    );
    assert.equal(closeRound(a, new Map([["a", 50]]), 100).kind, "wait");
    const late = closeRound(a, new Map([["a", 50]]), a.deadlineMs, 0.5);
    assert.deepEqual(late, { kind: "proceed", receivedFraction: 0.5, stragglers: ["b"] });
    assert.equal(closeRound(a, new Map([["a", 50]]), a.deadlineMs, 0.6).kind, "fail");
    assert.throws(() => closeRound(a, new Map(), 0, 0), code("SCHEDULING_INVALID_INPUT"));
  });
});

describe("hierarchical aggregation", () => {
  const trainers = (n: number) => Array.from({ length: n }, (_, i) => ({ peerId: `t${i}`, rank: n - i }));

  it("bounds every node's fan-in, covers every trainer once, and moves the same bytes as flat", () => {
    for (const n of [10, 100, 1000]) {
      const plan = planHierarchy(trainers(n), { maxFanIn: 16, updateBytes: 1000, seed: "round-1" });
      assert.ok(plan.maxFanIn <= 16, `n=${n} fan-in ${plan.maxFanIn}`);
      assert.equal(plan.parentOf.size, n);
      const level1 = plan.groups.filter((g) => g.level === 1).flatMap((g) => g.members);
      assert.equal(new Set(level1).size, n);
      assert.equal(plan.depth, Math.max(1, Math.ceil(Math.log(n) / Math.log(16))));
      const flat = planFlat(trainers(n), { updateBytes: 1000 });
      assert.equal(flat.maxFanIn, n - 1);
      assert.equal(flat.maxBytesIn, (n - 1) * 1000);
      assert.ok(plan.maxBytesIn <= 16 * 1000);
    }
  });

  it("honours the chain-chosen root, skips ineligible nodes and reshuffles groups per seed", () => {
    const t = trainers(100).map((x, i) => ({ ...x, eligible: i % 2 === 0 }));
    const a = planHierarchy(t, { updateBytes: 10, root: "t99", seed: "s1" });
    assert.equal(a.root, "t99");
    for (const g of a.groups) if (g.aggregator !== "t99") assert.equal(Number(g.aggregator.slice(1)) % 2, 0);
    const b = planHierarchy(t, { updateBytes: 10, root: "t99", seed: "s2" });
    assert.notDeepEqual(a.groups[0]!.members, b.groups[0]!.members);
    assert.throws(() => planHierarchy([], { updateBytes: 1 }), code("SCHEDULING_INVALID_INPUT"));
    assert.throws(() => planHierarchy(t, { updateBytes: 1, maxFanIn: 1 }), code("SCHEDULING_INVALID_INPUT"));
  });
});

describe("aggregator opt-in and round simulation", () => {
  it("volunteers only capable, trusted, non-low-power nodes", () => {
    const host = { cpus: 4, totalMemoryBytes: 8 * 2 ** 30 };
    const base = { reputation: 0.8, samplesPerSec: 1000, meshMedianSamplesPerSec: 1000 };
    assert.equal(shouldOptInAsAggregator({ ...base, limits: resolveLimits({}, host) }).optIn, true);
    assert.equal(
      shouldOptInAsAggregator({ ...base, limits: resolveLimits({ profile: "low-power" }, host) }).optIn,
      false,
    );
    assert.equal(
      shouldOptInAsAggregator({ ...base, reputation: 0.5, limits: resolveLimits({}, host) }).optIn,
      false,
    );
    assert.equal(
      shouldOptInAsAggregator({ ...base, samplesPerSec: 100, limits: resolveLimits({}, host) }).optIn,
      false,
    );
  });

  it("weighted assignment with deadline dropping beats equal shares + wait-for-all", () => {
    const nodes = makeScenario({
      nodes: 20,
      seed: 7,
      medianSamplesPerSec: 2000,
      speedSpread: 0.8,
      attestationNoise: 0.1,
      stragglerFraction: 0.15,
      stragglerFactor: 5,
      leaverFraction: 0.1,
      expectedRoundMs: 30_000,
    });
    const totalSteps = Math.round((nodes.reduce((s, n) => s + n.samplesPerSec, 0) / 32) * 30);
    const o = { totalSteps, batchSize: 32, downloadMs: 1000, uploadMs: 1000, timeoutMs: 300_000 };
    const naive = simulateNaive(nodes, o);
    const weighted = simulateWeighted(nodes, o);
    assert.ok(weighted.roundMs < naive.roundMs / 2, `${weighted.roundMs} vs ${naive.roundMs}`);
    assert.ok(weighted.completedFraction >= 0.6 && !weighted.failed);
  });
});
