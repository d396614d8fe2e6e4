/**
 * Real attackers for the mesh's abuse tests and `bench:mesh --attack`: raw TCP sockets and libp2p nodes on
 * loopback, each bound to a chosen source address (Linux routes all of 127.0.0.0/8 to loopback, so distinct
 * source prefixes are real distinct prefixes to the victim). Nothing is simulated: the victim sees sockets,
 * Noise handshakes and streams exactly as from remote hosts.
 */
import net from "node:net";

import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p, PrivateKey, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import type { TCPSocketOptions } from "@libp2p/tcp";
import type { Multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";

import { ADMISSION_PROTOCOL } from "../admission/admission.ts";
import { leanNoise } from "../noise-framing.ts";
import { DEFAULT_PROFILE, LOCAL_SIMULATION_PROFILE } from "../profiles.ts";
import type { MeshProfile } from "../profiles.ts";

/**
 * A victim with the default profile's budgets and rates, on loopback: attackers would come from many hosts, so
 * libp2p's per-host connection rate is lifted (it is not what is measured) and loopback addresses are kept.
 */
export const LOOPBACK_VICTIM_PROFILE: MeshProfile = {
  ...DEFAULT_PROFILE,
  inboundConnectionThreshold: 1_000,
  ipColocationPenalty: false,
  keepLoopbackAddresses: true,
  services: { dht: true, mdns: false, ping: true, nat: false, connectionMonitor: false },
};

/** Honest peers dialing the victim: the local profile (they are not under attack), with ping. */
export const LOOPBACK_HONEST_PROFILE: MeshProfile = {
  ...LOCAL_SIMULATION_PROFILE,
  services: { ...LOCAL_SIMULATION_PROFILE.services, dht: false, ping: true },
};

/** A TCP transport whose outbound sockets leave from `localAddress` (a loopback alias such as 127.0.3.7). */
export function tcpFrom(localAddress: string): ReturnType<typeof tcp> {
  // `dialOpts` is spread into net.connect's options; its type lists only a subset of them.
  return tcp({ dialOpts: { localAddress } as TCPSocketOptions });
}

/** `count` loopback source addresses spread over `prefixes` /24s: 127.<base+p>.0.<1+i>. */
export function loopbackSources(count: number, prefixes: number, base = 100): string[] {
  return Array.from(
    { length: count },
    (_, i) => `127.${base + (i % prefixes)}.0.${1 + Math.floor(i / prefixes)}`,
  );
}

export interface AttackStats {
  /** Connections (sockets or libp2p connections) the attackers managed to open. */
  connects: number;
  /** Currently open. */
  open: number;
}

/**
 * Sockets that connect and then trickle one byte a second, never completing a handshake (the slowloris of
 * libp2p): each reconnects as soon as the victim drops it. Stops when `signal` aborts.
 */
export function silentSockets(
  target: { host: string; port: number },
  sources: readonly string[],
  signal: AbortSignal,
): AttackStats {
  const stats: AttackStats = { connects: 0, open: 0 };
  const run = (localAddress: string): void => {
    if (signal.aborted) return;
    const socket = net.connect({ host: target.host, port: target.port, localAddress });
    let timer: ReturnType<typeof setInterval> | undefined;
    socket.on("connect", () => {
      stats.connects += 1;
      stats.open += 1;
      timer = setInterval(() => socket.write(new Uint8Array([0x13])), 1_000);
    });
    const onAbort = (): void => void socket.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.on("error", () => undefined);
    socket.on("close", (hadConnect) => {
      clearInterval(timer);
      if (timer !== undefined || hadConnect) stats.open = Math.max(0, stats.open - 1);
      signal.removeEventListener("abort", onAbort);
      // Back off a little so a refusing victim is not a busy loop for the test process itself.
      if (!signal.aborted) setTimeout(() => run(localAddress), 50).unref();
    });
  };
  for (const source of sources) run(source);
  return stats;
}

export interface FloodOptions {
  readonly target: Multiaddr;
  /** One libp2p node per source address. */
  readonly sources: readonly string[];
  /**
   * `hold`: answer the admission protocol by never answering (hold the unadmitted slot until the deadline);
   * `mute`: do not speak admission at all.
   */
  readonly behaviour: "hold" | "mute";
  /** A new peer ID for every reconnect (keys are free). */
  readonly freshIdentity: boolean;
  readonly signal: AbortSignal;
}

/** Unstaked libp2p identities that keep connecting to `target`. */
export async function unstakedFlood(options: FloodOptions): Promise<AttackStats & { stop(): Promise<void> }> {
  const stats = { connects: 0, open: 0 };
  const nodes = new Set<Libp2p>();
  const held = new Set<Stream>();
  const spawn = async (source: string, key?: PrivateKey): Promise<void> => {
    if (options.signal.aborted) return;
    const identity = key ?? (await generateKeyPair("Ed25519"));
    const node = await createLibp2p({
      privateKey: identity,
      transports: [tcpFrom(source)],
      connectionEncrypters: [leanNoise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
    });
    nodes.add(node);
    if (options.behaviour === "hold") {
      await node.handle(ADMISSION_PROTOCOL, (stream) => void held.add(stream), { maxInboundStreams: 64 });
    }
    const again = async (): Promise<void> => {
      nodes.delete(node);
      await Promise.resolve(node.stop()).catch(() => undefined);
      if (options.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
      await spawn(source, options.freshIdentity ? undefined : identity);
    };
    node.addEventListener("connection:close", () => {
      stats.open = Math.max(0, stats.open - 1);
      if (node.getConnections().length === 0) void again();
    });
    try {
      await node.dial(options.target, {
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(5_000)]),
      });
      stats.connects += 1;
      stats.open += 1;
    } catch {
      void again();
    }
  };
  await Promise.all(options.sources.map((source) => spawn(source)));
  return Object.assign(stats, {
    async stop(): Promise<void> {
      for (const stream of held) stream.abort(new Error("attack over"));
      await Promise.allSettled([...nodes].map(async (node) => node.stop()));
      nodes.clear();
    },
  });
}
