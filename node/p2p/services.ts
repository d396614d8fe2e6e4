/**
 * The libp2p services of a mesh node, from its profile: identify, gossipsub (scored, gossip-scoring.ts), and
 * behind admission (protocol-gate.ts) the DHT, ping, NAT services and the relay server.
 */
import { autoNAT } from "@libp2p/autonat";
import { circuitRelayServer } from "@libp2p/circuit-relay-v2";
import { dcutr } from "@libp2p/dcutr";
import { gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PeerId } from "@libp2p/interface";
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from "@libp2p/kad-dht";
import { ping } from "@libp2p/ping";
import type { Libp2pOptions } from "libp2p";

import type { AbuseLedger } from "./abuse.ts";
import type { AdmissionController } from "./admission/admission.ts";
import { DHT_MAX_INBOUND_STREAMS, PROTOCOL_PREFIX, SERVICE_STREAM_RATES } from "./constants.ts";
import { fastMessageId } from "./gossip-ids.ts";
import {
  BEHAVIOUR_SCORE,
  IWANT_FOLLOWUP_MS,
  SCORE_THRESHOLDS,
  UNADMITTED_APP_SCORE,
} from "./gossip-scoring.ts";
import { gateService } from "./protocol-gate.ts";
import type { GateCounters, ProtocolGateInit } from "./protocol-gate.ts";
import type { MeshProfile } from "./profiles.ts";

/** The DHT protocol: vAIn's own, so a node never joins the public IPFS DHT. */
export const DHT_PROTOCOL = `${PROTOCOL_PREFIX}/kad/1.0.0`;

type Services = NonNullable<Libp2pOptions["services"]>;
type ServiceFactory = Services[string];

export interface MeshServiceDeps {
  readonly admission: AdmissionController;
  readonly abuse: AbuseLedger;
  /** Counts streams the gates refused (shared with the mesh's status). */
  readonly gateCounters: GateCounters;
  readonly relayServer: boolean;
}

export function meshServices(profile: MeshProfile, deps: MeshServiceDeps): Services {
  // Every service but identify is behind admission (protocol-gate.ts); identify is bounded by libp2p itself
  // and gossipsub needs it. Streams of a peer still being checked wait for the verdict.
  const admitted = (streamsPerPeer: ProtocolGateInit["streamsPerPeer"], maxInboundStreams?: number) => ({
    allow: (peer: PeerId, signal: AbortSignal) => deps.admission.settled(peer.toString(), signal),
    waitMs: deps.admission.timeoutMs,
    onRefused: (peer: PeerId, _protocol: string, reason: "not-allowed" | "rate") => {
      if (reason === "rate" && deps.admission.isAdmitted(peer))
        deps.abuse.report(peer.toString(), "stream-rate");
    },
    streamsPerPeer,
    ...(maxInboundStreams === undefined ? {} : { maxInboundStreams }),
  });
  const gate = <F extends ServiceFactory>(factory: F, init: ProtocolGateInit): ServiceFactory =>
    gateService(factory as (components: object) => unknown, init, deps.gateCounters) as ServiceFactory;
  const services: NonNullable<Libp2pOptions["services"]> = {
    identify: identify(),
    pubsub: gate(
      gossipsub({
        D: profile.gossip.D,
        Dlo: profile.gossip.Dlo,
        Dhi: profile.gossip.Dhi,
        Dlazy: profile.gossip.Dlazy,
        heartbeatInterval: profile.gossip.heartbeatIntervalMs,
        gossipsubIWantFollowupMs: IWANT_FOLLOWUP_MS,
        allowPublishToZeroTopicPeers: true,
        fastMsgIdFn: fastMessageId,
        emitSelf: false,
        // Topic scoring (invalid messages, behaviour penalties, time in mesh) in gossip-scoring.ts; each
        // vAIn topic gets its parameters when subscribed.
        scoreParams: {
          ...BEHAVIOUR_SCORE,
          IPColocationFactorWeight: profile.ipColocationPenalty ? -35 : 0,
          appSpecificWeight: 1,
          // A peer whose admission is still running is not graylisted: its first RPC carries its topic
          // subscriptions, and gossipsub drops a graylisted peer's RPC for good (the validator still ignores
          // its messages until it is admitted).
          appSpecificScore: (peer: string) =>
            deps.admission.isAdmitted(peer) || deps.admission.isPending(peer) ? 0 : UNADMITTED_APP_SCORE,
        },
        scoreThresholds: SCORE_THRESHOLDS,
      }) as ServiceFactory,
      admitted(SERVICE_STREAM_RATES.pubsub),
    ),
  };
  // kad-dht depends on the ping service.
  const occasional = admitted(SERVICE_STREAM_RATES.occasional);
  if (profile.services.ping || profile.services.dht) services["ping"] = gate(ping(), occasional);
  if (profile.services.dht) {
    // Only admitted peers reach the DHT: unadmitted ones used to store provider records without limit.
    services["dht"] = gate(
      kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: false,
        peerInfoMapper: profile.keepLoopbackAddresses ? passthroughMapper : removePrivateAddressesMapper,
      }) as unknown as ServiceFactory,
      admitted(SERVICE_STREAM_RATES.dht, DHT_MAX_INBOUND_STREAMS),
    );
  }
  if (profile.services.nat) {
    services["autonat"] = gate(autoNAT(), occasional);
    services["dcutr"] = gate(dcutr(), occasional);
  }
  if (deps.relayServer) services["relay"] = gate(circuitRelayServer(), occasional);
  return services;
}
