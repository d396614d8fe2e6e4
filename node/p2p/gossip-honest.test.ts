/**
 * Issue #25 (session 16's soak: a never-restarted node evicted every honest peer as `gossip-graylisted`, then sat
 * isolated for 80 minutes): an honest peer is never penalised for what the receiver could not check, and a node
 * left with no peers finds them again. Real chain, real libp2p on 127.0.0.1, each case as it happens to a node:
 * - a peer restarted from its data directory re-announces what it restored, a burst over the per-author budget;
 * - the receiver stalls (a blocked event loop, a frozen process) and reads the peer's messages late;
 * - a node evicted its only peers: when their refusal ends it dials them again (bootstrap, known peers).
 * Each asserts what the honest peer keeps: its admission, a gossip score above the graylist threshold, zero
 * rejected messages charged to it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { z } from "zod";

import { minStake, startLocalNetwork } from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { GOSSIP_PER_AUTHOR } from "./gossip.ts";
import { gossipScore, SCORE_THRESHOLDS } from "./gossip-scoring.ts";
import type { Mesh, MeshOptions } from "./mesh.ts";
import { LOCAL_SIMULATION_PROFILE } from "./profiles.ts";
import { startTestMesh, stopMeshesAndChain, testOperator, until } from "./testing/fixtures.ts";
import type { TestOperator } from "./testing/fixtures.ts";
import { vainTopic } from "./topics.ts";

const PORT = 18983;
const PROFILE = {
  ...LOCAL_SIMULATION_PROFILE,
  services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false },
};
const schema = z.object({ n: z.number() });

/** Blocks this process's event loop for `ms`, as a busy or frozen node does: nothing is read meanwhile. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: sockets fill, timers wait
  }
}

describe(
  "honest peers are never penalised for what the receiver could not check (#25)",
  { timeout: 300_000 },
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

    async function start(op: TestOperator, extra: Partial<MeshOptions> = {}): Promise<Mesh> {
      const mesh = await startTestMesh(net, op, {
        listen: ["/ip4/127.0.0.1/tcp/0"],
        profile: PROFILE,
        eventPollingIntervalMs: 200,
        ...extra,
      });
      meshes.push(mesh);
      return mesh;
    }

    /** `a` and `b` connected, admitted both ways, and each a subscriber of `topic` in the other's view. */
    async function joined(a: Mesh, b: Mesh, topic: string): Promise<void> {
      await b.connect(a.multiaddrs()[0]!);
      const has = (m: Mesh, peer: Mesh) =>
        m.libp2p.services.pubsub.getSubscribers(topic).some((p) => p.equals(peer.peerId));
      await until(() => has(a, b) && has(b, a), 30_000, "both to see the other subscribed");
    }

    /** What the receiver did to `peer`: admitted or not, its gossip score, evictions seen. */
    function standing(receiver: Mesh, peer: Mesh, evictions: string[]) {
      return {
        admitted: receiver.admission.isAdmitted(peer.peerId),
        score: Math.round(gossipScore(receiver.libp2p.services.pubsub, peer.peerId.toString())),
        evicted: evictions.filter((id) => id === peer.peerId.toString()).length,
        rejected: receiver.gossip.counters.rejected,
        abusePoints: Math.round(receiver.abuse.points(peer.peerId.toString())),
      };
    }

    function watchEvictions(receiver: Mesh): string[] {
      const out: string[] = [];
      receiver.admission.addEventListener("evicted", (event) => out.push(event.detail.peerId));
      return out;
    }

    it("a restarted peer re-announcing what it restored (a burst over the per-author budget) is ignored, not penalised", async () => {
      const topic = vainTopic("honest-restart");
      const a = await start(await testOperator(net, stake));
      const evictions = watchEvictions(a);
      const received: number[] = [];
      a.gossip.subscribe(topic, schema, (m) => void received.push(m.body.n));
      const bOp = await testOperator(net, stake);
      const before = await start(bOp);
      before.gossip.subscribe(topic, schema, () => undefined);
      await joined(a, before, topic);
      // The peer restarts (same key, same operator) and re-announces its restored state at once.
      await before.stop();
      const b = await start(bOp);
      b.gossip.subscribe(topic, schema, () => undefined);
      await joined(a, b, topic);
      const burst = GOSSIP_PER_AUTHOR.burst + 20;
      for (let n = 0; n < burst; n++) await b.gossip.publish(topic, { n });
      const seen = () => a.gossip.counters.delivered + a.gossip.counters.rejected + a.gossip.counters.ignored;
      await until(() => seen() >= burst, 30_000, "the receiver to validate the burst");
      // Gossipsub caches a score for one heartbeat: read it after the cache has turned over, as maintenance does.
      await new Promise((resolve) => setTimeout(resolve, PROFILE.gossip.heartbeatIntervalMs + 200));
      await a.maintain();
      const after = standing(a, b, evictions);
      console.log(`restart burst of ${burst}: ${JSON.stringify(after)}; delivered ${received.length}`);
      assert.deepEqual(
        {
          admitted: after.admitted,
          graylisted: after.score < SCORE_THRESHOLDS.graylistThreshold,
          evicted: after.evicted,
          rejected: after.rejected,
        },
        { admitted: true, graylisted: false, evicted: 0, rejected: 0 },
      );
      // The budget's worth was delivered; what came over it (if the burst outran the refill) was dropped unscored.
      assert.ok(received.length >= GOSSIP_PER_AUTHOR.burst, `delivered ${received.length}`);
    });

    it("messages the receiver read late because it stalled are ignored, not charged to their honest author", async () => {
      const topic = vainTopic("honest-stall");
      const skewMs = 1_000;
      const a = await start(await testOperator(net, stake), { gossipMaxSkewMs: skewMs });
      const evictions = watchEvictions(a);
      a.gossip.subscribe(topic, schema, () => undefined);
      const b = await start(await testOperator(net, stake));
      b.gossip.subscribe(topic, schema, () => undefined);
      await joined(a, b, topic);
      const count = 15;
      const sent = Array.from({ length: count }, (_, n) => b.gossip.publish(topic, { n }));
      // The receiver (here the whole process) stalls past the skew window before it reads them.
      stall(skewMs + 500);
      await Promise.all(sent);
      const seen = () => a.gossip.counters.delivered + a.gossip.counters.rejected + a.gossip.counters.ignored;
      await until(() => seen() >= count, 30_000, "the receiver to validate the late messages");
      // Gossipsub caches a score for one heartbeat: read it after the cache has turned over, as maintenance does.
      await new Promise((resolve) => setTimeout(resolve, PROFILE.gossip.heartbeatIntervalMs + 200));
      await a.maintain();
      const after = standing(a, b, evictions);
      console.log(`stall past the skew window, ${count} messages: ${JSON.stringify(after)}`);
      assert.deepEqual(
        {
          admitted: after.admitted,
          graylisted: after.score < SCORE_THRESHOLDS.graylistThreshold,
          evicted: after.evicted,
          rejected: after.rejected,
        },
        { admitted: true, graylisted: false, evicted: 0, rejected: 0 },
      );
    });

    it("behaviour penalties graylist a peer for gossip but never evict it; invalid messages do, saying why", async () => {
      const topic = vainTopic("honest-graylist");
      const told: { peerId: string; evicted: boolean; behaviour: number; invalid: number }[] = [];
      const a = await start(await testOperator(net, stake), {
        onGraylisted: (peerId, parts, evicted) =>
          told.push({
            peerId,
            evicted,
            behaviour: Math.round(parts.behaviour),
            invalid: Math.round(parts.invalid),
          }),
      });
      const reasons: string[] = [];
      a.admission.addEventListener("evicted", (event) => reasons.push(event.detail.reason));
      a.gossip.subscribe(topic, schema, () => undefined);
      const b = await start(await testOperator(net, stake));
      b.gossip.subscribe(topic, schema, () => undefined);
      await joined(a, b, topic);
      const peer = b.peerId.toString();
      // 20 broken IWANT promises, as a receiver that validated late would count them: -10 x (20 - 6)^2 = -1,960.
      const internals = a.libp2p.services.pubsub as unknown as {
        score: { addPenalty(id: string, n: number, label: string): void };
      };
      internals.score.addPenalty(peer, 20, "broken_promise");
      await new Promise((resolve) => setTimeout(resolve, PROFILE.gossip.heartbeatIntervalMs + 200));
      await a.maintain();
      await a.maintain();
      assert.equal(a.admission.isAdmitted(b.peerId), true, "not evicted for behaviour penalties");
      assert.deepEqual(
        told.map((t) => t.evicted),
        [false],
        "told once, not evicted",
      );
      // Another peer sends invalid messages it authored itself (off-schema): those are its own fault.
      const c = await start(await testOperator(net, stake));
      c.gossip.subscribe(topic, schema, () => undefined);
      await joined(a, c, topic);
      const encoder = new TextEncoder();
      for (let i = 0; i < 12; i++)
        await c.libp2p.services.pubsub
          .publish(topic, encoder.encode(JSON.stringify({ v: 1, ts: Date.now(), body: { wrong: i } })))
          .catch(() => undefined);
      await until(
        () => a.gossip.counters.rejected >= 12,
        30_000,
        "the receiver to reject the invalid messages",
      );
      await new Promise((resolve) => setTimeout(resolve, PROFILE.gossip.heartbeatIntervalMs + 200));
      await a.maintain();
      await until(() => !a.admission.isAdmitted(c.peerId), 10_000, "the eviction");
      assert.equal(a.admission.isAdmitted(b.peerId), true, "the peer with behaviour penalties stays");
      assert.equal(told.at(-1)?.peerId, c.peerId.toString());
      assert.equal(told.at(-1)?.evicted, true);
      assert.ok(told.at(-1)!.invalid < -900, JSON.stringify(told));
      assert.match(
        reasons.at(-1) ?? "",
        /gossip-graylisted, score -\d+: invalid messages -\d+, behaviour -?\d+/,
      );
    });

    it("a node that evicted its only peer dials it again once the refusal ends, and both are admitted", async () => {
      const refusalMs = 3_000;
      const b = await start(await testOperator(net, stake), { abuseRefusalMs: refusalMs });
      const a = await start(await testOperator(net, stake), {
        abuseRefusalMs: refusalMs,
        bootstrap: [b.multiaddrs()[0]!.toString()],
      });
      await until(
        () => a.admission.isAdmitted(b.peerId) && b.admission.isAdmitted(a.peerId),
        30_000,
        "a and b to meet",
      );
      // Whatever the cause, `a` evicts its only peer: both are now alone.
      a.admission.evictForAbuse(b.peerId.toString(), "test: evicted", refusalMs);
      await until(
        () => a.libp2p.getConnections(b.peerId).length === 0,
        10_000,
        "the eviction to close the connection",
      );
      const evictedAt = Date.now();
      await until(() => a.admission.isAdmitted(b.peerId), 30_000, "a to dial b again and admit it");
      console.log(
        `isolated node re-admitted its peer ${Date.now() - evictedAt} ms after evicting it (refusal ${refusalMs} ms)`,
      );
      assert.ok(Date.now() - evictedAt >= refusalMs - 500, "not before the refusal ended");
    });
  },
);
