/**
 * Push 2.0.0 (node/p2p/blobs.ts) between real libp2p nodes over TCP on 127.0.0.1, admitted on a real Hardhat
 * chain: the receiver answers the header before a body byte moves, so a late push of a blob it already holds
 * (a watcher that fetched an update itself, #22) costs no body bytes, and refusals cost none either. Push 1.0.0
 * (body right after the header) is still spoken both ways.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { lpStream } from "@libp2p/utils";
import type { PeerId } from "@libp2p/interface";

import { minStake, startLocalNetwork } from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { BLOB_PUSH_PROTOCOL, sha256 } from "./blobs.ts";
import type { Mesh } from "./mesh.ts";
import { LOCAL_SIMULATION_PROFILE } from "./profiles.ts";
import { startTestMesh, stopMeshesAndChain, testOperator, until } from "./testing/fixtures.ts";

const PORT = 18947;

function payload(size: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = ((i + salt) * 2654435761) >>> 24;
  return bytes;
}

describe(
  "blob push 2.0.0: held blobs and refusals move no body bytes (real chain, real libp2p)",
  { timeout: 120_000 },
  () => {
    let net: LocalNetwork;
    const meshes: Mesh[] = [];
    let sender: Mesh;
    let receiver: Mesh;
    let peer: PeerId;
    const got: Uint8Array[] = [];
    const held = new Set<string>();

    before(async () => {
      net = await startLocalNetwork(PORT);
      const stake = await minStake(net);
      const options = {
        listen: ["/ip4/127.0.0.1/tcp/0"],
        profile: {
          ...LOCAL_SIMULATION_PROFILE,
          services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
        },
        eventPollingIntervalMs: 200,
        admissionTimeoutMs: 3_000,
        blobLimits: { update: 4 * 1024 * 1024 },
      };
      receiver = await startTestMesh(net, await testOperator(net, stake), options);
      meshes.push(receiver);
      sender = await startTestMesh(net, await testOperator(net, stake), options);
      meshes.push(sender);
      peer = await sender.connect(receiver.multiaddrs()[0]!);
      await until(() => receiver.admission.isAdmitted(sender.peerId), 10_000, "admission");
      receiver.blobs.onBlob("update", (blob) => {
        got.push(blob.bytes);
      });
      // What a node's round data does (participant.ts): a replica it holds, checked, adds nothing.
      receiver.blobs.holds(
        ({ kind, sha256: hash, meta }) => kind === "update" && meta["replica"] === true && held.has(hash),
      );
    });

    after(async () => {
      await stopMeshesAndChain(meshes, net);
    });

    it("a late push of a held blob moves no body bytes and counts on both sides; others still arrive", async () => {
      const late = payload(256 * 1024, 1);
      held.add(sha256(late));
      const sentBefore = sender.blobs.stats.bytesSent;
      const receivedBefore = receiver.blobs.stats.bytesReceived;
      const outcome = await sender.blobs.push(peer, "update", late, { round: "1", replica: true });
      assert.equal(outcome, "held");
      assert.equal(sender.blobs.stats.bytesSent, sentBefore, "the sender sent no body byte");
      assert.equal(receiver.blobs.stats.bytesReceived, receivedBefore, "the receiver read no body byte");
      assert.equal(got.length, 0, "the handler did not run");
      assert.equal(receiver.blobs.stats.declinedHeld, 1);
      assert.equal(sender.blobs.stats.skippedHeld, 1);

      // Held bytes pushed as something the handler must act on (not a replica) still go through.
      assert.equal(await sender.blobs.push(peer, "update", late, { round: "1" }), "sent");
      const fresh = payload(1000, 2);
      assert.equal(await sender.blobs.push(peer, "update", fresh, { round: "1", replica: true }), "sent");
      assert.equal(got.length, 2);
      assert.equal(sha256(got[1]!), sha256(fresh));
      assert.equal(sender.blobs.stats.bytesSent, sentBefore + late.length + fresh.length);
      assert.equal(receiver.blobs.stats.declinedHeld, 1);
    });

    it("answers the header first: refusals before the body, a lying body after it", async () => {
      const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
      const decode = (bytes: { subarray(): Uint8Array }): string =>
        new TextDecoder().decode(bytes.subarray());
      // A raw 2.0.0 sender: writes the header, reads the reply, sends `body` only when asked to.
      const raw = async (header: unknown, body: Uint8Array): Promise<string[]> => {
        const stream = await sender.libp2p.dialProtocol(peer, BLOB_PUSH_PROTOCOL);
        const lp = lpStream(stream);
        await lp.write(json(header));
        const signal = AbortSignal.timeout(10_000);
        const replies = [decode(await lp.read({ signal }))];
        if (replies[0]!.includes('"send":true')) {
          stream.send(body);
          await stream.close();
          replies.push(decode(await lp.read({ signal })));
        } else {
          await stream.close();
        }
        return replies;
      };
      const body = new Uint8Array(1000).fill(1);
      const receivedBefore = receiver.blobs.stats.bytesReceived;
      const tooLarge = await raw({ v: 1, kind: "update", size: 2 ** 40, sha256: sha256(body) }, body);
      assert.equal(tooLarge.length, 1);
      assert.match(tooLarge[0]!, /BLOB_TOO_LARGE/);
      const unknownKind = await raw({ v: 1, kind: "model", size: 1000, sha256: sha256(body) }, body);
      assert.equal(unknownKind.length, 1);
      assert.match(unknownKind[0]!, /BLOB_REJECTED/);
      assert.equal(receiver.blobs.stats.bytesReceived, receivedBefore, "no refused body was read");
      const lying = await raw({ v: 1, kind: "update", size: 1000, sha256: "0".repeat(64) }, body);
      assert.equal(lying.length, 2);
      assert.match(lying[1]!, /BLOB_HASH_MISMATCH/);
      assert.equal(got.length, 2);
    });

    it("pushes to a node that speaks only push 1.0.0: the body goes unasked", async () => {
      await receiver.libp2p.unhandle(BLOB_PUSH_PROTOCOL);
      const late = payload(2000, 3);
      held.add(sha256(late));
      const sentBefore = sender.blobs.stats.bytesSent;
      assert.equal(await sender.blobs.push(peer, "update", late, { round: "1", replica: true }), "sent");
      assert.equal(sender.blobs.stats.bytesSent, sentBefore + late.length);
      assert.equal(got.length, 3);
      assert.equal(receiver.blobs.stats.declinedHeld, 1);
    });
  },
);
