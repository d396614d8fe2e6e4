/**
 * Admission against a peer that leaves while its verdict is being decided (real chain, real libp2p on 127.0.0.1).
 * The verifier's stake lookup is held until the peer's connection is gone, so the order the fresh-clone CI hit by
 * chance (2026-12-06: a verdict finished after `peer:disconnect`, leaving an "admitted" record with no connection,
 * and one trainer failed all 12 deliveries to that aggregator) happens every run.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { peerIdFromString } from "@libp2p/peer-id";

import { minStake, startLocalNetwork } from "../../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../../scripts/support/local-network.ts";
import type { Mesh } from "../mesh.ts";
import { LOCAL_SIMULATION_PROFILE } from "../profiles.ts";
import { startTestMesh, stopMeshesAndChain, testOperator, until } from "../testing/fixtures.ts";
import type { TestOperator } from "../testing/fixtures.ts";

const PORT = 18636;
/** Generous: the machine may be loaded; every wait below ends on an event, not on this bound. */
const WAIT_MS = 30_000;

/** Holds `verifier`'s stake lookups of `peerId` until `release()` is called. */
function holdLookups(verifier: Mesh, peerId: string): { reached: () => boolean; release: () => void } {
  const standing = verifier.oracle.standing.bind(verifier.oracle);
  let reached = false;
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  verifier.oracle.standing = async (peer: string) => {
    if (peer === peerId) {
      reached = true;
      await held;
    }
    return standing(peer);
  };
  return { reached: () => reached, release };
}

describe("admission when the peer leaves during its check", { timeout: 180_000 }, () => {
  let net: LocalNetwork;
  let stake: bigint;
  const meshes: Mesh[] = [];
  // No mDNS (other tests' and other checkouts' nodes on this host would dial in) and no DHT: just the two nodes.
  const listen = {
    listen: ["/ip4/127.0.0.1/tcp/0"],
    admissionTimeoutMs: 20_000,
    profile: { ...LOCAL_SIMULATION_PROFILE, services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false } },
  };

  before(async () => {
    net = await startLocalNetwork(PORT);
    stake = await minStake(net);
  });
  after(async () => {
    await stopMeshesAndChain(meshes, net);
  });

  async function pair(): Promise<{ verifier: Mesh; peer: Mesh; peerOp: TestOperator }> {
    const verifier = await startTestMesh(net, await testOperator(net, stake), listen);
    const peerOp = await testOperator(net, stake);
    const peer = await startTestMesh(net, peerOp, listen);
    meshes.push(verifier, peer);
    return { verifier, peer, peerOp };
  }

  it("records no admission for a peer gone before its verdict, and admits it afresh when it returns", async () => {
    const { verifier, peer, peerOp } = await pair();
    const hold = holdLookups(verifier, peerOp.peerId);
    const verifierId = verifier.peerId;
    await peer.libp2p.dial(verifier.multiaddrs()[0]!);
    await until(hold.reached, WAIT_MS, "the verifier's stake lookup of the peer");

    await peer.libp2p.hangUp(verifierId);
    const peerId = peerIdFromString(peerOp.peerId);
    await until(
      () => verifier.libp2p.getConnections(peerId).length === 0,
      WAIT_MS,
      "the verifier to see it leave",
    );
    hold.release();
    await until(() => !verifier.admission.isPending(peerOp.peerId), WAIT_MS, "the held check to end");
    assert.equal(verifier.admission.isAdmitted(peerOp.peerId), false, "no record without a connection");

    // It comes back: the verifier checks it afresh (no stale record skips the check) and both sides admit.
    await peer.reach(verifierId, verifier.multiaddrs().map(String), AbortSignal.timeout(WAIT_MS));
    await until(() => verifier.admission.isAdmitted(peerOp.peerId), WAIT_MS, "the verifier to admit it");
    assert.ok(verifier.libp2p.getConnections(peerId).length > 0);
  });

  it("admits a peer whose checked connection closed while another of its connections stays open", async () => {
    const { verifier, peer, peerOp } = await pair();
    const hold = holdLookups(verifier, peerOp.peerId);
    const address = verifier.multiaddrs()[0]!;
    const checked = await peer.libp2p.dial(address);
    await until(hold.reached, WAIT_MS, "the verifier's stake lookup of the peer");
    // A second connection (as when both sides dial at once): the verifier does not check it twice.
    const second = await peer.libp2p.dial(address, { force: true });
    const peerId = peerIdFromString(peerOp.peerId);
    await until(() => verifier.libp2p.getConnections(peerId).length === 2, WAIT_MS, "both connections");

    await checked.close();
    await until(
      () => verifier.libp2p.getConnections(peerId).length === 1,
      WAIT_MS,
      "the checked one to close",
    );
    hold.release();
    await until(() => !verifier.admission.isPending(peerOp.peerId), WAIT_MS, "the held check to end");
    assert.equal(verifier.admission.isAdmitted(peerOp.peerId), true, "the peer is still connected");
    assert.equal(second.status, "open", "its remaining connection is kept, not cut by the admission timer");
  });
});
