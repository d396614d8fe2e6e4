import type { ConnectionSlotLimits } from "./admission/gater.ts";
import type { AdmissionRates } from "./admission/types.ts";
import { DEFAULT_ADMISSION_RATES, DEFAULT_SLOT_LIMITS } from "./constants.ts";

/**
 * Mesh settings. `default` is for real deployments (one node per host, public or NATed); `local-simulation`
 * holds the settings that only make sense for many nodes on one host (FACTS.md): loopback addresses kept in
 * the DHT, no per-IP limits or IP-colocation penalty, no LAN multicast per node, no NAT services.
 */
export interface MeshProfile {
  readonly name: "default" | "local-simulation" | "local-scale" | "low-power";
  /** Admitted peers we try to stay connected to. */
  readonly targetDegree: number;
  readonly maxConnections: number;
  /** Inbound connections per second from one host before libp2p refuses more. */
  readonly inboundConnectionThreshold: number;
  /**
   * An inbound socket must finish Noise and muxer negotiation within this (libp2p `inboundUpgradeTimeout`): a
   * silent socket loses its handshake slot within seconds even when nobody else needs it.
   */
  readonly upgradeTimeoutMs: number;
  /** Budgets of unadmitted connections and per-peer/per-prefix caps (admission/gater.ts). */
  readonly slots: ConnectionSlotLimits;
  /** Rates of the admission handshake (signatures answered, checks started). */
  readonly admissionRates: AdmissionRates;
  readonly gossip: {
    readonly D: number;
    readonly Dlo: number;
    readonly Dhi: number;
    /**
     * Peers outside the mesh that get an IHAVE (the IDs of recent messages) at every heartbeat; they ask for
     * what they missed. gossipsub's default is 6.
     */
    readonly Dlazy: number;
    readonly heartbeatIntervalMs: number;
  };
  /** Penalise many peers behind one IP (sybils); must be off when every node is on 127.0.0.1. */
  readonly ipColocationPenalty: boolean;
  readonly keepLoopbackAddresses: boolean;
  readonly services: {
    readonly dht: boolean;
    readonly mdns: boolean;
    readonly ping: boolean;
    readonly nat: boolean;
    readonly connectionMonitor: boolean;
  };
  /** How often the node checks its degree and asks peers for more peers. */
  readonly maintenanceIntervalMs: number;
}

export const DEFAULT_PROFILE: MeshProfile = {
  name: "default",
  targetDegree: 8,
  maxConnections: 64,
  inboundConnectionThreshold: 5,
  upgradeTimeoutMs: 3_000,
  slots: DEFAULT_SLOT_LIMITS,
  admissionRates: DEFAULT_ADMISSION_RATES,
  gossip: { D: 6, Dlo: 4, Dhi: 12, Dlazy: 6, heartbeatIntervalMs: 1_000 },
  ipColocationPenalty: true,
  keepLoopbackAddresses: false,
  services: { dht: true, mdns: true, ping: true, nat: true, connectionMonitor: true },
  maintenanceIntervalMs: 10_000,
};

/** Many nodes on 127.0.0.1 (tests, the demo, benchmarks). */
export const LOCAL_SIMULATION_PROFILE: MeshProfile = {
  ...DEFAULT_PROFILE,
  name: "local-simulation",
  inboundConnectionThreshold: 100_000,
  // Every node is on 127.0.0.1, so one prefix holds the whole network; formation opens hundreds at once.
  upgradeTimeoutMs: 10_000,
  slots: {
    maxPendingUpgrades: 1_000,
    maxPendingUpgradesPerPrefix: 1_000,
    maxUnadmitted: 1_000,
    maxUnadmittedPerPrefix: 1_000,
    maxConnectionsPerPeer: 2,
    maxConnectionsPerPrefix: 100_000,
  },
  admissionRates: {
    answersPerPeer: { burst: 16, intervalMs: 100 },
    answersPerPrefix: { burst: 100_000, intervalMs: 1 },
    checksPerPrefix: { burst: 100_000, intervalMs: 1 },
  },
  ipColocationPenalty: false,
  keepLoopbackAddresses: true,
  services: { dht: true, mdns: false, ping: false, nat: false, connectionMonitor: false },
  maintenanceIntervalMs: 2_000,
};

/**
 * Hundreds to a thousand nodes on one host (`npm run bench:mesh`, docs/scaling.md): local-simulation without
 * the services whose idle cost grows with the node count (DHT, ping, connection monitor), a smaller gossip
 * degree (fewer duplicate copies, the main CPU cost of a message) and slower background timers.
 */
export const LOCAL_SCALE_PROFILE: MeshProfile = {
  ...LOCAL_SIMULATION_PROFILE,
  name: "local-scale",
  targetDegree: 6,
  gossip: { D: 4, Dlo: 3, Dhi: 6, Dlazy: 6, heartbeatIntervalMs: 2_000 },
  services: { dht: false, mdns: false, ping: false, nat: false, connectionMonitor: false },
  maintenanceIntervalMs: 10_000,
};

/** Small or battery-powered machines: fewer connections and background work. */
export const LOW_POWER_PROFILE: MeshProfile = {
  ...DEFAULT_PROFILE,
  name: "low-power",
  targetDegree: 4,
  maxConnections: 16,
  gossip: { D: 4, Dlo: 3, Dhi: 6, Dlazy: 6, heartbeatIntervalMs: 2_000 },
  services: { dht: false, mdns: true, ping: false, nat: true, connectionMonitor: false },
  maintenanceIntervalMs: 30_000,
};

export const MESH_PROFILES = {
  default: DEFAULT_PROFILE,
  "local-simulation": LOCAL_SIMULATION_PROFILE,
  "local-scale": LOCAL_SCALE_PROFILE,
  "low-power": LOW_POWER_PROFILE,
} as const;

export type MeshProfileName = keyof typeof MESH_PROFILES;
