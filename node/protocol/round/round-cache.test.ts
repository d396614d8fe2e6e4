/**
 * Pushes cost no chain read each (issue #19: one peer's update pushes made 7,048 `getRound` calls in 15 s). The
 * unit tests pin the cache's rules; the flood test runs a real node (mesh + round participant) on a real chain
 * and counts the `getRound` calls at the RPC while an admitted, staked peer that is no trainer pushes updates
 * for the open round and for rounds that do not exist.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { peerIdFromString } from "@libp2p/peer-id";
import pino from "pino";
import { createPublicClient, custom, encodeFunctionData, parseEther } from "viem";
import type { Hex } from "viem";

import { minStake, startLocalNetwork, walletFor } from "../../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../../scripts/support/local-network.ts";
import { createTask, fundTask, openRound } from "../../chain/actions/index.ts";
import { trainingRoundsAbi } from "../../chain/contracts.ts";
import { BLOB_REQUESTS_PER_PEER } from "../../p2p/blobs.ts";
import { MeshError } from "../../p2p/errors.ts";
import type { Mesh } from "../../p2p/mesh.ts";
import { LOOPBACK_HONEST_PROFILE, LOOPBACK_VICTIM_PROFILE, tcpFrom } from "../../p2p/testing/attackers.ts";
import { startTestMesh, testOperator } from "../../p2p/testing/fixtures.ts";
import { taskSpecSchema } from "../task-spec.ts";
import { TrainingPool } from "../../training/pool.ts";
import { RoundParticipant } from "./participant.ts";
import { ROUND_REFRESHES_PER_PEER, RoundCache } from "./round-cache.ts";

const PORT = 18795;

describe("RoundCache", () => {
  it("serves a round that fits from cache, re-reads one that does not, within the requester's budget", async () => {
    let chain = { trainers: ["a"] };
    const cache = new RoundCache(async () => chain, { burst: 2, intervalMs: 60_000 });
    const has = (who: string) => (round: typeof chain) => round.trainers.includes(who);
    assert.deepEqual(await cache.get(1n, "p", has("a")), { trainers: ["a"] });
    assert.deepEqual(await cache.get(1n, "p", has("a")), { trainers: ["a"] });
    assert.equal(cache.reads, 1, "a fitting push costs no read");
    chain = { trainers: ["a", "b"] };
    assert.deepEqual(await cache.get(1n, "q", has("b")), { trainers: ["a", "b"] }, "a new commit is re-read");
    assert.equal(cache.reads, 2);
    // A peer pushing as a trainer it is not: its own budget (2) is spent, then it gets the cached round.
    for (let i = 0; i < 10; i++) assert.equal((await cache.get(1n, "x", has("x"))).trainers.length, 2);
    assert.equal(cache.reads, 4);
    assert.equal(cache.refusedRefreshes, 8);
    // Rounds never read: refused once the budget is spent, nothing read.
    await assert.rejects(
      cache.get(99n, "x", has("x")),
      (e: unknown) => (e as MeshError).code === "RATE_LIMITED",
    );
    assert.equal(cache.reads, 4);
    // Another peer still has its own budget.
    assert.deepEqual(await cache.get(1n, "a-peer", has("a")), { trainers: ["a", "b"] });
  });

  it("shares one read among concurrent pushes and keeps a bounded number of rounds", async () => {
    let reads = 0;
    const cache = new RoundCache(async (id: bigint) => {
      reads += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return { id };
    });
    await Promise.all(Array.from({ length: 20 }, (_, i) => cache.get(5n, `p${i}`, () => true)));
    assert.equal(reads, 1);
    for (let id = 0n; id < 20n; id++) await cache.get(id, `r${id}`, () => true);
    await cache.get(0n, "again", () => true);
    assert.equal(reads, 21, "round 5 was cached; the oldest rounds were dropped and are read again");
  });
});

describe("update push flood against a real node (real chain, real libp2p)", { timeout: 240_000 }, () => {
  let net: LocalNetwork;
  let pool: TrainingPool | undefined;
  const meshes: Mesh[] = [];

  before(async () => {
    net = await startLocalNetwork(PORT);
  });

  after(async () => {
    for (const mesh of meshes) await mesh.stop().catch(() => undefined);
    await pool?.close();
    await net?.stop();
  });

  it("one getRound per phase, not one per push", async () => {
    const stake = await minStake(net);
    const victimOp = await testOperator(net, stake);
    const victim = await startTestMesh(net, victimOp, {
      listen: ["/ip4/127.0.0.1/tcp/0"],
      profile: LOOPBACK_VICTIM_PROFILE,
      eventPollingIntervalMs: 200,
    });
    meshes.push(victim);
    // The node's chain client, counting `getRound` calls at the RPC.
    const selector = encodeFunctionData({
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [0n],
    }).slice(0, 10);
    let getRoundCalls = 0;
    const counted = createPublicClient({
      chain: net.publicClient.chain,
      transport: custom({
        request: async ({ method, params }: { method: string; params: unknown }) => {
          const call = Array.isArray(params) ? (params[0] as { data?: Hex } | undefined) : undefined;
          if (method === "eth_call" && call?.data?.startsWith(selector) === true) getRoundCalls += 1;
          return net.publicClient.request({ method, params } as never);
        },
      }),
    });
    pool = new TrainingPool({ size: 1 });
    const participant = new RoundParticipant({
      mesh: victim,
      publicClient: counted,
      wallet: await walletFor(net, victimOp.account),
      contracts: net.addresses,
      taskId: 1n,
      spec: taskSpecSchema.parse({ model: { kind: "mlp" } }),
      data: {
        features: new Float32Array(0),
        labels: new Uint8Array(0),
        count: 0,
        featureSize: 784,
        classes: 10,
      },
      pool,
      log: pino({ level: "silent" }),
      train: false,
    });
    const treasury = { publicClient: net.publicClient, walletClient: net.deployer, contracts: net.addresses };
    const { taskId } = await createTask(treasury, {
      modelRef: participant.initialModelRef,
      parameters: participant.parameterCount,
      rewardPerRoundWei: parseEther("1"),
      commitWindowS: 600n,
      aggregateWindowS: 600n,
      challengeWindowS: 600n,
      answerWindowS: 600n,
      proven: false,
      roundIntervalS: 0n,
    });
    await fundTask(treasury, { taskId, amountWei: parseEther("10") });
    const { roundId } = await openRound(treasury, { taskId });

    const spammer = await startTestMesh(net, await testOperator(net, stake), {
      profile: LOOPBACK_HONEST_PROFILE,
      transports: [tcpFrom("127.61.0.1")],
    });
    meshes.push(spammer);
    await spammer.connect(victim.multiaddrs()[0]!);
    const before = getRoundCalls;
    const started = performance.now();
    let handled = 0;
    let pushes = 0;
    const target = peerIdFromString(victim.peerId.toString());
    // Sequential pushes at the victim's blob request rate (faster ones are refused before the handler and
    // charged as abuse): the open round (the spammer is no trainer), and rounds that do not exist.
    while (handled < 60 && performance.now() - started < 60_000) {
      pushes += 1;
      const round = pushes % 2 === 0 ? roundId!.toString() : (1_000n + BigInt(pushes)).toString();
      const refusal = await spammer.blobs.push(target, "update", new Uint8Array(64), { round }).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (refusal instanceof MeshError && refusal.code === "BLOB_REJECTED") handled += 1;
      await new Promise((resolve) => setTimeout(resolve, BLOB_REQUESTS_PER_PEER.intervalMs));
    }
    const elapsedMs = performance.now() - started;
    const calls = getRoundCalls - before;
    // At most the spammer's refresh budget: its burst plus one per interval, whatever the pushes.
    const bound = ROUND_REFRESHES_PER_PEER.burst + Math.ceil(elapsedMs / ROUND_REFRESHES_PER_PEER.intervalMs);
    assert.ok(handled >= 60, `${handled} pushes reached the handler in ${Math.round(elapsedMs)} ms`);
    assert.ok(calls <= bound, `${calls} getRound calls for ${handled} handled pushes (bound ${bound})`);
    assert.ok(calls < handled / 2, `${calls} getRound calls for ${handled} handled pushes`);
    console.log(
      `# ${handled} handled pushes (${pushes} sent) in ${Math.round(elapsedMs)} ms: ${calls} getRound calls`,
    );
  });
});
