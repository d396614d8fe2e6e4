/**
 * The node's mesh as `vain-node start` runs it: started, dialing its bootstrap peers in the background (one that
 * refuses or is down is logged, never fatal: the mesh finds others through the ones that answer), and its
 * admission decisions logged, refusals and evictions as warnings (an operator's first clue to a stake or binding
 * problem on either side).
 */
import type { Logger } from "pino";

import { graylistLogLine } from "../p2p/graylist.ts";
import { Mesh } from "../p2p/mesh.ts";
import type { MeshOptions } from "../p2p/mesh.ts";

export type NodeMeshOptions = Omit<MeshOptions, "onGraylisted">;

/** Starts the mesh of `options`; resolves once it listens (the bootstrap dials go on after). */
export async function startNodeMesh(options: NodeMeshOptions, log: Logger): Promise<Mesh> {
  const mesh = new Mesh({
    ...options,
    onGraylisted: (peerId, parts, evicted) => log.warn(...graylistLogLine(peerId, parts, evicted)),
  });
  await mesh.start();
  for (const address of options.bootstrap ?? []) {
    void mesh
      .connect(address)
      .catch((error: unknown) => log.warn({ err: error, address }, "bootstrap peer refused or unreachable"));
  }
  mesh.admission.addEventListener("refused", (event) => log.warn(event.detail, "admission refused"));
  mesh.admission.addEventListener("evicted", (event) => log.warn(event.detail, "peer evicted"));
  mesh.admission.addEventListener("admitted", (event) =>
    log.info({ peerId: event.detail.peerId, operator: event.detail.operator }, "peer admitted"),
  );
  return mesh;
}
