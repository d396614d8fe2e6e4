/**
 * Real libp2p nodes over TCP on 127.0.0.1 against a real Hardhat chain: stake-gated admission with
 * reasons on both sides, eviction on unstake, gossip reach, blob streams, PEX discovery, malformed input.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { z } from "zod";

import {
  actionClient,
  minStake,
  requestUnstake,
  stakeAndBind,
  startLocalNetwork,
} from "../../scripts/support/local-network.ts";
import { transferTokens } from "../chain/actions/index.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { ADMISSION_PROTOCOL } from "./admission/admission.ts";
import type { Refusal } from "./admission/admission.ts";
import { BLOB_PUSH_PROTOCOL_V1, sha256 } from "./blobs.ts";
import { MeshError } from "./errors.ts";
import { vainTopic } from "./topics.ts";
import { Mesh } from "./mesh.ts";
import { stopMeshesAndChain, testOperator, until } from "./testing/fixtures.ts";
import type { TestOperator } from "./testing/fixtures.ts";
import { LOCAL_SIMULATION_PROFILE } from "./profiles.ts";

const PORT = 18620;

type Operator = TestOperator;
const operator = testOperator;

async function meshFor(
  net: LocalNetwork,
  op: Operator,
  extra: Partial<ConstructorParameters<typeof Mesh>[0]> = {},
): Promise<Mesh> {
  const mesh = new Mesh({
    privateKey: op.key,
    operator: op.account.address,
    chain: { client: net.publicClient, chainId: net.chainId, stakeRegistry: net.addresses.registry },
    listen: ["/ip4/127.0.0.1/tcp/0"],
    profile: { ...LOCAL_SIMULATION_PROFILE, services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false } },
    eventPollingIntervalMs: 200,
    admissionTimeoutMs: 3_000,
    blobLimits: { update: 16 * 1024 * 1024 },
    ...extra,
  });
  await mesh.start();
  return mesh;
}

function nextRefusal(mesh: Mesh, type: "refused" | "evicted", side: "local" | "remote"): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      mesh.admission.removeEventListener(type, listener);
      reject(new Error(`no ${side} ${type} event within 15 s`));
    }, 15_000);
    const listener = (event: CustomEvent<Refusal>): void => {
      if (event.detail.side !== side) return;
      clearTimeout(timer);
      mesh.admission.removeEventListener(type, listener);
      resolve(event.detail);
    };
    mesh.admission.addEventListener(type, listener);
  });
}

describe(
  "mesh: stake-gated admission, gossip, streams (real chain, real libp2p)",
  { timeout: 240_000 },
  () => {
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

    async function start(op: Operator): Promise<Mesh> {
      const mesh = await meshFor(net, op);
      meshes.push(mesh);
      return mesh;
    }

    it("admits a staked, bound peer on both sides", async () => {
      const a = await start(await operator(net, stake));
      const bOp = await operator(net, stake);
      const b = await start(bOp);
      const remote = await b.connect(a.multiaddrs()[0]!);
      assert.equal(remote.toString(), a.peerId.toString());
      await until(() => a.admission.isAdmitted(b.peerId), 5_000, "a to admit b");
      const seen = a.admission.peer(b.peerId.toString());
      assert.equal(seen?.operator.toLowerCase(), bOp.account.address.toLowerCase());
      assert.ok(b.admission.isAdmitted(a.peerId) && b.admission.isAcceptedBy(a.peerId));
      assert.equal(seen?.activeStake, stake);
    });

    for (const [label, setup, expected] of [
      ["unstaked", (n: LocalNetwork) => operator(n, "none"), "INSUFFICIENT_STAKE"],
      ["under-staked", (n: LocalNetwork) => operator(n, stake - 1n), "INSUFFICIENT_STAKE"],
      ["unbound", (n: LocalNetwork) => operator(n, stake, false), "NOT_BOUND"],
    ] as const) {
      it(`refuses an ${label} peer with ${expected}, and the peer learns why`, async () => {
        const gate = await start(await operator(net, stake));
        const intruder = await start(await setup(net));
        const local = nextRefusal(gate, "refused", "local");
        const remote = nextRefusal(intruder, "refused", "remote");
        await assert.rejects(
          intruder.connect(gate.multiaddrs()[0]!),
          (error: unknown) => error instanceof MeshError,
        );
        assert.equal((await local).code, expected);
        const told = await remote;
        assert.equal(told.code, expected);
        assert.equal(told.peerId, gate.peerId.toString());
        await until(
          () => gate.libp2p.getConnections(intruder.peerId).length === 0,
          5_000,
          "refused connection to close",
        );
        // From now on the gater turns it away before any stream, without asking the chain again.
        const lookups = gate.oracle.lookupCount;
        await intruder.libp2p
          .dial(gate.multiaddrs()[0]!, { signal: AbortSignal.timeout(5_000) })
          .catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(gate.libp2p.getConnections(intruder.peerId).length, 0);
        assert.equal(gate.oracle.lookupCount, lookups);
      });
    }

    it("admits a peer refused for its stake as soon as its operator tops up, not a refusal (60 s) later", async () => {
      const gate = await start(await operator(net, stake));
      const op = await operator(net, stake - 1n);
      const intruder = await start(op);
      const local = nextRefusal(gate, "refused", "local");
      await assert.rejects(intruder.connect(gate.multiaddrs()[0]!), (e: unknown) => e instanceof MeshError);
      assert.equal((await local).code, "INSUFFICIENT_STAKE");
      assert.ok(gate.admission.isRefused(intruder.peerId.toString()));
      // The operator stakes the missing wei, as an operator tops up after a slash: the gate hears the registry's
      // event (its mirror polls every 200 ms here) and lifts the refusal; its TTL would hold it for 60 s.
      await transferTokens(actionClient(net, net.deployer), { to: op.account.address, amountWei: 1n });
      await stakeAndBind(net, op.account, 1n);
      // The set-up's own events (bind, first stake) came before the refused read and lift nothing (the test above);
      // the top-up's does. The intruder dials whenever the gate does not refuse it.
      const deadline = Date.now() + 15_000;
      while (!gate.admission.isAdmitted(intruder.peerId)) {
        assert.ok(Date.now() < deadline, "admitted within 15 s of the top-up");
        if (!gate.admission.isRefused(intruder.peerId.toString()))
          await intruder.connect(gate.multiaddrs()[0]!).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

    it("refuses a peer whose ID is bound to a different operator than it claims", async () => {
      const gate = await start(await operator(net, stake));
      const honest = await operator(net, stake);
      const liar = await operator(net, stake, false);
      // An unbound key claiming a staked operator is NOT_BOUND.
      const mesh = await meshFor(net, { ...liar, account: honest.account });
      meshes.push(mesh);
      const local = nextRefusal(gate, "refused", "local");
      await assert.rejects(mesh.connect(gate.multiaddrs()[0]!));
      assert.equal((await local).code, "NOT_BOUND");
      // A key bound to one operator claiming another is WRONG_OPERATOR.
      const other = await operator(net, stake);
      const impostor = await meshFor(net, { ...honest, account: other.account });
      meshes.push(impostor);
      const second = nextRefusal(gate, "refused", "local");
      await assert.rejects(impostor.connect(gate.multiaddrs()[0]!));
      assert.equal((await second).code, "WRONG_OPERATOR");
    });

    it("disconnects a peer within seconds after it unstakes", async () => {
      const a = await start(await operator(net, stake));
      const leaverOp = await operator(net, stake);
      const leaver = await start(leaverOp);
      await leaver.connect(a.multiaddrs()[0]!);
      await until(() => a.admission.isAdmitted(leaver.peerId), 5_000, "admission");
      const evicted = nextRefusal(a, "evicted", "local");
      const started = Date.now();
      await requestUnstake(net, leaverOp.account, 1n);
      const refusal = await evicted;
      assert.equal(refusal.code, "REVOKED");
      await until(
        () => a.libp2p.getConnections(leaver.peerId).length === 0,
        5_000,
        "eviction to close the connection",
      );
      assert.ok(Date.now() - started < 5_000, `evicted after ${Date.now() - started} ms`);
    });

    it("gossip reaches every admitted node and no unadmitted one; PEX finds peers not bootstrapped", async () => {
      const hub = await start(await operator(net, stake));
      const members = [hub];
      for (let i = 0; i < 4; i++) {
        const member = await start(await operator(net, stake));
        await member.connect(hub.multiaddrs()[0]!);
        members.push(member);
      }
      const outsider = await start(await operator(net, "none"));
      await assert.rejects(outsider.connect(hub.multiaddrs()[0]!));
      const topic = vainTopic("test-announce");
      const schema = z.object({ n: z.number() });
      const received = new Map<string, number[]>();
      for (const mesh of [...members, outsider]) {
        received.set(mesh.peerId.toString(), []);
        mesh.gossip.subscribe(topic, schema, (message) => {
          received.get(mesh.peerId.toString())!.push(message.body.n);
        });
      }
      // PEX: members only know the hub; maintenance asks it for the others.
      const last = members[members.length - 1]!;
      await last.maintain();
      await until(() => last.admission.admitted().length >= 3, 10_000, "PEX to add peers");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await members[1]!.gossip.publish(topic, { n: 7 });
      await until(
        () =>
          members
            .filter((m) => m !== members[1])
            .every((m) => received.get(m.peerId.toString())!.includes(7)),
        10_000,
        "gossip to reach every member",
      );
      assert.deepEqual(received.get(outsider.peerId.toString()), []);
    });

    it("maintenance fills the target degree from PEX and stops there (pending dials count)", async () => {
      const quiet = {
        ...LOCAL_SIMULATION_PROFILE,
        services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
        // The others never dial on their own, so every connection of the newcomer is one it made.
        maintenanceIntervalMs: 600_000,
      };
      const others: Mesh[] = [];
      for (let i = 0; i < 6; i++) {
        const mesh = await meshFor(net, await operator(net, stake), { profile: quiet });
        meshes.push(mesh);
        others.push(mesh);
      }
      const [hub, ...members] = others as [Mesh, ...Mesh[]];
      for (const member of members) await member.connect(hub.multiaddrs()[0]!);
      const targetDegree = 3;
      const newcomer = await meshFor(net, await operator(net, stake), {
        profile: { ...quiet, targetDegree, maintenanceIntervalMs: 500 },
      });
      meshes.push(newcomer);
      await newcomer.connect(hub.multiaddrs()[0]!);
      // The hub's PEX answer names 5 peers, each a `peer:discovery` event: only 2 more may be dialed.
      await until(() => newcomer.admission.admitted().length >= targetDegree, 10_000, "degree to fill");
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal(newcomer.libp2p.getPeers().length, targetDegree);
    });

    it("keeps better-reputed neighbours: above its degree a node drops a badly reputed peer", async () => {
      const quiet = {
        ...LOCAL_SIMULATION_PROFILE,
        services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
        maintenanceIntervalMs: 600_000,
      };
      const peers: Mesh[] = [];
      const operators: Operator[] = [];
      for (let i = 0; i < 3; i++) {
        const op = await operator(net, stake);
        operators.push(op);
        const mesh = await meshFor(net, op, { profile: quiet });
        meshes.push(mesh);
        peers.push(mesh);
      }
      const bad = operators[1]!.account.address.toLowerCase();
      const node = await meshFor(net, await operator(net, stake), {
        profile: { ...quiet, targetDegree: 2 },
        peerRank: (op) => (op.toLowerCase() === bad ? 0.1 : 0.9),
      });
      meshes.push(node);
      for (const peer of peers) await node.connect(peer.multiaddrs()[0]!);
      assert.equal(node.libp2p.getPeers().length, 3);
      await node.maintain();
      await until(() => node.libp2p.getPeers().length === 2, 5_000, "the degree to drop to its target");
      const kept = node.libp2p.getPeers().map((p) => p.toString());
      assert.deepEqual(kept.sort(), [operators[0]!.peerId, operators[2]!.peerId].sort());
    });

    it("the DHT finds an admitted peer this node was never told about", async () => {
      const withDht = async (op: Operator): Promise<Mesh> => {
        const mesh = await meshFor(net, op, { profile: LOCAL_SIMULATION_PROFILE });
        meshes.push(mesh);
        return mesh;
      };
      const middle = await withDht(await operator(net, stake));
      const left = await withDht(await operator(net, stake));
      const right = await withDht(await operator(net, stake));
      await left.connect(middle.multiaddrs()[0]!);
      await right.connect(middle.multiaddrs()[0]!);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const found = await right.libp2p.peerRouting.findPeer(left.peerId, {
        signal: AbortSignal.timeout(20_000),
      });
      assert.ok(found.multiaddrs.length > 0);
      await right.connect(found.multiaddrs[0]!.encapsulate(`/p2p/${left.peerId.toString()}`));
      assert.ok(right.admission.isAdmitted(left.peerId));
    });

    it("admits a peer reached through a circuit relay (the path NATed nodes use)", async () => {
      const relayMesh = await meshFor(net, await operator(net, stake), { relayServer: true });
      meshes.push(relayMesh);
      const hidden = await meshFor(net, await operator(net, stake), {
        listen: [`${relayMesh.multiaddrs()[0]!.toString()}/p2p-circuit`],
      });
      meshes.push(hidden);
      await until(
        () => hidden.multiaddrs().some((m) => m.toString().includes("/p2p-circuit")),
        15_000,
        "a relay reservation",
      );
      const visitor = await start(await operator(net, stake));
      const circuit = hidden.multiaddrs().find((m) => m.toString().includes("/p2p-circuit"))!;
      const peer = await visitor.connect(circuit);
      assert.equal(peer.toString(), hidden.peerId.toString());
      const connection = visitor.libp2p.getConnections(hidden.peerId)[0]!;
      assert.match(connection.remoteAddr.toString(), /p2p-circuit/);
      assert.ok(hidden.admission.isAdmitted(visitor.peerId));
    });

    it("carries a 10 MB update intact and rejects oversized, corrupted and unknown-kind blobs without harm", async () => {
      const receiver = await start(await operator(net, stake));
      const sender = await start(await operator(net, stake));
      const peer = await sender.connect(receiver.multiaddrs()[0]!);
      await until(() => receiver.admission.isAdmitted(sender.peerId), 5_000, "admission");
      const got: Uint8Array[] = [];
      receiver.blobs.onBlob("update", (blob) => {
        got.push(blob.bytes);
      });
      const payload = new Uint8Array(10 * 1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
      await sender.blobs.push(peer, "update", payload, { round: 1 });
      assert.equal(got.length, 1);
      assert.equal(sha256(got[0]!), sha256(payload));

      // Oversized: the sender's own limit and the receiver's limit both refuse.
      await assert.rejects(
        sender.blobs.push(peer, "update", new Uint8Array(17 * 1024 * 1024)),
        /BLOB_TOO_LARGE|exceeds/,
      );
      // Raw protocol abuse (push 1.0.0, body unasked; 2.0.0's in blob-held.test.ts): header lies about the hash,
      // then about the size, then garbage.
      const abuse = async (frames: Uint8Array[], body?: Uint8Array): Promise<string> => {
        const stream = await sender.libp2p.dialProtocol(peer, BLOB_PUSH_PROTOCOL_V1);
        const lp = lpStream(stream);
        for (const frame of frames) await lp.write(frame);
        if (body !== undefined) stream.send(body);
        await stream.close();
        try {
          return new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(5_000) })).subarray());
        } catch (error) {
          return `closed: ${(error as Error).name}`;
        }
      };
      const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
      const body = new Uint8Array(1000).fill(1);
      assert.match(
        await abuse([json({ v: 1, kind: "update", size: 1000, sha256: "0".repeat(64) })], body),
        /BLOB_HASH_MISMATCH/,
      );
      assert.match(
        await abuse([json({ v: 1, kind: "update", size: 2 ** 40, sha256: "0".repeat(64) })]),
        /BLOB_TOO_LARGE/,
      );
      assert.match(
        await abuse([json({ v: 1, kind: "model", size: 10, sha256: "0".repeat(64) })]),
        /BLOB_REJECTED/,
      );
      assert.match(await abuse([new Uint8Array([0xff, 0x00, 0x13])]), /FRAME_MALFORMED/);
      assert.match(
        await abuse(
          [json({ v: 1, kind: "update", size: 5000, sha256: sha256(new Uint8Array(5000)) })],
          new Uint8Array(100),
        ),
        /STREAM_TRUNCATED|closed/,
      );
      assert.equal(got.length, 1);
      // Still healthy afterwards.
      await sender.blobs.push(peer, "update", payload.subarray(0, 1024));
      assert.equal(got.length, 2);
    });

    it("fetches blobs of every size by hash or commitment, whole or not at all", async () => {
      const server = await start(await operator(net, stake));
      const client = await start(await operator(net, stake));
      const peer = await client.connect(server.multiaddrs()[0]!);
      await until(() => server.admission.isAdmitted(client.peerId), 5_000, "admission");
      const held = new Map<string, Uint8Array>();
      server.blobs.serve(async (hash) => held.get(hash));
      // Small blobs arrive with their header in one read and the server closes at once: the case that used to
      // fail with StreamStateError. Large ones span many reads.
      for (const size of [0, 1, 100, 64 * 1024, 5 * 1024 * 1024]) {
        const blob = new Uint8Array(size);
        for (let i = 0; i < size; i++) blob[i] = (i * 2654435761 + size) >>> 24;
        const hash = sha256(blob);
        held.set(hash, blob);
        const fetched = await client.blobs.fetch(peer, hash, size);
        assert.equal(fetched.length, size, `size ${size}`);
        assert.equal(sha256(fetched), hash, `size ${size}`);
      }
      const code = (expected: string) => (error: unknown) => (error as { code?: string }).code === expected;
      await assert.rejects(client.blobs.fetch(peer, "ab".repeat(32), 1024), code("BLOB_NOT_FOUND"));
      const big = new Uint8Array(2048).fill(7);
      held.set(sha256(big), big);
      await assert.rejects(client.blobs.fetch(peer, sha256(big), 1024), code("BLOB_TOO_LARGE"));
      // A server that answers a hash with other bytes is caught by the fetcher.
      held.set("cd".repeat(32), big);
      await assert.rejects(client.blobs.fetch(peer, "cd".repeat(32), 4096), code("BLOB_HASH_MISMATCH"));
      // By commitment root (an aggregator that lost its content hashes): served as held, checked by the caller.
      const root = "ef".repeat(32);
      server.blobs.serveCommitted((wanted) => (wanted === root ? big : undefined));
      assert.deepEqual(await client.blobs.fetchCommitted(peer, root, 4096), big);
      await assert.rejects(client.blobs.fetchCommitted(peer, "01".repeat(32), 4096), code("BLOB_NOT_FOUND"));
      await assert.rejects(client.blobs.fetchCommitted(peer, root, 1024), code("BLOB_TOO_LARGE"));
    });

    it("survives malformed admission input: random bytes and a 2^40 length prefix", async () => {
      const gate = await start(await operator(net, stake));
      const prober = await start(await operator(net, "none"));
      const refused: string[] = [];
      gate.admission.addEventListener("refused", (event) => refused.push(event.detail.code));
      const target = gate.multiaddrs()[0]!;
      const connection = await prober.libp2p.dial(target);
      // Random bytes and a length prefix of 2^40 on the admission protocol.
      for (const bytes of [
        crypto.getRandomValues(new Uint8Array(64)),
        new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]),
      ]) {
        const stream = await connection.newStream(ADMISSION_PROTOCOL).catch(() => undefined);
        if (stream === undefined) break;
        stream.send(bytes);
        await stream.close().catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The gate is alive and admits a proper peer afterwards.
      const good = await start(await operator(net, stake));
      await good.connect(target);
      assert.ok(gate.admission.isAdmitted(good.peerId));
      assert.ok(refused.length >= 1);
      assert.equal(multiaddr(target.toString()).toString(), target.toString());
    });
  },
);
