import type { AdmissionRates } from "./admission/types.ts";
import type { ConnectionSlotLimits } from "./admission/gater.ts";
import type { RateSpec } from "./rate-limit.ts";

/** Hard cap on a gossip envelope's payload: gossip carries only small control messages (announcements, commitments). */
export const MAX_GOSSIP_PAYLOAD_BYTES = 64 * 1024;
/** Envelopes older/newer than this are rejected: bounds replay windows while tolerating modest clock skew. */
export const ENVELOPE_MAX_SKEW_MS = 60_000;
/** Protocol ID prefix shared by all vAIn mesh protocols and topics. */
export const PROTOCOL_PREFIX = "/vain/1";

/**
 * Defaults for one node per host. An honest peer is challenged once per connection and connects a few times a
 * minute at most; a prefix hosts a handful of honest nodes.
 */
export const DEFAULT_ADMISSION_RATES: AdmissionRates = {
  answersPerPeer: { burst: 4, intervalMs: 5_000 },
  answersPerPrefix: { burst: 16, intervalMs: 500 },
  checksPerPrefix: { burst: 16, intervalMs: 500 },
};

/**
 * Slot budgets for one node per host (docs/protocol.md §6). 16 handshakes and 16 unadmitted connections are far
 * more than honest arrivals need (a Noise handshake plus admission take a few RTTs); 4 per prefix keeps one /24
 * or /56 from holding them all; 2 connections per peer ID allow simultaneous dials both ways; 8 inbound per
 * prefix leaves room for a few honest nodes behind one provider.
 */
export const DEFAULT_SLOT_LIMITS: ConnectionSlotLimits = {
  maxPendingUpgrades: 16,
  maxPendingUpgradesPerPrefix: 4,
  maxUnadmitted: 16,
  maxUnadmittedPerPrefix: 4,
  maxConnectionsPerPeer: 2,
  maxConnectionsPerPrefix: 8,
};

/**
 * Inbound streams one peer may open per libp2p service (protocol-gate.ts); over it the stream is aborted.
 * Gossipsub keeps one long-lived stream per peer (a reconnect opens another); the DHT opens one per query
 * step, and a node's routine refresh and lookups stay well under 10/s per peer; ping, relay and NAT
 * services are occasional.
 */
export const SERVICE_STREAM_RATES = {
  pubsub: { burst: 8, intervalMs: 2_000 },
  dht: { burst: 32, intervalMs: 100 },
  occasional: { burst: 16, intervalMs: 500 },
} as const satisfies Record<string, RateSpec>;
/** Inbound streams of one DHT protocol open at once on a connection (kad-dht's default is 32). */
export const DHT_MAX_INBOUND_STREAMS = 4;
