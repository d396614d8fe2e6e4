/**
 * Where the mesh's round traffic goes: pushed updates to the aggregator role, pushed aggregates and replicas to the
 * round data, sub-aggregators' partials to the sub-aggregator, the openings protocol, and the check that declines a
 * push of round data already held before its body moves (push 2.0.0, #22). One task per mesh today; a node in a
 * group task and its parent (docs/protocol.md §7) will route here by round instead.
 */
import type { Logger } from "pino";

import type { Mesh } from "../../p2p/mesh.ts";
import type { Aggregator } from "./aggregator.ts";
import type { RoundData } from "./round-data.ts";
import type { SubAggregator } from "./sub-aggregator.ts";

/** The roles that receive round traffic from the mesh. */
export interface RoundMeshRoles {
  readonly aggregator: Aggregator;
  readonly data: RoundData;
  readonly subAggregator: SubAggregator;
}

/** Hands the mesh's round blobs and protocols to `roles`. */
export function routeRoundMesh(mesh: Mesh, roles: RoundMeshRoles, log: Logger): void {
  const { aggregator, data, subAggregator } = roles;
  mesh.blobs.onBlob("update", (blob) => aggregator.receiveUpdate(blob.from, blob.bytes, blob.meta));
  mesh.blobs.onBlob("aggregate", (blob) => data.receiveAggregate(blob.from, blob.bytes, blob.meta));
  mesh.blobs.onBlob("partial", (blob) => subAggregator.receivePartial(blob.from, blob.bytes));
  mesh.blobs.holds(({ kind, sha256, meta }) => {
    const held = data.holdsPushed(kind, sha256, meta);
    if (held) log.debug({ kind, sha: sha256.slice(0, 12) }, "declined a push of round data already held");
    return held;
  });
  void mesh.register(subAggregator.openings).catch((error: unknown) => {
    log.error({ err: error }, "openings protocol failed to start");
  });
}
