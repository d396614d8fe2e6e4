/**
 * Mesh abuse made visible: the status API's `abuse` section and Prometheus metrics per peer and per operator
 * (docs/protocol.md §6). Read from the abuse ledger and the protocol gate's counters when asked, so nothing is
 * kept twice. Label sets are bounded: peers with points are admitted peers (the connection cap), operators
 * are staked ones.
 */
import { Gauge } from "prom-client";
import type { Registry } from "prom-client";
import type { Address } from "viem";

import type { AbuseSnapshot } from "../api/status.ts";
import type { Mesh } from "./mesh.ts";

/** The status API's view of the mesh's abuse ledger. */
export function abuseSnapshot(mesh: Mesh): AbuseSnapshot {
  return {
    thresholdPoints: mesh.abuse.thresholdPoints,
    peers: mesh.abuse.peersWithPoints().map(({ peerId, points }) => {
      const operator = mesh.admission.peer(peerId)?.operator;
      return {
        peerId,
        points: Math.round(points * 10) / 10,
        ...(operator === undefined ? {} : { operator }),
      };
    }),
    operators: [...mesh.abuse.byOperator()].map(([operator, record]) => ({
      operator: operator as Address,
      violations: { ...record.violations },
      refusals: record.refusals,
    })),
    refusedStreams: {
      notAdmitted: mesh.gateCounters.refusedNotAllowed,
      overRate: mesh.gateCounters.refusedRate,
    },
  };
}

/** Registers the abuse metrics of `mesh` (collected at each scrape). */
export function registerAbuseMetrics(registry: Registry, mesh: Mesh): void {
  new Gauge({
    name: "vain_mesh_abuse_points",
    help: "Protocol-violation points of a peer now (decaying; refused at the threshold)",
    labelNames: ["peer", "operator"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { peerId, points } of mesh.abuse.peersWithPoints())
        this.set({ peer: peerId, operator: mesh.admission.peer(peerId)?.operator ?? "" }, points);
    },
  });
  new Gauge({
    name: "vain_mesh_abuse_violations_total",
    help: "Protocol violations by an operator's peers since start, by kind",
    labelNames: ["operator", "kind"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [operator, record] of mesh.abuse.byOperator())
        for (const [kind, count] of Object.entries(record.violations))
          this.set({ operator, kind }, count ?? 0);
    },
  });
  new Gauge({
    name: "vain_mesh_abuse_refusals_total",
    help: "Times an operator's peers were evicted and refused for abuse since start",
    labelNames: ["operator"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [operator, record] of mesh.abuse.byOperator()) this.set({ operator }, record.refusals);
    },
  });
  new Gauge({
    name: "vain_mesh_refused_streams_total",
    help: "Streams of libp2p services refused since start: from unadmitted peers, or over a peer's rate",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.set({ reason: "not-admitted" }, mesh.gateCounters.refusedNotAllowed);
      this.set({ reason: "over-rate" }, mesh.gateCounters.refusedRate);
    },
  });
}
