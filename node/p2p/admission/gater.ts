/**
 * Admission owns the connection slots. libp2p's gater hooks see every inbound socket twice before any stream:
 * raw (before Noise) and encrypted (peer ID known). Unadmitted connections live on two small budgets of their
 * own, separate from the admitted peers' slots:
 *
 * - sockets still in their Noise handshake (`maxPendingUpgrades`, per prefix `maxPendingUpgradesPerPrefix`);
 * - encrypted connections whose peer is not admitted yet (`maxUnadmitted`, per prefix `maxUnadmittedPerPrefix`).
 *
 * When a budget is full the oldest holder yields to the newcomer (its socket is aborted): a silent or slow
 * socket keeps its slot only until someone else needs it, and a flood cannot lock a newcomer out, it can only
 * make every unadmitted slot short-lived. An honest handshake and admission take milliseconds to a few RTTs.
 * Admitted peers are limited per peer ID and all inbound connections per prefix.
 */
import type { Connection, ConnectionGater, Libp2p, MultiaddrConnection, PeerId } from "@libp2p/interface";

import { prefixOf, SlotTable } from "./slots.ts";

/** Prefix of addresses that are not IP (in-process memory transport): all share one budget. */
export const NON_IP_PREFIX = "non-ip";

export interface ConnectionSlotLimits {
  /** Inbound sockets whose Noise handshake has not finished, in total and per prefix. */
  readonly maxPendingUpgrades: number;
  readonly maxPendingUpgradesPerPrefix: number;
  /** Inbound encrypted connections of peers not admitted (yet), in total and per prefix. */
  readonly maxUnadmitted: number;
  readonly maxUnadmittedPerPrefix: number;
  /** Open connections with one peer ID (2: both sides may dial at once). */
  readonly maxConnectionsPerPeer: number;
  /** Inbound connections from one prefix, admitted or not. */
  readonly maxConnectionsPerPrefix: number;
}

/** What the gater needs from admission. */
export interface SlotOwner {
  isAdmitted(peerId: string): boolean;
  isRefused(peerId: string): boolean;
}

/** Counters for status and metrics: how often a slot was yielded or a connection turned away. */
export interface SlotCounters {
  pendingYielded: number;
  unadmittedYielded: number;
  deniedPerPrefix: number;
  deniedPerPeer: number;
  deniedRefused: number;
}

export function connectionPrefix(connection: Pick<Connection, "remoteAddr">): string {
  return prefixOf(connection.remoteAddr) ?? NON_IP_PREFIX;
}

export class ConnectionSlots {
  private readonly pendingUpgrades = new SlotTable<MultiaddrConnection>();
  private readonly unadmitted = new SlotTable<Connection>();
  private node: Libp2p | undefined;
  readonly counters: SlotCounters = {
    pendingYielded: 0,
    unadmittedYielded: 0,
    deniedPerPrefix: 0,
    deniedPerPeer: 0,
    deniedRefused: 0,
  };

  private readonly limits: ConnectionSlotLimits;
  private readonly owner: SlotOwner;

  constructor(limits: ConnectionSlotLimits, owner: SlotOwner) {
    this.limits = limits;
    this.owner = owner;
  }

  start(node: Libp2p): void {
    this.node = node;
    node.addEventListener("connection:close", this.onClose);
  }

  stop(): void {
    this.node?.removeEventListener("connection:close", this.onClose);
    this.node = undefined;
  }

  /** Inbound connections whose peer is not admitted yet. */
  get unadmittedCount(): number {
    return this.unadmitted.size;
  }

  get pendingUpgradeCount(): number {
    return this.pendingUpgrades.size;
  }

  /** Takes an unadmitted slot for an open inbound connection (yielding the oldest if the budget is full). */
  track(connection: Connection): void {
    if (connection.direction !== "inbound" || this.unadmitted.has(connection)) return;
    if (connection.status !== "open") return;
    const prefix = connectionPrefix(connection);
    this.makeRoom(this.unadmitted, prefix, this.limits.maxUnadmitted, this.limits.maxUnadmittedPerPrefix);
    this.unadmitted.add(connection, prefix);
  }

  /**
   * Over the connection cap, the oldest unadmitted inbound connection other than `newcomer` yields (aborted);
   * false when there is none.
   */
  yieldOldestUnadmitted(newcomer: Connection): boolean {
    for (const connection of this.unadmitted.keys()) {
      if (connection === newcomer) continue;
      this.unadmitted.delete(connection);
      this.counters.unadmittedYielded += 1;
      connection.abort(new Error("unadmitted slot yielded to a newcomer"));
      return true;
    }
    return false;
  }

  /** The peer was admitted: its connections hold admitted slots now. */
  release(peerId: string): void {
    for (const connection of [...this.unadmitted.keys()]) {
      if (connection.remotePeer.toString() === peerId) this.unadmitted.delete(connection);
    }
  }

  gater(): ConnectionGater {
    return {
      denyDialPeer: (peerId) => this.owner.isRefused(peerId.toString()),
      denyInboundConnection: (maConn) => this.onRawInbound(maConn),
      denyInboundEncryptedConnection: (peerId, maConn) => this.onEncrypted(peerId, maConn),
      denyOutboundEncryptedConnection: (peerId) => this.onEncrypted(peerId, undefined),
    };
  }

  private onRawInbound(maConn: MultiaddrConnection): boolean {
    const prefix = prefixOf(maConn.remoteAddr) ?? NON_IP_PREFIX;
    if (this.inboundFrom(prefix) >= this.limits.maxConnectionsPerPrefix) {
      this.counters.deniedPerPrefix += 1;
      return true;
    }
    this.makeRoom(
      this.pendingUpgrades,
      prefix,
      this.limits.maxPendingUpgrades,
      this.limits.maxPendingUpgradesPerPrefix,
    );
    this.pendingUpgrades.add(maConn, prefix);
    maConn.addEventListener("close", () => this.pendingUpgrades.delete(maConn), { once: true });
    return false;
  }

  private onEncrypted(peerId: PeerId, maConn: MultiaddrConnection | undefined): boolean {
    // Noise is done: the socket leaves the handshake budget (and enters the unadmitted one on open).
    if (maConn !== undefined) this.pendingUpgrades.delete(maConn);
    const id = peerId.toString();
    if (this.owner.isRefused(id)) {
      this.counters.deniedRefused += 1;
      return true;
    }
    const open = this.node?.getConnections(peerId).length ?? 0;
    if (open >= this.limits.maxConnectionsPerPeer) {
      this.counters.deniedPerPeer += 1;
      return true;
    }
    return false;
  }

  /** Open inbound connections plus handshakes in progress from `prefix`. */
  private inboundFrom(prefix: string): number {
    let open = this.pendingUpgrades.count(prefix);
    for (const connection of this.node?.getConnections() ?? []) {
      if (connection.direction === "inbound" && connectionPrefix(connection) === prefix) open += 1;
    }
    return open;
  }

  /** Frees one slot of `table` if the prefix's or the total budget is full: the oldest holder yields. */
  private makeRoom<K extends MultiaddrConnection | Connection>(
    table: SlotTable<K>,
    prefix: string,
    max: number,
    maxPerPrefix: number,
  ): void {
    const victim =
      table.count(prefix) >= maxPerPrefix
        ? table.oldest(prefix)
        : table.size >= max
          ? table.oldest()
          : undefined;
    if (victim === undefined) return;
    table.delete(victim);
    if (table === (this.pendingUpgrades as unknown)) this.counters.pendingYielded += 1;
    else this.counters.unadmittedYielded += 1;
    victim.abort(new Error("unadmitted slot yielded to a newcomer"));
  }

  private readonly onClose = (event: CustomEvent<Connection>): void => {
    this.unadmitted.delete(event.detail);
  };
}
