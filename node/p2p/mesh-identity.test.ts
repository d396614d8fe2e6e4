/**
 * Issue #19's identity and request floods against a real node on a real chain, with real libp2p peers from
 * distinct loopback prefixes: unstaked identities that answer admission honestly are refused from the local
 * binding mirror without a chain read (a staked newcomer is still admitted at once); the mirror rebuilds
 * after the chain is reset; an operator that rebinds its key never has two admitted peer IDs; openings
 * requests past a peer's rate are refused and charged.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";

import { actionClient, minStake, startLocalNetwork, walletFor } from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { bindPeerId } from "../chain/actions/index.ts";
import { OPENINGS_REQUESTS_PER_PEER, OpeningsService } from "../protocol/openings.ts";
import { BindingMirror } from "./admission/binding-mirror.ts";
import { peerIdBytes } from "./admission/stake-oracle.ts";
import type { Mesh, MeshOptions } from "./mesh.ts";
import { LOOPBACK_HONEST_PROFILE, LOOPBACK_VICTIM_PROFILE, tcpFrom } from "./testing/attackers.ts";
import { startTestMesh, stopMeshesAndChain, testOperator, until } from "./testing/fixtures.ts";
import type { TestOperator } from "./testing/fixtures.ts";

const PORT = 18805;

describe("identity and request floods (real chain, real libp2p)", { timeout: 300_000 }, () => {
  let net: LocalNetwork;
  let stake: bigint;
  const meshes: Mesh[] = [];

  before(async () => {
    net = await startLocalNetwork(PORT);
    stake = await minStake(net);
  });

  after(async () => {
    await stopMeshesAndChain(meshes, net);
  });

  async function start(op: TestOperator, extra: Partial<MeshOptions> = {}): Promise<Mesh> {
    const mesh = await startTestMesh(net, op, {
      eventPollingIntervalMs: 200,
      // A handshake at load 10+ takes seconds; a timed-out one is refused TIMEOUT, not NOT_BOUND.
      admissionTimeoutMs: 15_000,
      ...extra,
    });
    meshes.push(mesh);
    return mesh;
  }
  const victim = async (): Promise<Mesh> =>
    start(await testOperator(net, stake), {
      listen: ["/ip4/127.0.0.1/tcp/0"],
      profile: LOOPBACK_VICTIM_PROFILE,
    });
  const peerFrom = (op: TestOperator, source: string): Promise<Mesh> =>
    start(op, { profile: LOOPBACK_HONEST_PROFILE, transports: [tcpFrom(source)] });

  /** Time until `mesh` is admitted by `target`, dialing again after each refusal like a real node (or Infinity). */
  async function joinMs(mesh: Mesh, target: Mesh, budgetMs: number): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < budgetMs) {
      await mesh.connect(target.multiaddrs()[0]!, AbortSignal.timeout(20_000)).catch(() => undefined);
      if (target.admission.isAdmitted(mesh.peerId)) return performance.now() - started;
      // Refused for a while (a lagging mirror: 5 s): dial again once the refusal is over.
      await until(() => !target.admission.isRefused(mesh.peerId.toString()), budgetMs, "the refusal to end");
    }
    return Number.POSITIVE_INFINITY;
  }

  /** A key nobody bound, claiming a random operator: it answers admission honestly, it just has no stake. */
  const unstaked = async (): Promise<TestOperator> => {
    const key = await generateKeyPair("Ed25519");
    return {
      key,
      peerId: peerIdFromPrivateKey(key).toString(),
      account: privateKeyToAccount(generatePrivateKey()),
    };
  };

  it("unstaked identities are refused from the binding mirror: no chain read, and a staked newcomer gets in", async () => {
    const target = await victim();
    const oracle = target.oracle;
    await until(() => oracle.mirror?.ready === true, 10_000, "the binding mirror's first sync");
    const lookupsBefore = oracle.lookupCount;
    const refusals: string[] = [];
    target.admission.addEventListener("refused", (event) => void refusals.push(event.detail.code));
    // 30 fresh unstaked identities from 6 prefixes, 10 at a time.
    for (let wave = 0; wave < 3; wave++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const attacker = await peerFrom(await unstaked(), `127.${130 + (i % 6)}.0.${1 + wave * 10 + i}`);
          // Each identity dials until the target's verdict reaches it, as a flooder would: at load the previous
          // wave's connections still hold the prefix's unadmitted slots, and the gater turns a dial away unheard.
          const targetId = target.peerId.toString();
          for (
            let attempt = 0;
            attempt < 10 && attacker.admission.remoteRefusal(targetId) === undefined;
            attempt++
          ) {
            await attacker
              .connect(target.multiaddrs()[0]!, AbortSignal.timeout(20_000))
              .catch(() => undefined);
            await until(
              () => attacker.admission.remoteRefusal(targetId) !== undefined,
              5_000,
              "the verdict",
            ).catch(() => undefined);
          }
          await attacker.stop();
        }),
      );
    }
    await until(
      () => refusals.filter((c) => c === "NOT_BOUND").length >= 30,
      120_000,
      "30 NOT_BOUND refusals",
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; refusals: ${refusals.join(",")}`);
    });
    assert.equal(oracle.lookupCount - lookupsBefore, 0, "no chain lookup for an unbound identity");
    assert.ok(oracle.mirrorAnswers >= 30, `${oracle.mirrorAnswers} answers from the mirror`);
    // A staked newcomer, bound just before it dials (the mirror may lag it by one poll: refused for 5 s).
    const newcomer = await peerFrom(await testOperator(net, stake), "127.140.0.1");
    // Within the mirror's short refusal (5 s) plus handshakes on a loaded machine, and well before the minute a
    // refusal for cause (a chain read that found it unbound) would hold it out.
    const joinedMs = await joinMs(newcomer, target, 60_000);
    assert.ok(joinedMs < 45_000, `staked newcomer admitted after ${joinedMs} ms`);
    console.log(
      `# 30 unstaked identities: ${oracle.mirrorAnswers} mirror answers, ${oracle.lookupCount - lookupsBefore} chain lookups; newcomer admitted after ${Math.round(joinedMs)} ms`,
    );
  });

  it("the binding mirror follows binds and rebuilds after the chain is reset", async () => {
    const mirror = new BindingMirror({
      client: net.publicClient,
      registry: net.addresses.registry,
      pollingIntervalMs: 60_000,
    });
    await mirror.poll();
    assert.equal(mirror.resyncs, 1);
    const snapshot = await net.publicClient.request({ method: "evm_snapshot" } as never);
    const op = await testOperator(net, stake);
    await mirror.poll();
    assert.equal(mirror.ownerOf(peerIdBytes(op.peerId))?.toLowerCase(), op.account.address.toLowerCase());
    assert.equal(mirror.resyncs, 1, "new blocks are read incrementally");
    await net.publicClient.request({ method: "evm_revert", params: [snapshot] } as never);
    await mirror.poll();
    assert.equal(mirror.resyncs, 2, "a head below the synced block rebuilds");
    assert.equal(mirror.ownerOf(peerIdBytes(op.peerId)), undefined, "the reverted binding is gone");
  });

  it("an operator that rebinds its key never has two admitted peer IDs", async () => {
    const target = await victim();
    const first = await testOperator(net, stake);
    const old = await peerFrom(first, "127.141.0.1");
    await old.connect(target.multiaddrs()[0]!);
    const operator = first.account.address.toLowerCase();
    let worst = 0;
    target.admission.addEventListener("admitted", () => {
      const count = target.admission.admitted().filter((p) => p.operator.toLowerCase() === operator).length;
      worst = Math.max(worst, count);
    });
    // The operator rotates its node key: binds a new peer ID, and the new node dials at once.
    const key = await generateKeyPair("Ed25519");
    const peerId = peerIdFromPrivateKey(key).toString();
    await bindPeerId(actionClient(net, await walletFor(net, first.account)), { peerId: peerIdBytes(peerId) });
    const rotated = await peerFrom({ key, peerId, account: first.account }, "127.142.0.1");
    assert.ok(Number.isFinite(await joinMs(rotated, target, 15_000)), "the rotated key is admitted");
    assert.equal(worst, 1, "two peer IDs of one operator were admitted at once");
    assert.equal(target.admission.isAdmitted(old.peerId), false);
  });

  it("openings past a peer's rate are refused and charged, before any work", async () => {
    const target = await victim();
    let served = 0;
    await target.register(
      new OpeningsService({
        isAllowed: (peer) => target.admission.isAdmitted(peer),
        provider: async () => {
          served += 1;
          return [];
        },
        onViolation: (peerId, kind) => target.reportViolation(peerId, kind),
      }),
    );
    const spammer = await peerFrom(await testOperator(net, stake), "127.143.0.1");
    await spammer.connect(target.multiaddrs()[0]!);
    const asker = new OpeningsService({ isAllowed: () => true, provider: async () => [] });
    await spammer.register(asker);
    const started = performance.now();
    let refused = 0;
    for (let i = 0; i < 100; i++)
      await asker.request(target.peerId, 1n, 0, AbortSignal.timeout(5_000)).catch(() => (refused += 1));
    const elapsedMs = performance.now() - started;
    const allowed =
      OPENINGS_REQUESTS_PER_PEER.burst + Math.ceil(elapsedMs / OPENINGS_REQUESTS_PER_PEER.intervalMs);
    assert.ok(served <= allowed, `${served} served in ${Math.round(elapsedMs)} ms (allowed ${allowed})`);
    assert.ok(refused >= 100 - allowed, `${refused} refused`);
    assert.ok(target.abuse.points(spammer.peerId.toString()) >= refused / 2, "each refusal is charged");
  });
});
