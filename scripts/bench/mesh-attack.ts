/**
 * `npm run bench:mesh -- --attack`: a real node (default slot budgets and rates) on a real chain, measured while
 * idle (baseline, same run), under a flood of unstaked identities and silent sockets, and under a staked
 * spammer. Reported per phase: a new staked peer's join time (admitted both ways), an admitted friend's ping p99
 * and gossip p99 (friend → victim), the process RSS and the victim's chain reads per second (its stake oracle's
 * lookups; the round protocol's reads are not running here). Attackers run in this process from distinct
 * loopback prefixes (node/p2p/testing/attackers.ts), so the RSS includes theirs: an upper bound for the victim.
 * `--identities=<n>` (default 200, quick 50).
 */
import { z } from "zod";

import { vainTopic } from "../../node/p2p/topics.ts";
import type { Mesh } from "../../node/p2p/mesh.ts";
import type { MeshOptions } from "../../node/p2p/mesh.ts";
import {
  LOOPBACK_HONEST_PROFILE,
  LOOPBACK_VICTIM_PROFILE,
  loopbackSources,
  silentSockets,
  tcpFrom,
  unstakedFlood,
} from "../../node/p2p/testing/attackers.ts";
import { startTestMesh, testOperator } from "../../node/p2p/testing/fixtures.ts";
import type { TestOperator } from "../../node/p2p/testing/fixtures.ts";
import { minStake, startLocalNetwork } from "../support/local-network.ts";
import { isQuick, option, printTable, writeResults } from "./common.ts";

const CHAIN_PORT = 18642;
/**
 * Samples per phase, paced within the honest rates the victim enforces (ping streams 2/s after a burst of 16,
 * gossip 10/s per author after 60): the friend must stay an honest peer while it measures.
 */
const PINGS = 30;
const PING_INTERVAL_MS = 520;
const GOSSIP_MESSAGES = 60;
const GOSSIP_INTERVAL_MS = 120;
const JOINS = 3;

type Row = Record<string, string | number>;

const VICTIM_PROFILE = LOOPBACK_VICTIM_PROFILE;
const HONEST_PROFILE = LOOPBACK_HONEST_PROFILE;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return -1;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? -1;
}

export async function runAttackBench(): Promise<void> {
  const identities = Number(option("identities") ?? (isQuick() ? 50 : 200));
  process.stdout.write(`bench:mesh --attack: hardhat on ${CHAIN_PORT}, ${identities} unstaked identities\n`);
  const net = await startLocalNetwork(CHAIN_PORT);
  const meshes: Mesh[] = [];
  let sourceBase = 60;
  try {
    const stake = await minStake(net);
    const start = async (op: TestOperator, extra: Partial<MeshOptions>): Promise<Mesh> => {
      const mesh = await startTestMesh(net, op, { eventPollingIntervalMs: 500, ...extra });
      meshes.push(mesh);
      return mesh;
    };
    /** A staked peer whose sockets leave from a /24 of its own. */
    const honest = async (): Promise<Mesh> =>
      start(await testOperator(net, stake), {
        profile: HONEST_PROFILE,
        transports: [tcpFrom(`127.${sourceBase++}.0.1`)],
      });
    const victim = await start(await testOperator(net, stake), {
      profile: VICTIM_PROFILE,
      listen: ["/ip4/127.0.0.1/tcp/0"],
    });
    const address = victim.multiaddrs()[0]!;
    const topic = vainTopic("bench-attack");
    const arrivals = new Map<number, number>();
    victim.gossip.subscribe(topic, z.object({ n: z.number(), sentAt: z.number() }), (message) => {
      arrivals.set(message.body.n, performance.now() - message.body.sentAt);
    });
    const friend = await honest();
    await friend.connect(address);
    friend.gossip.subscribe(topic, z.object({ n: z.number(), sentAt: z.number() }), () => undefined);

    let messageNo = 0;
    const measure = async (phase: string, extra: Row = {}): Promise<Row> => {
      const lookups0 = victim.oracle.lookupCount;
      const polls0 = victim.oracle.mirror?.polls ?? 0;
      const mirrored0 = victim.oracle.mirrorAnswers;
      const t0 = performance.now();
      const joins: number[] = [];
      for (let i = 0; i < JOINS; i++) {
        const newcomer = await honest();
        const started = performance.now();
        let joined = Number.POSITIVE_INFINITY;
        while (performance.now() - started < 30_000) {
          try {
            await newcomer.connect(address, AbortSignal.timeout(5_000));
            joined = performance.now() - started;
            break;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        joins.push(joined);
        await newcomer.stop();
      }
      const ping = (friend.libp2p.services as { ping?: { ping(p: unknown, o: object): Promise<number> } })
        .ping;
      const pings: number[] = [];
      const first = messageNo;
      // Pings and gossip side by side: one phase takes ~16 s instead of ~23 s.
      await Promise.all([
        (async () => {
          for (let i = 0; i < PINGS && ping !== undefined; i++) {
            pings.push(
              await ping.ping(victim.peerId, { signal: AbortSignal.timeout(10_000) }).catch(() => 10_000),
            );
            await new Promise((resolve) => setTimeout(resolve, PING_INTERVAL_MS));
          }
        })(),
        (async () => {
          for (let i = 0; i < GOSSIP_MESSAGES; i++) {
            await friend.gossip.publish(topic, { n: messageNo++, sentAt: performance.now() });
            await new Promise((resolve) => setTimeout(resolve, GOSSIP_INTERVAL_MS));
          }
        })(),
      ]);
      const deadline = performance.now() + 10_000;
      while (
        performance.now() < deadline &&
        [...arrivals.keys()].filter((n) => n >= first).length < GOSSIP_MESSAGES
      )
        await new Promise((resolve) => setTimeout(resolve, 50));
      const latencies = Array.from({ length: GOSSIP_MESSAGES }, (_, i) => arrivals.get(first + i) ?? 10_000);
      const seconds = (performance.now() - t0) / 1000;
      const row: Row = {
        phase,
        joinMaxMs: Math.round(Math.max(...joins)),
        pingP99Ms: Math.round(percentile(pings, 99)),
        gossipP99Ms: Math.round(percentile(latencies, 99)),
        gossipDeliveredPct: Math.round((latencies.filter((l) => l < 10_000).length / GOSSIP_MESSAGES) * 100),
        rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
        rpcPerSec: Number(((victim.oracle.lookupCount - lookups0) / seconds).toFixed(2)),
        // The binding mirror's polls (1-3 chain requests each) and the lookups it answered without one.
        mirrorPollsPerSec: Number((((victim.oracle.mirror?.polls ?? 0) - polls0) / seconds).toFixed(2)),
        mirrorAnswers: victim.oracle.mirrorAnswers - mirrored0,
        friendAdmitted: victim.admission.isAdmitted(friend.peerId) ? 1 : 0,
        ...extra,
      };
      process.stdout.write(`${JSON.stringify(row)}\n`);
      return row;
    };

    const rows: Row[] = [await measure("idle (baseline)")];

    // Phase 1: unstaked identities (fresh key per reconnect, holding admission) plus silent sockets.
    const attack = new AbortController();
    const sockets = silentSockets(
      { host: "127.0.0.1", port: Number(address.getComponents().find((c) => c.name === "tcp")?.value) },
      loopbackSources(Math.max(8, identities / 5), 8, 100),
      attack.signal,
    );
    const flood = await unstakedFlood({
      target: address,
      sources: loopbackSources(identities, 8, 110),
      behaviour: "hold",
      freshIdentity: true,
      signal: attack.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    rows.push(
      await measure(`unstaked flood (${identities} ids, ${Math.max(8, identities / 5)} sockets)`, {
        attackerConnects: flood.connects + sockets.connects,
      }),
    );
    attack.abort();
    await flood.stop();

    // Phase 2: a staked, admitted spammer: invalid and skewed gossip, fetch and PEX floods.
    const spammer = await honest();
    await spammer.connect(address);
    const spamStart = performance.now();
    let evictedAfterMs = -1;
    victim.admission.addEventListener("evicted", (event) => {
      if (event.detail.peerId === spammer.peerId.toString() && evictedAfterMs < 0)
        evictedAfterMs = performance.now() - spamStart;
    });
    const stopSpam = new AbortController();
    const spam = (async () => {
      const encoder = new TextEncoder();
      const pubsub = spammer.libp2p.services.pubsub;
      for (let i = 0; !stopSpam.signal.aborted; i++) {
        const data =
          i % 2 === 0
            ? encoder.encode(JSON.stringify({ v: 1, ts: Date.now() - 600_000, body: { n: -1, sentAt: 0 } }))
            : crypto.getRandomValues(new Uint8Array(256));
        await pubsub.publish(topic, data).catch(() => undefined);
        if (i % 10 === 0) await spammer.pex.ask(victim.peerId).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    rows.push(await measure("staked spammer", { spammerEvictedAfterMs: Math.round(evictedAfterMs) }));
    stopSpam.abort();
    await spam;
    printTable(rows);
    const num = (row: Row | undefined, key: string): number =>
      typeof row?.[key] === "number" ? (row[key] as number) : -1;
    const [idle, unstaked, staked] = rows;
    await writeResults(
      "mesh-attack",
      {
        identities,
        baselineJoinMs: num(idle, "joinMaxMs"),
        baselinePingP99Ms: num(idle, "pingP99Ms"),
        baselineGossipP99Ms: num(idle, "gossipP99Ms"),
        floodJoinMs: Number.isFinite(num(unstaked, "joinMaxMs")) ? num(unstaked, "joinMaxMs") : -1,
        floodPingP99Ms: num(unstaked, "pingP99Ms"),
        floodGossipP99Ms: num(unstaked, "gossipP99Ms"),
        floodRssMB: num(unstaked, "rssMB"),
        floodRpcPerSec: num(unstaked, "rpcPerSec"),
        spammerJoinMs: num(staked, "joinMaxMs"),
        spammerPingP99Ms: num(staked, "pingP99Ms"),
        spammerGossipP99Ms: num(staked, "gossipP99Ms"),
        spammerRssMB: num(staked, "rssMB"),
        spammerRpcPerSec: num(staked, "rpcPerSec"),
        spammerEvictedAfterMs: evictedAfterMs,
        joinUnder10sUnderFlood: num(unstaked, "joinMaxMs") < 10_000 ? 1 : 0,
      },
      rows,
    );
  } finally {
    await Promise.race([
      Promise.allSettled(meshes.map(async (mesh) => mesh.stop())),
      new Promise((resolve) => setTimeout(resolve, 15_000).unref()),
    ]);
    await net.stop();
  }
}
