/**
 * A receiver at its connection cap still hears from more senders than the cap (issue #21): a connection dialed
 * only for one transfer is closed once the transfer is acknowledged (`Mesh.transfer`), so the receiver needs as
 * many slots as transfers in flight, not as senders. At 128 nodes a round's aggregator sat at its 64-connection
 * cap with every delivered trainer still connected, and the remaining trainers' dials were closed at the cap
 * (docs/scaling.md, session 11). Real libp2p over TCP on 127.0.0.1, real admission against a Hardhat chain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { minStake, startLocalNetwork } from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { Mesh } from "./mesh.ts";
import type { MeshProfile } from "./profiles.ts";
import { LOCAL_SIMULATION_PROFILE } from "./profiles.ts";
import { stopMeshesAndChain, testOperator } from "./testing/fixtures.ts";

const PORT = 18627;
/** The receiver's connection cap: far below the senders, so holding delivered connections would lock them out. */
const CAP = 3;
const SENDERS = 8;
/**
 * Tries a sender gets (each ends on the ack, a refusal, or the mesh's 5 s reach deadlines): with delivered
 * connections closed, a sender turned away at the cap gets in once a transfer in flight ends.
 */
const ATTEMPTS = 12;
const RETRY_PAUSE_MS = 250;

/** No degree to keep: the only connections are the ones the test makes. */
const PROFILE: MeshProfile = {
  ...LOCAL_SIMULATION_PROFILE,
  targetDegree: 0,
  maxConnections: CAP,
  services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
};

describe(
  "transfers beyond the receiver's connection cap (real chain, real libp2p)",
  { timeout: 300_000 },
  () => {
    let net: LocalNetwork;
    const meshes: Mesh[] = [];

    before(async () => {
      net = await startLocalNetwork(PORT);
    });

    after(async () => {
      await stopMeshesAndChain(meshes, net);
    });

    async function startMesh(listen: string[]): Promise<Mesh> {
      const op = await testOperator(net, await minStake(net));
      const mesh = new Mesh({
        privateKey: op.key,
        operator: op.account.address,
        chain: { client: net.publicClient, chainId: net.chainId, stakeRegistry: net.addresses.registry },
        listen,
        profile: PROFILE,
        eventPollingIntervalMs: 200,
        blobLimits: { update: 1024 * 1024 },
      });
      meshes.push(mesh);
      await mesh.start();
      return mesh;
    }

    it(`${SENDERS} senders deliver to a receiver capped at ${CAP} connections; a neighbour keeps its connection`, async () => {
      const receiver = await startMesh(["/ip4/127.0.0.1/tcp/0"]);
      const received = new Set<string>();
      receiver.blobs.onBlob("update", (blob) => {
        received.add(blob.from);
      });
      const address = receiver.multiaddrs()[0]!.toString();
      const senders: Mesh[] = [];
      for (let i = 0; i < SENDERS; i++) senders.push(await startMesh([]));
      // One sender was the receiver's neighbour before it sent: its connection is not the transfer's to close.
      const neighbour = senders[0]!;
      await neighbour.connect(address);

      const deliver = async (sender: Mesh, index: number): Promise<number> => {
        const bytes = new Uint8Array(64 * 1024).fill(index + 1);
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
          try {
            await sender.transfer(receiver.peerId, [address], () =>
              sender.blobs.push(receiver.peerId, "update", bytes),
            );
            return attempt;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
          }
        }
        return 0;
      };
      const attempts = await Promise.all(senders.map((sender, i) => deliver(sender, i)));

      assert.deepEqual(
        senders.filter((_, i) => attempts[i] === 0).map((s) => s.peerId.toString()),
        [],
        `every sender delivers within ${ATTEMPTS} tries (tries each: ${attempts.join(", ")})`,
      );
      assert.equal(received.size, SENDERS, "the receiver holds every sender's update");
      assert.ok(
        receiver.libp2p.getConnections().length <= CAP,
        `the receiver stays within its cap (${receiver.libp2p.getConnections().length})`,
      );
      for (const sender of senders.slice(1))
        assert.equal(
          sender.libp2p.getConnections(receiver.peerId).length,
          0,
          "a connection dialed only for the transfer is closed once it is acknowledged",
        );
      assert.ok(
        neighbour.libp2p.getConnections(receiver.peerId).length > 0,
        "the neighbour's own connection stays open",
      );
    });

    it("a held peer (its round's group) gets in at the cap in a plain peer's place, and keeps its connection", async () => {
      const receiver = await startMesh(["/ip4/127.0.0.1/tcp/0"]);
      const received = new Set<string>();
      receiver.blobs.onBlob("update", (blob) => {
        received.add(blob.from);
      });
      const address = receiver.multiaddrs()[0]!.toString();
      const plain: Mesh[] = [];
      for (let i = 0; i < CAP; i++) {
        const peer = await startMesh([]);
        await peer.connect(address);
        plain.push(peer);
      }
      assert.equal(receiver.libp2p.getConnections().length, CAP, "the receiver is at its cap");
      // Both ends hold each other, as two members of one small round do (group-links.ts).
      const member = await startMesh([]);
      const until = Date.now() + 60_000;
      receiver.hold(member.peerId, until);
      member.hold(receiver.peerId, until);
      let delivered = false;
      for (let attempt = 1; attempt <= 4 && !delivered; attempt++) {
        try {
          await member.transfer(receiver.peerId, [address], () =>
            member.blobs.push(receiver.peerId, "update", new Uint8Array(1024).fill(7)),
          );
          delivered = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        }
      }
      assert.ok(delivered, `the held member delivers (cap counters ${JSON.stringify(receiver.capCounters)})`);
      assert.equal(receiver.capCounters.evictedForHeld, 1, "one plain peer gave its place");
      assert.ok(receiver.libp2p.getConnections().length <= CAP, "the receiver stays within its cap");
      assert.ok(
        member.libp2p.getConnections(receiver.peerId).length > 0,
        "the held connection stays open after the transfer",
      );
    });
  },
);
