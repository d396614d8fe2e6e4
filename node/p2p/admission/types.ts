/** The admission controller's public shapes: admitted peers, refusals, events and options (admission.ts). */
import type { PrivateKey } from "@libp2p/interface";
import type { Address } from "viem";

import type { RateSpec } from "../rate-limit.ts";
import type { ConnectionSlotLimits } from "./gater.ts";
import type { StakeOracle } from "./stake-oracle.ts";
import type { RefusalCode } from "./wire.ts";

export interface AdmittedPeer {
  readonly peerId: string;
  readonly operator: Address;
  readonly activeStake: bigint;
  readonly admittedAt: number;
}

export interface Refusal {
  readonly peerId: string;
  readonly code: RefusalCode;
  readonly reason: string;
  /** `local`: we refused the peer; `remote`: the peer refused us and told us why. */
  readonly side: "local" | "remote";
}

export interface AdmissionEvents {
  admitted: CustomEvent<AdmittedPeer>;
  refused: CustomEvent<Refusal>;
  evicted: CustomEvent<Refusal>;
  /** The remote peer verified us. */
  accepted: CustomEvent<string>;
}

export interface AdmissionOptions {
  readonly oracle: StakeOracle;
  readonly chainId: number;
  readonly registry: Address;
  /** The operator this node claims (its bound Ethereum account). */
  readonly operator: Address;
  readonly privateKey: PrivateKey;
  /** Handshake timeout, and how long an unadmitted connection may stay open. */
  readonly timeoutMs?: number;
  /** How long a peer refused for cause is turned away by the gater. */
  readonly refusedTtlMs?: number;
  /** Budgets of unadmitted connections and per-peer/per-prefix caps (admission/gater.ts). */
  readonly slots?: ConnectionSlotLimits;
  /** Rates of the handshake itself (each answer is a signature, each check a chain read). */
  readonly rates?: AdmissionRates;
  /** How often admitted peers' standing is re-read even without events. */
  readonly revalidateIntervalMs?: number;
}

export interface AdmissionRates {
  /** Challenges we answer (sign) per peer ID and per network prefix: no free signing oracle. */
  readonly answersPerPeer: RateSpec;
  readonly answersPerPrefix: RateSpec;
  /** Admission checks (each may cost a chain read) we start per network prefix. */
  readonly checksPerPrefix: RateSpec;
}
