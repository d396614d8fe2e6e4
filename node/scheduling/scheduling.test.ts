import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import { resolveLimits } from "../resources/limits.ts";
import { createChallenge, runAttestation, runBlock, verifyAttestation } from "./attestation.ts";
import {
  attestedCapacity,
  encodeCapacityRecord,
  signCapacityRecord,
  signReceipt,
  verifyCapacityRecord,
} from "./capacity-records.ts";
import { SchedulingError } from "./errors.ts";
import { planFlat, planHierarchy } from "./aggregation-plan.ts";
import { shouldOptInAsAggregator } from "./opt-in.ts";

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

describe("aggregator opt-in", () => {
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
});
