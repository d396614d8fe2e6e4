/**
 * The vAIn mesh: a libp2p node composed from the profile's services, with stake-gated admission,
 * validated gossip, direct blob streams, peer exchange and degree maintenance. Start/stop lifecycle;
 * every vAIn protocol refuses peers that are not admitted.
 */
import { yamux } from "@chainsafe/libp2p-yamux";
import { bootstrap } from "@libp2p/bootstrap";
import { circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import type { GossipSub } from "@libp2p/gossipsub";
import type { Connection, Libp2p, PeerId, PrivateKey } from "@libp2p/interface";
import { mdns } from "@libp2p/mdns";
import { memory } from "@libp2p/memory";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { multiaddr } from "@multiformats/multiaddr";
import type { Multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import type { Libp2pOptions } from "libp2p";
import type { Address, Chain, PublicClient, Transport } from "viem";

import { createRateLimiter } from "../resources/limits.ts";
import { ABUSE_REFUSAL_MS, AbuseLedger } from "./abuse.ts";
import type { AbuseKind } from "./abuse.ts";
import { AdmissionController } from "./admission/admission.ts";
import { StakeOracle } from "./admission/stake-oracle.ts";
import { AttestationService } from "./attest/index.ts";
import type { AttestationServiceInit } from "./attest/index.ts";
import { BlobService } from "./blobs.ts";
import { MeshGossip } from "./gossip.ts";
import { enforceConnectionCap } from "./connection-cap.ts";
import type { CapCounters } from "./connection-cap.ts";
import { DegreeUpkeep } from "./degree-upkeep.ts";
import { MeshError } from "./errors.ts";
import { QuotaDatastore } from "./dht-quota.ts";
import type { GossipScoreParts } from "./gossip-scoring.ts";
import { HeldPeers } from "./held-peers.ts";
import { GraylistRule } from "./graylist.ts";
import { meshServices } from "./services.ts";
import type { GateCounters } from "./protocol-gate.ts";
import { leanNoise } from "./noise-framing.ts";
import { PeerExchange } from "./pex.ts";
import { worstRankedPeer } from "./peer-rank.ts";
import { DEFAULT_PROFILE } from "./profiles.ts";
import type { MeshProfile } from "./profiles.ts";

export { PRUNE_BELOW_RANK } from "./peer-rank.ts";
export { DHT_PROTOCOL } from "./services.ts";
export type { CapCounters } from "./connection-cap.ts";

/** Dialing a peer to reach it for a round's transfer gives up after this long (Noise + identify take well under 1 s). */
const REACH_DIAL_TIMEOUT_MS = 5_000;
/** Admission of a peer reached for a transfer (stake check + handshake, local chain) gives up after this long. */
const REACH_ADMISSION_TIMEOUT_MS = 5_000;

/**
 * Size limits per blob kind (docs/protocol.md §6), sized for models of up to 32 M parameters: a model or
 * aggregate is 4 B per parameter (128 MiB), a partial aggregate of a hierarchical round 8 B per parameter plus
 * its trainer list (256 MiB; was 512 MiB), an update is compressed and far smaller (64 MiB). A push above its
 * kind's limit is refused from its header, before a byte of the body is read.
 */
export const DEFAULT_BLOB_LIMITS: Readonly<Record<string, number>> = {
  update: 64 * 1024 * 1024,
  model: 128 * 1024 * 1024,
  aggregate: 128 * 1024 * 1024,
  partial: 256 * 1024 * 1024,
};

export interface MeshOptions {
  readonly privateKey: PrivateKey;
  /** The Ethereum account this node's peer ID is bound to. */
  readonly operator: Address;
  readonly chain: {
    readonly client: PublicClient<Transport, Chain>;
    readonly chainId: number;
    readonly stakeRegistry: Address;
    /** The registry's deployment block, where the stake oracle's binding mirror starts (default 0). */
    readonly deploymentBlock?: bigint;
  };
  readonly listen: readonly string[];
  readonly bootstrap?: readonly string[];
  readonly profile?: MeshProfile;
  /** Serve as a circuit relay for NATed peers (public nodes). */
  readonly relayServer?: boolean;
  readonly blobLimits?: Readonly<Record<string, number>>;
  readonly admissionTimeoutMs?: number;
  readonly streamTimeoutMs?: number;
  readonly eventPollingIntervalMs?: number;
  /**
   * Reputation of an admitted peer's operator in [0, 1] (node/reputation; 0.5 = unknown). Over the connection
   * cap the worst-ranked peer below neutral makes room for the newcomer, and maintenance drops peers ranked
   * below `PRUNE_BELOW_RANK` once the degree is above its target.
   */
  readonly peerRank?: (operator: Address) => number;
  /**
   * Bench-only: replaces the transport list (TCP, WebSockets, memory, circuit relay). Encryption (Noise) and
   * multiplexing (Yamux) stay as they are; `scripts/bench/mesh.ts` uses it to run only `@libp2p/memory`
   * (and TCP between processes) and to count bytes at the transport.
   */
  readonly transports?: NonNullable<Libp2pOptions["transports"]>;
  /** Upload budget of blob streams in bytes per second (operator limit); default unlimited. */
  readonly uploadBytesPerSec?: number;
  /** Capacity attestation settings (claims, rate limits, challenge size); admission and key come from the mesh. */
  readonly attestation?: Omit<AttestationServiceInit, "isAllowed" | "privateKey">;
  /** How far a gossip envelope's timestamp may be from our clock (default `ENVELOPE_MAX_SKEW_MS`); tests shorten it. */
  readonly gossipMaxSkewMs?: number;
  /** How long a peer evicted for abuse is refused (default `ABUSE_REFUSAL_MS`); tests shorten it. */
  readonly abuseRefusalMs?: number;
  /**
   * Told once each time an admitted peer's gossip score falls below the graylist threshold (gossipsub ignores it
   * meanwhile), with the score's parts and whether it was evicted for it (only when its invalid messages alone
   * took it there): the node logs it, so a graylisting is never silent.
   */
  readonly onGraylisted?: (peerId: string, parts: GossipScoreParts, evicted: boolean) => void;
}

/**
 * A stream protocol of another concern (e.g. the round protocol's openings) run on the mesh's libp2p node:
 * the mesh starts it with the node and stops it before the node, like its own services.
 */
export interface MeshProtocol {
  start(node: Libp2p): Promise<void>;
  stop(): Promise<void>;
}

type PeerDiscoveryFactory = NonNullable<Libp2pOptions["peerDiscovery"]>[number];

interface MeshServices extends Record<string, unknown> {
  pubsub: GossipSub;
}

export class Mesh {
  readonly admission: AdmissionController;
  readonly oracle: StakeOracle;
  readonly blobs: BlobService;
  readonly pex: PeerExchange;
  readonly attestation: AttestationService;
  readonly profile: MeshProfile;
  /** Protocol violations per peer and operator; past the threshold a peer is evicted (abuse.ts). */
  readonly abuse: AbuseLedger;
  /** libp2p's datastore, where the DHT keeps peers' records: quotas per provider peer and in total (dht-quota.ts). */
  readonly dhtRecords = new QuotaDatastore();
  /** Streams of libp2p services refused to unadmitted peers or over their rate (protocol-gate.ts). */
  readonly gateCounters: GateCounters = { refusedNotAllowed: 0, refusedRate: 0 };
  /** What the connection cap did to connections opened over it (status, bench:round's aggregator figures). */
  readonly capCounters: CapCounters = {
    yieldedUnadmitted: 0,
    evictedWorst: 0,
    closedNewcomers: 0,
    evictedForHeld: 0,
  };
  /** Peers held for a round (`hold`), at most half the connection cap (held-peers.ts). */
  private readonly held: HeldPeers;
  private gossipLayer: MeshGossip | undefined;
  private node: Libp2p<MeshServices> | undefined;
  private maintenance: ReturnType<typeof setInterval> | undefined;
  /** The target degree's upkeep: PEX, dials, pruning (degree-upkeep.ts). */
  private readonly upkeep: DegreeUpkeep;
  /** Which graylisted peers are evicted, and telling each graylisting once (graylist.ts). */
  private readonly graylist: GraylistRule;
  /** Protocols of other concerns registered with `register`, started and stopped with the node. */
  private readonly protocols = new Set<MeshProtocol>();

  private readonly options: MeshOptions;

  constructor(options: MeshOptions) {
    this.options = options;
    this.profile = options.profile ?? DEFAULT_PROFILE;
    this.held = new HeldPeers(this.profile.maxConnections);
    this.oracle = new StakeOracle({
      client: options.chain.client,
      registry: options.chain.stakeRegistry,
      pollingIntervalMs: options.eventPollingIntervalMs ?? 1_000,
      ...(options.chain.deploymentBlock === undefined ? {} : { fromBlock: options.chain.deploymentBlock }),
    });
    this.admission = new AdmissionController({
      oracle: this.oracle,
      chainId: options.chain.chainId,
      registry: options.chain.stakeRegistry,
      operator: options.operator,
      privateKey: options.privateKey,
      timeoutMs: options.admissionTimeoutMs ?? 10_000,
      slots: this.profile.slots,
      rates: this.profile.admissionRates,
    });
    this.abuse = new AbuseLedger({ operatorOf: (peerId) => this.admission.peer(peerId)?.operator });
    this.graylist = new GraylistRule(this.abuse, options.onGraylisted);
    this.abuse.addEventListener("abusive", (event) =>
      this.admission.evictForAbuse(
        event.detail.peerId,
        `protocol violations reached ${Math.round(event.detail.points)} points (last: ${event.detail.kind}` +
          `${event.detail.detail === undefined ? "" : `, ${event.detail.detail}`})`,
        options.abuseRefusalMs ?? ABUSE_REFUSAL_MS,
      ),
    );
    const isAdmitted = (peer: PeerId | string): boolean => this.admission.isAdmitted(peer);
    const onViolation = (peerId: string, kind: AbuseKind): void => this.reportViolation(peerId, kind);
    this.blobs = new BlobService({
      onViolation,
      maxBytes: options.blobLimits ?? DEFAULT_BLOB_LIMITS,
      isAllowed: isAdmitted,
      timeoutMs: options.streamTimeoutMs ?? 60_000,
      ...(options.uploadBytesPerSec === undefined || !Number.isFinite(options.uploadBytesPerSec)
        ? {}
        : { uploadLimiter: createRateLimiter(options.uploadBytesPerSec) }),
    });
    this.attestation = new AttestationService({
      ...options.attestation,
      isAllowed: isAdmitted,
      privateKey: options.privateKey,
    });
    this.pex = new PeerExchange({
      onViolation,
      isAdmitted,
      admittedPeers: () => this.admission.admitted().map((p) => p.peerId),
    });
    this.upkeep = new DegreeUpkeep({
      node: () => this.node,
      admission: this.admission,
      graylist: this.graylist,
      pex: this.pex,
      bootstrap: options.bootstrap ?? [],
      targetDegree: this.profile.targetDegree,
      worstRanked: (peers) => this.worstRanked(peers),
    });
  }

  /**
   * Charges a protocol violation to an admitted peer (abuse.ts), for the mesh's own services and the protocols
   * of other concerns run on it (openings, round data). Only admitted peers have a record worth keeping; the
   * others are refused by their budgets anyway.
   */
  reportViolation(peerId: string, kind: AbuseKind): void {
    if (this.admission.isAdmitted(peerId)) this.abuse.report(peerId, kind);
  }

  get libp2p(): Libp2p<MeshServices> {
    if (this.node === undefined) throw new Error("mesh is not started");
    return this.node;
  }

  get gossip(): MeshGossip {
    if (this.gossipLayer === undefined) throw new Error("mesh is not started");
    return this.gossipLayer;
  }

  get peerId(): PeerId {
    return this.libp2p.peerId;
  }

  multiaddrs(): Multiaddr[] {
    return this.libp2p.getMultiaddrs();
  }

  async start(): Promise<void> {
    if (this.node !== undefined) return;
    const profile = this.profile;
    const peerDiscovery: PeerDiscoveryFactory[] = [];
    if (this.options.bootstrap !== undefined && this.options.bootstrap.length > 0) {
      peerDiscovery.push(bootstrap({ list: [...this.options.bootstrap] }));
    }
    if (profile.services.mdns) peerDiscovery.push(mdns({ serviceTag: "vain-mesh" }));
    const services = meshServices(profile, {
      admission: this.admission,
      abuse: this.abuse,
      gateCounters: this.gateCounters,
      relayServer: this.options.relayServer === true,
    });
    const transports = this.options.transports ?? [tcp(), webSockets(), memory(), circuitRelayTransport()];
    this.node = (await createLibp2p({
      privateKey: this.options.privateKey,
      addresses: { listen: [...this.options.listen] },
      transports,
      // Noise with lean framing (node/p2p/noise-framing.ts): the same handshake, cipher and wire bytes.
      connectionEncrypters: [leanNoise()],
      streamMuxers: [yamux()],
      connectionGater: this.admission.gater(),
      datastore: this.dhtRecords,
      connectionManager: {
        // Admission owns the slots (admission/gater.ts): libp2p's own caps sit above ours so that a full
        // budget makes its oldest holder yield to the newcomer instead of libp2p refusing the newcomer.
        maxConnections: profile.maxConnections + profile.slots.maxPendingUpgrades,
        inboundConnectionThreshold: profile.inboundConnectionThreshold,
        maxIncomingPendingConnections: 2 * profile.slots.maxPendingUpgrades,
        inboundUpgradeTimeout: profile.upgradeTimeoutMs,
      },
      connectionMonitor: { enabled: profile.services.connectionMonitor },
      peerDiscovery,
      services,
      start: false,
    })) as unknown as Libp2p<MeshServices>;
    const node = this.node;
    this.gossipLayer = new MeshGossip(
      node.services.pubsub,
      this.admission,
      this.oracle,
      node.peerId.toString(),
      this.options.gossipMaxSkewMs,
      (peerId, kind) => this.abuse.report(peerId, kind),
    );
    enforceConnectionCap(
      node,
      profile.maxConnections,
      {
        yieldOldestUnadmitted: (newcomer) => this.admission.slots.yieldOldestUnadmitted(newcomer),
        worstRanked: () => this.worstRanked(node.getPeers()),
        isHeld: (peer) => this.isHeld(peer),
        unheldPeer: (except) => {
          const plain = node.getPeers().filter((p) => !p.equals(except) && this.admission.isAdmitted(p));
          return this.worstRanked(plain)?.peer ?? plain.find((p) => !this.isHeld(p));
        },
      },
      this.capCounters,
    );
    node.addEventListener("peer:discovery", (event) => this.upkeep.discovered(event.detail.id));
    this.oracle.start();
    await this.admission.start(node);
    await this.blobs.start(node);
    await this.pex.start(node);
    await this.attestation.start(node);
    for (const protocol of this.protocols) await protocol.start(node);
    await node.start();
    this.maintenance = setInterval(() => void this.maintain(), profile.maintenanceIntervalMs);
    this.maintenance.unref();
  }

  async stop(): Promise<void> {
    const node = this.node;
    if (node === undefined) return;
    clearInterval(this.maintenance);
    this.gossipLayer?.stop();
    this.oracle.stop();
    for (const protocol of this.protocols) await protocol.stop();
    await this.pex.stop();
    await this.attestation.stop();
    await this.blobs.stop();
    await this.admission.stop();
    await node.stop();
    this.node = undefined;
    this.gossipLayer = undefined;
  }

  /** Dials `address` and waits until the peer there is admitted (or refused, which throws). */
  async connect(
    address: string | Multiaddr,
    signal: AbortSignal = AbortSignal.timeout(15_000),
  ): Promise<PeerId> {
    const target = typeof address === "string" ? multiaddr(address) : address;
    const node = this.libp2p;
    const connection = await node.dial(target, { signal });
    // A connection dropped before admission settles (a yielded slot, the peer's budget) fails the call at once
    // instead of at the deadline: the caller can dial again.
    const dropped = new AbortController();
    const onClose = (event: CustomEvent<Connection>): void => {
      if (event.detail === connection)
        dropped.abort(new MeshError("PEER_UNREACHABLE", "connection closed before admission"));
    };
    node.addEventListener("connection:close", onClose);
    try {
      if (connection.status !== "open") throw new MeshError("PEER_UNREACHABLE", "connection closed at once");
      await this.admission.waitForAdmission(
        connection.remotePeer.toString(),
        AbortSignal.any([signal, dropped.signal]),
      );
    } finally {
      node.removeEventListener("connection:close", onClose);
    }
    return connection.remotePeer;
  }

  /**
   * Runs `protocol` on this mesh: started now if the mesh runs (else with it), stopped with it. Registering
   * the same protocol twice does nothing.
   */
  async register(protocol: MeshProtocol): Promise<void> {
    if (this.protocols.has(protocol)) return;
    this.protocols.add(protocol);
    if (this.node !== undefined) await protocol.start(this.node);
  }

  /** Stops `protocol` and forgets it. */
  async unregister(protocol: MeshProtocol): Promise<void> {
    if (!this.protocols.delete(protocol)) return;
    if (this.node !== undefined) await protocol.stop();
  }

  /**
   * Makes sure `peer` is connected and admitted both ways, dialing it when needed; `hints` are addresses it
   * announced (e.g. on gossip) for peers the node never met, merged into the peer store first.
   */
  async reach(peer: PeerId, hints: readonly string[] = [], signal?: AbortSignal): Promise<void> {
    if (this.admission.isAdmitted(peer) && this.libp2p.getConnections(peer).length > 0) return;
    const multiaddrs = hints.flatMap((text) => {
      try {
        return [multiaddr(text)];
      } catch {
        return [];
      }
    });
    if (multiaddrs.length > 0) await this.libp2p.peerStore.merge(peer, { multiaddrs });
    const dialSignal = AbortSignal.timeout(REACH_DIAL_TIMEOUT_MS);
    await this.libp2p.dial(peer, {
      signal: signal === undefined ? dialSignal : AbortSignal.any([signal, dialSignal]),
    });
    const admissionSignal = AbortSignal.timeout(REACH_ADMISSION_TIMEOUT_MS);
    await this.admission.waitForAdmission(
      peer.toString(),
      signal === undefined ? admissionSignal : AbortSignal.any([signal, admissionSignal]),
    );
  }

  /**
   * Runs `send` with `peer` reached (`reach`), and closes the connection afterwards when this call opened it:
   * a connection dialed only for one transfer holds one of the receiver's `maxConnections` slots until it is
   * closed. A round's aggregator receives an update from every trainer, most of which are not its neighbours:
   * when each kept its delivery connection, the aggregator of a 128-node round was full at its 64-connection cap
   * and every later trainer's dial was closed or yielded (docs/scaling.md, session 11). Closed, the aggregator
   * needs as many slots as deliveries in flight, not as trainers. Closed on failure too: a half-admitted
   * connection would hold its slot until the receiver's admission timeout.
   */
  async transfer<T>(
    peer: PeerId,
    hints: readonly string[],
    send: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const connectedBefore = this.libp2p.getConnections(peer).length > 0;
    try {
      await this.reach(peer, hints, signal);
      return await send();
    } finally {
      // A held peer (its round's group) keeps the connection: the next push, or its peers' pushes, ride on it.
      if (!connectedBefore && !this.isHeld(peer)) await this.libp2p.hangUp(peer).catch(() => undefined);
    }
  }

  /** Keeps the target number of peers (degree-upkeep.ts). */
  async maintain(): Promise<void> {
    await this.upkeep.maintain();
  }

  /**
   * The connected, admitted peer with the lowest reputation, if the node ranks peers (peer-rank.ts); never a
   * held one: the node keeps its round's group whatever their rank (a rank is earned in gossip, not in a round).
   */
  private worstRanked(peers: readonly PeerId[]): { peer: PeerId; rank: number } | undefined {
    const rank = this.options.peerRank;
    const unheld = peers.filter((p) => !this.isHeld(p));
    return rank && worstRankedPeer(unheld, (id) => this.admission.peer(id)?.operator, rank);
  }

  /**
   * Holds connections to `peer` until `untilMs` (wall clock): at the connection cap a held newcomer takes the
   * place of a peer not held, and neither the cap nor the degree upkeep prunes it (group-links.ts). False when
   * half the cap is already held (held-peers.ts): the peer stays a plain connection.
   */
  hold(peer: PeerId, untilMs: number): boolean {
    return this.held.hold(peer.toString(), untilMs);
  }

  /** Whether connections to `peer` are held now. */
  isHeld(peer: PeerId): boolean {
    return this.held.has(peer.toString());
  }

  /** Whether this node has an open connection to `peer`. */
  isConnected(peer: PeerId): boolean {
    return this.libp2p.getConnections(peer).length > 0;
  }
}

/** Builds and starts a mesh node. */
export async function createMesh(options: MeshOptions): Promise<Mesh> {
  const mesh = new Mesh(options);
  await mesh.start();
  return mesh;
}
