/**
 * Capacity attestation over real libp2p (TCP on 127.0.0.1) between staked, admitted nodes of a real Hardhat
 * chain: an honest prover gets a receipt that verifies and reaches its gossiped capacity record; an over-claimer and
 * a prover answering wrong hashes are caught and lose reputation; garbage and a flood of challenges leave the
 * prover running with bounded work; the low-power profile reduces threads and connections and skips aggregation.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { LocalAccount } from "viem";
import { z } from "zod";

import {
  fundOperator,
  minStake,
  stakeAndBind,
  startLocalNetwork,
} from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { nodeConfigSchema } from "../config/config.ts";
import { ReputationBook } from "../reputation/index.ts";
import type { Operator } from "../reputation/index.ts";
import { CapacityManager } from "../runtime/capacity.ts";
import { runtimeSettings } from "../runtime/limits.ts";
import { resolveLimits } from "../resources/limits.ts";
import { attestationChallengeSchema, challengeSamples, resultHashOf } from "../scheduling/attestation.ts";
import { verifyReceipt } from "../scheduling/capacity-records.ts";
import { TrainingPool } from "../training/pool.ts";
import { peerIdBytes } from "./admission/stake-oracle.ts";
import { ATTEST_PROTOCOL } from "./attest/index.ts";
import type { AttestationOutcome, AttestationServiceInit } from "./attest/index.ts";
import { CAPACITY_TOPIC } from "./capacity-topic.ts";
import { frameStream } from "./frames.ts";
import { Mesh } from "./mesh.ts";
import { LOCAL_SIMULATION_PROFILE } from "./profiles.ts";
import type { MeshProfile } from "./profiles.ts";
import { stopMeshesAndChain } from "./testing/fixtures.ts";

const PORT = 18730;
const log = pino({ level: "silent" });
/** Small challenges keep the test short; the code sizes them the same way for any target. */
const TEST_ATTESTATION: Omit<AttestationServiceInit, "isAllowed" | "privateKey"> = { targetComputeMs: 250 };

interface Op {
  readonly key: PrivateKey;
  readonly peerId: string;
  readonly account: LocalAccount;
  readonly operator: Operator;
}

/**
 * A sweep is skipped while the verifier's own event loop lags (its clock would blame the peer for its stall). On a
 * loaded machine (CI at load 12-20) the loop stayed over the limit for more than 20 s at a time, so the test sweeps
 * as soon as the loop is quiet, within a budget that fits the file's, instead of waiting a fixed time first.
 */
const QUIET_SWEEP_BUDGET_MS = 150_000;

async function sweepWhenQuiet(manager: CapacityManager): Promise<AttestationOutcome | undefined> {
  const deadline = Date.now() + QUIET_SWEEP_BUDGET_MS;
  while (Date.now() < deadline) {
    if (!manager.loopLagging()) {
      const [outcome] = await manager.sweep(1);
      if (outcome !== undefined) return outcome;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the verifier's event loop lagged for ${QUIET_SWEEP_BUDGET_MS} ms: no sweep ran`);
}

/** Waits for an event; the bounds are generous (a loaded machine is slow, not wrong) and only a failure waits them out. */
async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("capacity attestation over the mesh (real chain, real libp2p)", { timeout: 540_000 }, () => {
  let net: LocalNetwork;
  let stake: bigint;
  const meshes: Mesh[] = [];
  const managers: CapacityManager[] = [];

  before(async () => {
    net = await startLocalNetwork(PORT);
    stake = await minStake(net);
  });

  after(async () => {
    await Promise.allSettled(managers.map((m) => m.stop()));
    await stopMeshesAndChain(meshes, net);
  });

  async function operator(): Promise<Op> {
    const key = await generateKeyPair("Ed25519");
    const peerId = peerIdFromPrivateKey(key).toString();
    const account = await fundOperator(net, stake);
    await stakeAndBind(net, account, stake, peerIdBytes(peerId));
    return { key, peerId, account, operator: account.address.toLowerCase() as Operator };
  }

  async function start(
    op: Op,
    attestation: Omit<AttestationServiceInit, "isAllowed" | "privateKey"> = TEST_ATTESTATION,
    profile: MeshProfile = {
      ...LOCAL_SIMULATION_PROFILE,
      services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
    },
  ): Promise<Mesh> {
    const mesh = new Mesh({
      privateKey: op.key,
      operator: op.account.address,
      chain: { client: net.publicClient, chainId: net.chainId, stakeRegistry: net.addresses.registry },
      listen: ["/ip4/127.0.0.1/tcp/0"],
      profile,
      eventPollingIntervalMs: 200,
      admissionTimeoutMs: 3_000,
      attestation,
    });
    await mesh.start();
    meshes.push(mesh);
    return mesh;
  }

  async function link(from: Mesh, to: Mesh): Promise<void> {
    await from.connect(to.multiaddrs()[0]!);
    await until(() => to.admission.isAdmitted(from.peerId), 30_000, "mutual admission");
  }

  function manager(
    mesh: Mesh,
    op: Op,
    reputation = ReputationBook.inMemory(),
    metrics?: Registry,
  ): CapacityManager {
    const m = new CapacityManager({
      metrics,
      mesh,
      reputation,
      limits: resolveLimits({}, { cpus: 2, totalMemoryBytes: 8 * 2 ** 30 }),
      privateKey: op.key,
      operator: op.operator,
      log,
      attest: false,
    });
    managers.push(m);
    return m;
  }

  it("attests an honest peer: the receipt verifies and its gossiped record becomes attested", async () => {
    const proverOp = await operator();
    const verifierOp = await operator();
    // The managers are built after the meshes they read from, as in the runtime.
    const late: { prover?: CapacityManager; verifier?: CapacityManager } = {};
    const prover = await start(proverOp, {
      ...TEST_ATTESTATION,
      claimedSamplesPerSec: () => late.prover?.ownSamplesPerSec(),
    });
    const verifier = await start(verifierOp, {
      ...TEST_ATTESTATION,
      claimOf: (p) => late.verifier?.capacityOf(p)?.claimedSamplesPerSec,
    });
    await link(verifier, prover);
    const reputation = ReputationBook.inMemory();
    const proverManager = manager(prover, proverOp);
    const metrics = new Registry();
    const verifierManager = manager(verifier, verifierOp, reputation, metrics);
    late.prover = proverManager;
    late.verifier = verifierManager;
    await Promise.all([proverManager.start(), verifierManager.start()]);
    await until(
      () =>
        verifier.libp2p.services.pubsub.getSubscribers(CAPACITY_TOPIC).some((p) => p.equals(prover.peerId)) &&
        prover.libp2p.services.pubsub.getSubscribers(CAPACITY_TOPIC).some((p) => p.equals(verifier.peerId)),
      60_000,
      "capacity topic subscriptions",
    );
    // Both records were published before the other subscribed; a re-publish reaches the peer.
    await proverManager.republish();
    await until(() => verifierManager.capacityOf(proverOp.peerId) !== undefined, 60_000, "prover's record");
    assert.equal(verifierManager.capacityOf(proverOp.peerId)?.attested, false);

    const outcome = await sweepWhenQuiet(verifierManager);
    assert.ok(outcome !== undefined && outcome.status === "passed", JSON.stringify(outcome));
    const receipt = await verifyReceipt(outcome.receipt);
    assert.equal(receipt.subject, proverOp.peerId);
    assert.equal(receipt.verifier, verifierOp.peerId);
    assert.equal(receipt.samplesPerSec, outcome.measuredSamplesPerSec);
    assert.ok(outcome.measuredSamplesPerSec > 0 && outcome.rttMs >= 0);
    assert.ok(reputation.score(proverOp.operator) > 0.5, "a passed attestation is good evidence");

    // The prover kept the receipt, re-published its record, and the verifier now sees it attested.
    await until(() => prover.attestation.receipts().length === 1, 30_000, "receipt at the prover");
    await until(
      () => verifierManager.capacityOf(proverOp.peerId)?.attested === true,
      60_000,
      "attested record",
    );
    const seen = verifierManager.capacityOf(proverOp.account.address)!;
    assert.equal(seen.verifiers, 1);
    assert.equal(seen.samplesPerSec, Math.min(receipt.samplesPerSec, seen.claimedSamplesPerSec));
    assert.equal(proverManager.status().receipts, 1);
    const text = await metrics.metrics();
    assert.match(text, /vain_attestations_total\{status="passed"\} 1/);
    assert.match(text, /vain_capacity_own_samples_per_second [1-9]/);
  });

  it("catches a peer that claims 100x its speed and lowers its reputation", async () => {
    const liarOp = await operator();
    const verifierOp = await operator();
    const lie: { claim?: number } = {};
    const liar = await start(liarOp, { ...TEST_ATTESTATION, claimedSamplesPerSec: () => lie.claim });
    // 100x, not 10x: the liar measures itself once, and on a loaded machine (fresh-clone CI, 2026-12-07) that one
    // measurement came out over 3x slower than the verifier's a moment later, so a 10x claim passed as honest.
    const claim = 100 * (await liar.attestation.measureLocal());
    lie.claim = claim;
    const verifier = await start(verifierOp);
    await link(verifier, liar);
    const reputation = ReputationBook.inMemory();
    const verifierManager = manager(verifier, verifierOp, reputation);
    await verifierManager.start();
    const outcome = await sweepWhenQuiet(verifierManager);
    assert.ok(outcome !== undefined && outcome.status === "overclaim", JSON.stringify(outcome));
    assert.equal(outcome.claimedSamplesPerSec, claim);
    assert.ok(outcome.measuredSamplesPerSec * 3 < claim, "the measurement, not the claim, is in the receipt");
    assert.equal(outcome.receipt.samplesPerSec, outcome.measuredSamplesPerSec);
    assert.ok(reputation.score(liarOp.operator) < 0.5, `score ${reputation.score(liarOp.operator)}`);
    assert.equal(reputation.snapshot()[0]?.counts["attestation-overclaim"], 1);
  });

  it("catches a peer answering with a wrong result", async () => {
    const cheatOp = await operator();
    const verifierOp = await operator();
    const cheat = await start(cheatOp);
    // The cheater answers instantly with made-up block hashes (correctly bound into the result hash).
    await cheat.libp2p.unhandle(ATTEST_PROTOCOL);
    await cheat.libp2p.handle(ATTEST_PROTOCOL, async (stream) => {
      const frames = frameStream(stream);
      const signal = AbortSignal.timeout(10_000);
      try {
        const frame = z.union([
          z.object({ type: z.literal("probe"), v: z.literal(1), nonce: z.string() }),
          z.object({ type: z.literal("challenge"), challenge: attestationChallengeSchema }),
        ]);
        let next = await frames.read(frame, signal);
        while (next.type === "probe") {
          await frames.write(next, signal);
          next = await frames.read(frame, signal);
        }
        const { challenge } = next;
        const blockHashes = Array.from({ length: challenge.blocks }, () => randomBytes(32).toString("hex"));
        await frames.write(
          {
            v: 1,
            type: "answer",
            response: {
              seed: challenge.seed,
              blockHashes,
              resultHash: resultHashOf(challenge.seed, blockHashes),
              elapsedMs: 1,
            },
          },
          signal,
        );
        await stream.close();
      } catch {
        stream.abort(new Error("cheater done"));
      }
    });
    const verifier = await start(verifierOp);
    await link(verifier, cheat);
    const reputation = ReputationBook.inMemory();
    const verifierManager = manager(verifier, verifierOp, reputation);
    await verifierManager.start();
    const outcome = await sweepWhenQuiet(verifierManager);
    assert.ok(outcome !== undefined && outcome.status === "wrong-result", JSON.stringify(outcome));
    assert.ok(reputation.score(cheatOp.operator) < 0.3, `score ${reputation.score(cheatOp.operator)}`);
    assert.equal(verifierManager.status().recentAttestations[0]?.status, "wrong-result");
  });

  it("survives garbage and a flood of challenges with bounded work and a responsive event loop", async () => {
    const targetOp = await operator();
    const attackerOp = await operator();
    const honestOp = await operator();
    const target = await start(targetOp, {
      ...TEST_ATTESTATION,
      perPeer: { burst: 2, intervalMs: 60_000 },
      handshakeTimeoutMs: 1_000,
    });
    const attacker = await start(attackerOp);
    const honest = await start(honestOp);
    await link(attacker, target);
    await link(honest, target);

    // A silent stream does not hold one of the few inbound slots: the target drops it after the handshake deadline.
    const silent = await attacker.libp2p.dialProtocol(target.peerId, ATTEST_PROTOCOL);
    await until(() => silent.status !== "open", 30_000, "the silent stream to be dropped");

    // Garbage: not a length prefix, an oversized frame, JSON of the wrong shape, a huge challenge.
    const garbage: Uint8Array[] = [
      randomBytes(64),
      new Uint8Array([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]),
      new TextEncoder().encode('\u0014{"v":1,"type":"nope"}'),
    ];
    for (const bytes of garbage) {
      const stream = await attacker.libp2p.dialProtocol(target.peerId, ATTEST_PROTOCOL);
      stream.send(bytes);
      await stream.close().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A valid probe followed by a challenge asking for 64x the cap of work.
    {
      const stream = await attacker.libp2p.dialProtocol(target.peerId, ATTEST_PROTOCOL);
      const frames = frameStream(stream);
      const signal = AbortSignal.timeout(5_000);
      await frames.write({ v: 1, type: "probe", nonce: randomBytes(16).toString("hex") }, signal);
      await frames.read(z.object({ type: z.string() }).passthrough(), signal);
      const challenge = {
        version: 1,
        seed: randomBytes(32).toString("hex"),
        blocks: 1024,
        blockSamples: 4096,
      };
      await frames.write(
        { v: 1, type: "challenge", challenge: { ...challenge, issuedAtMs: Date.now() } },
        signal,
      );
      const reply = await frames.read(z.object({ type: z.string(), code: z.string().optional() }), signal);
      assert.deepEqual([reply.type, reply.code], ["refused", "CHALLENGE_TOO_LARGE"]);
      assert.ok(challengeSamples({ ...challenge, version: 1, issuedAtMs: 0 }) > 65_536);
    }

    // A flood: 20 attestations at once from the same peer.
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => attacker.attestation.attest(target.peerId)),
    );
    const passed = outcomes.filter((o) => o.status === "passed").length;
    const refused = outcomes.filter((o) => o.status === "refused").length;
    assert.ok(passed <= 2, `at most the per-peer burst is served, got ${passed}`);
    // The rest is refused by the rate limit, or its stream by libp2p's per-protocol inbound stream cap.
    const statuses = JSON.stringify(outcomes.map((o) => o.status));
    assert.ok(refused >= 1, statuses);
    assert.ok(
      outcomes.every((o) => o.status === "passed" || o.status === "refused" || o.status === "unreachable"),
      statuses,
    );
    assert.ok(target.attestation.counters.challengesServed <= 2);
    // Still running: another peer attests it normally, with a ~1 s workload (sized from the target's speed).
    // Both nodes share this process; the work runs in the prover's worker, so the loop never stalls for its length.
    assert.equal(target.libp2p.status, "started");
    const speed = await target.attestation.measureLocal();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const servedBefore = target.attestation.counters.challengesServed;
    const started = performance.now();
    const outcome = await honest.attestation.attest(target.peerId, { expectedSamplesPerSec: speed * 4 });
    const tookMs = performance.now() - started;
    lag.disable();
    assert.equal(outcome.status, "passed", JSON.stringify(outcome));
    // The target ran the workload (its length in ms depends on how busy the machine is between the speed
    // measurement and now: 373 ms to 4 s seen, so it is not asserted), and the loop never stalled for a third of it.
    assert.equal(
      target.attestation.counters.challengesServed,
      servedBefore + 1,
      "the target ran the workload",
    );
    assert.ok(lag.max / 1e6 < tookMs / 3, `event loop stalled ${(lag.max / 1e6).toFixed(0)} ms of ${tookMs}`);
  });

  it("low-power profile: one thread, fewer connections (enforced), small batches, no aggregator opt-in", async () => {
    const host = { cpus: 8, totalMemoryBytes: 16 * 2 ** 30 };
    const standard = runtimeSettings(nodeConfigSchema.parse({ resources: { batchSize: 512 } }), host);
    const lowPower = runtimeSettings(
      nodeConfigSchema.parse({ resources: { profile: "low-power", maxConnections: 4 } }),
      host,
    );
    assert.equal(standard.trainingThreads, 7);
    assert.equal(lowPower.trainingThreads, 1);
    assert.equal(standard.task.train.batchSize, 32, "the task's batch when the limit allows it");
    assert.equal(lowPower.task.train.batchSize, 16);
    assert.equal(lowPower.meshProfile.name, "low-power");
    assert.equal(lowPower.meshProfile.maxConnections, 4);
    assert.ok(lowPower.meshProfile.targetDegree <= 4);
    assert.equal(lowPower.limits.aggregatorDuty, false);
    assert.equal(lowPower.limits.bandwidthBytesPerSec, 2 ** 20);

    // Threads: the training pool the runtime builds has that many workers.
    const pool = new TrainingPool({ size: lowPower.trainingThreads });
    assert.equal(pool.size, 1);
    await pool.close();

    // Connections: a low-power node (cap 4, on loopback) dialled by 7 admitted peers keeps at most 4.
    const smallOp = await operator();
    const small = await start(smallOp, TEST_ATTESTATION, {
      ...LOCAL_SIMULATION_PROFILE,
      services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
      maxConnections: lowPower.meshProfile.maxConnections,
      targetDegree: lowPower.meshProfile.targetDegree,
    });
    const others: Mesh[] = [];
    for (let i = 0; i < 7; i++) others.push(await start(await operator()));
    await Promise.allSettled(
      others.map((o) => o.connect(small.multiaddrs()[0]!, AbortSignal.timeout(8_000))),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(
      small.libp2p.getConnections().length <= 4,
      `low-power node holds ${small.libp2p.getConnections().length} connections`,
    );

    // Bandwidth: the low-power upload budget (1 MiB/s, burst 1 s) paces a 3 MiB blob push to about 2 s.
    const receiver = others[0]!;
    let received = 0;
    receiver.blobs.onBlob("update", (blob) => {
      received = blob.bytes.length;
    });
    const throttledOp = await operator();
    const throttled = new Mesh({
      privateKey: throttledOp.key,
      operator: throttledOp.account.address,
      chain: { client: net.publicClient, chainId: net.chainId, stakeRegistry: net.addresses.registry },
      listen: ["/ip4/127.0.0.1/tcp/0"],
      profile: {
        ...LOCAL_SIMULATION_PROFILE,
        services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
      },
      eventPollingIntervalMs: 200,
      uploadBytesPerSec: lowPower.limits.bandwidthBytesPerSec,
    });
    await throttled.start();
    meshes.push(throttled);
    await link(throttled, receiver);
    const pushStarted = performance.now();
    await throttled.blobs.push(receiver.peerId, "update", new Uint8Array(3 * 2 ** 20));
    const pushMs = performance.now() - pushStarted;
    assert.equal(received, 3 * 2 ** 20);
    assert.ok(pushMs > 1_700, `3 MiB at 1 MiB/s took ${pushMs.toFixed(0)} ms`);

    // Aggregation duty: even a trusted, fast low-power node does not opt in.
    const reputation = ReputationBook.inMemory();
    for (let i = 0; i < 20; i++) reputation.apply({ kind: "update-accepted", operator: smallOp.operator });
    const m = new CapacityManager({
      mesh: small,
      reputation,
      limits: lowPower.limits,
      privateKey: smallOp.key,
      operator: smallOp.operator,
      log,
      attest: false,
    });
    managers.push(m);
    await m.start();
    assert.deepEqual(m.decideAggregatorOptIn(), { optIn: false, reason: "low-power profile" });
    const standardManager = new CapacityManager({
      mesh: small,
      reputation,
      limits: standard.limits,
      privateKey: smallOp.key,
      operator: smallOp.operator,
      log,
      attest: false,
    });
    assert.equal(standardManager.decideAggregatorOptIn().optIn, false, "not measured yet: speed 0");
    standardManager.book.setOwnSamplesPerSec(m.ownSamplesPerSec()!);
    assert.equal(standardManager.decideAggregatorOptIn().optIn, true);
  });
});
