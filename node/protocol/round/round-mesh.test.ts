/**
 * A node that runs several tasks declines, before the body, a pushed replica or aggregate of a round it knows
 * belongs to a task it does not run (round-mesh.ts `foreign`): relays and seeds go to random admitted peers, most
 * of which run other tasks in a hierarchy, and each such push cost a body refused after it arrived. An update
 * pushed for aggregating is never declined that way (its sender must learn of a refusal). Nor is a replica whose
 * push is arriving from another peer at that moment taken twice.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import pino from "pino";

import type { Mesh } from "../../p2p/mesh.ts";
import type { BlobMeta } from "./blob-meta.ts";
import { RoundMeshRouter } from "./round-mesh.ts";
import type { RoundMeshRoles } from "./round-mesh.ts";

/** The content hash of a push whose body is arriving now. */
const ARRIVING = "cd".repeat(32);

type Held = (header: { kind: string; sha256: string; meta: BlobMeta }) => boolean;
type Handler = (blob: { from: string; kind: string; bytes: Uint8Array; meta: BlobMeta }) => Promise<void>;

/** A mesh with only what the router touches, and the handlers it registered. */
function meshStub(): { mesh: Mesh; held: () => Held; handler: (kind: string) => Handler } {
  let held: Held | undefined;
  const handlers = new Map<string, Handler>();
  const mesh = {
    blobs: {
      onBlob: (kind: string, handle: Handler) => void handlers.set(kind, handle),
      holds: (check: Held) => void (held = check),
      serve: () => undefined,
      serveCommitted: () => undefined,
      receiving: (sha: string) => sha === ARRIVING,
    },
    register: async () => undefined,
    unregister: async () => undefined,
  } as unknown as Mesh;
  return { mesh, held: () => held!, handler: (kind) => handlers.get(kind)! };
}

/** Task `taskId`'s roles whose active round is `active`; received replicas are counted. */
function roles(taskId: bigint, active: bigint, received: bigint[]): RoundMeshRoles {
  return {
    taskId,
    data: { holdsPushed: () => false, activeRoundId: active },
    aggregator: { receiveUpdate: async () => void received.push(taskId) },
    subAggregator: { openings: {} },
    serve: async () => undefined,
    // Round 30 is task 3's, which this node does not run; round 31 is task 1's, not its active round.
    roundTask: async (roundId: bigint) => (roundId === 30n ? 3n : roundId === 31n ? 1n : 0n),
  } as unknown as RoundMeshRoles;
}

describe("round traffic of a task this node does not run", () => {
  it("is declined before the body once the round's task is known; own tasks' rounds and deliveries never", async () => {
    const { mesh, held, handler } = meshStub();
    const router = RoundMeshRouter.of(mesh, pino({ level: "silent" }));
    const received: bigint[] = [];
    router.attach(roles(1n, 10n, received));
    router.attach(roles(2n, 20n, received));
    const header = (round: string, replica: boolean) => {
      const meta: BlobMeta = replica ? { round, replica } : { round };
      return { kind: "update", sha256: "ab".repeat(32), meta };
    };
    const push = (round: string, replica: boolean) =>
      handler("update")({
        from: "peer",
        kind: "update",
        bytes: new Uint8Array(1),
        meta: header(round, replica).meta,
      });

    assert.equal(held()(header("30", true)), false, "a round not known yet: its body is taken");
    await assert.rejects(push("30", true), /not a round of this node's tasks/);
    assert.equal(held()(header("30", true)), true, "known to be another task's: declined before the body");
    assert.equal(held()({ ...header("30", true), kind: "aggregate" }), true);
    assert.equal(
      held()(header("30", false)),
      false,
      "an update pushed for aggregating is refused, not declined",
    );

    await push("31", true);
    assert.deepEqual(received, [1n], "an own task's round goes to that task");
    assert.equal(held()(header("31", true)), false, "an own task's round is never declined as foreign");
    const arriving = { ...header("31", true), sha256: ARRIVING };
    assert.equal(held()(arriving), true, "a replica whose push is arriving now: declined");
    assert.equal(held()({ ...arriving, meta: { round: "31" } }), false, "never an update for aggregating");
  });
});
