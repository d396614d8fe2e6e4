/**
 * One process of `npm run bench:mesh`: runs a share of the mesh nodes (real `Mesh` instances with stake-gated
 * admission against the bench's Hardhat chain) and answers the coordinator over IPC. A separate process per
 * share keeps the measurement honest: its CPU time, RSS and event-loop delay are those of the nodes alone.
 *
 * Bytes are counted at the transport (every raw connection's sent bytes, i.e. Noise ciphertext with Yamux and
 * protocol framing inside), so the figure is what would cross a network.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import type { MultiaddrConnection, Transport, Upgrader } from "@libp2p/interface";
import { memory } from "@libp2p/memory";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import type { Libp2pOptions } from "libp2p";
import type { Address } from "viem";
import { createPublicClient, http } from "viem";
import { z } from "zod";

import { localChain } from "../../node/chain/clients.ts";
import { vainTopic } from "../../node/p2p/topics.ts";
import { Mesh } from "../../node/p2p/mesh.ts";
import type { MeshProfile } from "../../node/p2p/profiles.ts";

/** The coordinator's commands. */
export type WorkerCommand =
  | {
      readonly type: "start";
      readonly runId: string;
      readonly rpcUrl: string;
      readonly chainId: number;
      readonly registry: Address;
      readonly profile: MeshProfile;
      /** `memory`: in-process links (plus TCP listeners when `tcpToo`, for other processes); `tcp`: TCP only. */
      readonly transport: "memory" | "tcp";
      readonly tcpToo: boolean;
      readonly eventPollingIntervalMs: number;
      readonly nodes: readonly {
        readonly index: number;
        readonly seed: string;
        readonly operator: Address;
      }[];
    }
  | { readonly type: "dial"; readonly dials: readonly { readonly from: number; readonly to: string }[] }
  | { readonly type: "status" }
  | { readonly type: "idle"; readonly seconds: number; readonly profileTo?: string }
  | { readonly type: "profile"; readonly action: "start" }
  | { readonly type: "profile"; readonly action: "stop"; readonly to: string }
  | { readonly type: "publish"; readonly index: number; readonly id: number }
  | { readonly type: "delivered"; readonly ids: readonly number[] }
  | { readonly type: "latencies"; readonly ids: readonly number[] }
  | { readonly type: "arrivals"; readonly ids: readonly number[] }
  | { readonly type: "stop" };

export interface StartedNode {
  readonly index: number;
  readonly peerId: string;
  /** Address for dials from the same process (memory or TCP) and from other processes (TCP). */
  readonly local: string;
  readonly remote: string | undefined;
}

export interface WorkerStatus {
  readonly admitted: readonly number[];
  readonly connections: readonly number[];
  readonly admissionMs: readonly number[];
  readonly lookups: number;
  readonly refusals: Readonly<Record<string, number>>;
  readonly gossipRejected: number;
  /** Open connections to peers neither admitted nor being checked (should stay 0). */
  readonly unadmittedConnections: number;
  readonly rssBytes: number;
}

export interface IdleSample {
  readonly cpuMicros: number;
  readonly wallMs: number;
  readonly bytesSent: number;
  readonly eventLoopUtilization: number;
  readonly maxEventLoopDelayMs: number;
  readonly rssBytes: number;
}

/** The worker's answers, one per command, tagged with the command's sequence number. */
export type WorkerReply =
  | { readonly type: "ready"; readonly rssBytes: number }
  | { readonly type: "started"; readonly nodes: readonly StartedNode[]; readonly rssBytes: number }
  | {
      readonly type: "dialed";
      readonly ok: number;
      readonly failed: number;
      readonly errors: readonly string[];
    }
  | ({ readonly type: "status" } & WorkerStatus)
  | ({ readonly type: "idle" } & IdleSample)
  | { readonly type: "profiled" }
  | { readonly type: "published"; readonly recipients: number }
  | { readonly type: "delivered"; readonly counts: readonly number[] }
  | { readonly type: "latencies"; readonly latencies: readonly (readonly number[])[] }
  | { readonly type: "arrivals"; readonly arrivals: readonly (readonly Arrival[])[] }
  | { readonly type: "stopped" }
  | { readonly type: "error"; readonly message: string };

/**
 * How the first copy of a message reached a node, for the analysis of the slow tail: from a peer in the node's
 * gossipsub mesh for the topic, from the author itself (flood publish), or from another peer (an IWANT answer
 * to the IHAVE of a heartbeat), with the node's mesh size for the topic at that moment.
 */
export interface Arrival {
  readonly ms: number;
  readonly via: "mesh" | "author" | "gossip";
  readonly meshSize: number;
}

/** The topic the bench gossips on, and its message: an ID and the publisher's send time. */
export const BENCH_TOPIC = vainTopic("bench/mesh");
const benchMessage = z.object({ id: z.number().int(), sentAt: z.number() });

/** Wall-clock time with sub-millisecond resolution, comparable between processes on one host. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

interface NodeState {
  readonly index: number;
  readonly mesh: Mesh;
  readonly openedAt: Map<string, number>;
}

const nodes: NodeState[] = [];
const admissionMs: number[] = [];
const refusals: Record<string, number> = {};
const deliveries = new Map<number, number[]>();
const arrivals = new Map<number, Arrival[]>();
let bytesSent = 0;

/**
 * Wraps a transport so every raw connection it upgrades counts its sent bytes. Counting sends alone covers all
 * traffic once (each byte one node sends is one byte another node receives).
 */
function counted(factory: NonNullable<Libp2pOptions["transports"]>[number]): typeof factory {
  const track = (maConn: MultiaddrConnection): void => {
    const send = maConn.send.bind(maConn);
    maConn.send = (data) => {
      bytesSent += data.byteLength;
      return send(data);
    };
  };
  const wrapUpgrader = (upgrader: Upgrader): Upgrader =>
    new Proxy(upgrader, {
      get(target, property, receiver) {
        if (property === "upgradeInbound" || property === "upgradeOutbound") {
          const method = target[property].bind(target);
          return (maConn: MultiaddrConnection, options: Parameters<typeof method>[1]) => {
            track(maConn);
            return method(maConn, options);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return (components) => {
    const transport = factory(components) as Transport;
    return new Proxy(transport, {
      get(target, property, receiver) {
        if (property === "dial") {
          return (ma: Parameters<Transport["dial"]>[0], options: Parameters<Transport["dial"]>[1]) =>
            target.dial(ma, { ...options, upgrader: wrapUpgrader(options.upgrader) });
        }
        if (property === "createListener") {
          return (options: Parameters<Transport["createListener"]>[0]) =>
            target.createListener({ ...options, upgrader: wrapUpgrader(options.upgrader) });
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  });
  await Promise.all(lanes);
}

async function start(command: Extract<WorkerCommand, { type: "start" }>): Promise<StartedNode[]> {
  const chain = localChain(command.chainId, command.rpcUrl);
  // One HTTP client per process, batching concurrent reads: a thousand nodes' lookups are few requests.
  const client = createPublicClient({
    chain,
    transport: http(command.rpcUrl, { batch: { batchSize: 200, wait: 5 }, timeout: 30_000, retryCount: 2 }),
  });
  const started: StartedNode[] = new Array<StartedNode>(command.nodes.length);
  const transports =
    command.transport === "tcp"
      ? [counted(tcp())]
      : command.tcpToo
        ? [counted(memory()), counted(tcp())]
        : [counted(memory())];
  await inBatches(
    command.nodes.map((node, position) => ({ node, position })),
    16,
    async ({ node, position }) => {
      const privateKey = await generateKeyPairFromSeed("Ed25519", Buffer.from(node.seed, "hex"));
      const listen: string[] = [];
      if (command.transport === "memory") listen.push(`/memory/${command.runId}-${node.index}`);
      if (command.transport === "tcp" || command.tcpToo) listen.push("/ip4/127.0.0.1/tcp/0");
      const mesh = new Mesh({
        privateKey,
        operator: node.operator,
        chain: { client, chainId: command.chainId, stakeRegistry: command.registry },
        listen,
        profile: command.profile,
        eventPollingIntervalMs: command.eventPollingIntervalMs,
        admissionTimeoutMs: 30_000,
        transports,
      });
      await mesh.start();
      const state: NodeState = { index: node.index, mesh, openedAt: new Map() };
      mesh.libp2p.addEventListener("connection:open", (event) => {
        const peer = event.detail.remotePeer.toString();
        if (!state.openedAt.has(peer)) state.openedAt.set(peer, now());
      });
      mesh.admission.addEventListener("admitted", (event) => {
        const opened = state.openedAt.get(event.detail.peerId);
        if (opened !== undefined) admissionMs.push(now() - opened);
      });
      mesh.admission.addEventListener("refused", (event) => {
        refusals[event.detail.code] = (refusals[event.detail.code] ?? 0) + 1;
      });
      // gossipsub announces the propagation source of a first copy just before it delivers the message.
      const pubsub = mesh.libp2p.services.pubsub;
      let firstCopy: { via: Arrival["via"]; meshSize: number } = { via: "mesh", meshSize: 0 };
      pubsub.addEventListener("gossipsub:message", (event) => {
        const { propagationSource, msg } = event.detail;
        // The GossipSub interface does not list it, the implementation has it.
        const meshPeers = (pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(
          msg.topic,
        );
        const source = propagationSource.toString();
        const via =
          msg.type === "signed" && msg.from.toString() === source
            ? "author"
            : meshPeers.includes(source)
              ? "mesh"
              : "gossip";
        firstCopy = { via, meshSize: meshPeers.length };
      });
      mesh.gossip.subscribe(BENCH_TOPIC, benchMessage, (message) => {
        const ms = now() - message.body.sentAt;
        const list = deliveries.get(message.body.id) ?? [];
        list.push(ms);
        deliveries.set(message.body.id, list);
        const detail = arrivals.get(message.body.id) ?? [];
        detail.push({ ms, ...firstCopy });
        arrivals.set(message.body.id, detail);
      });
      nodes[position] = state;
      const addrs = mesh.multiaddrs().map((ma) => ma.toString());
      const memoryAddr = addrs.find((a) => a.startsWith("/memory/"));
      const tcpAddr = addrs.find((a) => a.includes("/tcp/"));
      const local = command.transport === "memory" ? memoryAddr : tcpAddr;
      if (local === undefined)
        throw new Error(`node ${node.index} has no listen address (${addrs.join(", ")})`);
      started[position] = { index: node.index, peerId: mesh.peerId.toString(), local, remote: tcpAddr };
    },
  );
  return started;
}

async function dial(
  dials: Extract<WorkerCommand, { type: "dial" }>["dials"],
): Promise<{ ok: number; failed: number; errors: string[] }> {
  const byIndex = new Map(nodes.map((n) => [n.index, n]));
  let ok = 0;
  let failed = 0;
  const errors = new Set<string>();
  // Bounded concurrency: connection set-up (Noise, identify, admission) is CPU work on this process.
  await inBatches(dials, 24, async ({ from, to }) => {
    const node = byIndex.get(from);
    if (node === undefined) throw new Error(`node ${from} is not in this process`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await node.mesh.connect(multiaddr(to), AbortSignal.timeout(60_000));
        ok += 1;
        return;
      } catch (error) {
        if (attempt === 1) {
          failed += 1;
          errors.add(error instanceof Error ? error.message.slice(0, 160) : String(error));
        }
      }
    }
  });
  return { ok, failed, errors: [...errors].slice(0, 5) };
}

function status(): WorkerStatus {
  return {
    admitted: nodes.map((n) => n.mesh.admission.admitted().length),
    connections: nodes.map((n) => n.mesh.libp2p.getConnections().length),
    admissionMs,
    lookups: nodes.reduce((sum, n) => sum + n.mesh.oracle.lookupCount, 0),
    refusals,
    gossipRejected: nodes.reduce((sum, n) => sum + n.mesh.gossip.counters.rejected, 0),
    unadmittedConnections: nodes.reduce(
      (sum, n) =>
        sum +
        n.mesh.libp2p
          .getConnections()
          .filter(
            (c) => !n.mesh.admission.isAdmitted(c.remotePeer) && !n.mesh.admission.isPending(c.remotePeer),
          ).length,
      0,
    ),
    rssBytes: process.memoryUsage.rss(),
  };
}

let profiler: Session | undefined;

/** Starts the V8 CPU profiler (one profile at a time per process). */
async function startProfile(): Promise<void> {
  if (profiler !== undefined) throw new Error("a CPU profile is already running");
  profiler = new Session();
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.start");
}

/** Stops the profiler and writes the profile as a .cpuprofile (DevTools, speedscope, `cpuprofile-top.ts`). */
async function stopProfile(to: string): Promise<void> {
  const session = profiler;
  if (session === undefined) throw new Error("no CPU profile is running");
  profiler = undefined;
  const { profile } = await session.post("Profiler.stop");
  await writeFile(to, JSON.stringify(profile));
  session.disconnect();
}

/** Idle window, optionally under the V8 CPU profiler. */
async function idle(seconds: number, profileTo?: string): Promise<IdleSample> {
  if (profileTo === undefined) return measureIdle(seconds);
  await startProfile();
  const sample = await measureIdle(seconds);
  await stopProfile(profileTo);
  return sample;
}

async function measureIdle(seconds: number): Promise<IdleSample> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const bytes0 = bytesSent;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  histogram.disable();
  return {
    cpuMicros: cpu.user + cpu.system,
    wallMs: performance.now() - t0,
    bytesSent: bytesSent - bytes0,
    eventLoopUtilization: elu.utilization,
    maxEventLoopDelayMs: histogram.max / 1e6,
    rssBytes: process.memoryUsage.rss(),
  };
}

async function handle(command: WorkerCommand): Promise<WorkerReply> {
  switch (command.type) {
    case "start":
      return { type: "started", nodes: await start(command), rssBytes: process.memoryUsage.rss() };
    case "dial":
      return { type: "dialed", ...(await dial(command.dials)) };
    case "status":
      return { type: "status", ...status() };
    case "idle":
      return { type: "idle", ...(await idle(command.seconds, command.profileTo)) };
    case "profile":
      if (command.action === "start") await startProfile();
      else await stopProfile(command.to);
      return { type: "profiled" };
    case "publish": {
      const node = nodes.find((n) => n.index === command.index);
      if (node === undefined) throw new Error(`node ${command.index} is not in this process`);
      const recipients = await node.mesh.gossip.publish(BENCH_TOPIC, { id: command.id, sentAt: now() });
      return { type: "published", recipients };
    }
    case "delivered":
      return { type: "delivered", counts: command.ids.map((id) => deliveries.get(id)?.length ?? 0) };
    case "latencies":
      return { type: "latencies", latencies: command.ids.map((id) => deliveries.get(id) ?? []) };
    case "arrivals":
      return { type: "arrivals", arrivals: command.ids.map((id) => arrivals.get(id) ?? []) };
    case "stop":
      await Promise.allSettled(nodes.map((n) => n.mesh.stop()));
      return { type: "stopped" };
  }
}

// An uncaught stream reset in one node must not end the run for the others; it is counted in the log.
process.on("uncaughtException", (error) => process.stderr.write(`worker uncaught: ${error.message}\n`));
process.on("unhandledRejection", () => undefined);
process.on("disconnect", () => process.exit(0));
process.on("message", (raw: { seq: number; command: WorkerCommand }) => {
  void handle(raw.command)
    .catch((error: unknown): WorkerReply => ({
      type: "error",
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }))
    .then((reply) => {
      process.send?.({ seq: raw.seq, reply });
      if (reply.type === "stopped") setTimeout(() => process.exit(0), 100);
    });
});
process.send?.({ seq: 0, reply: { type: "ready", rssBytes: process.memoryUsage.rss() } });
