/**
 * The round-data gossip message (round-data.ts, docs/protocol.md §5): a trainer's signed update announcement or an
 * aggregator's signed aggregate announcement, bounded field by field.
 */
import { z } from "zod";

/** Random admitted peers each trainer pushes its update to, so it stays available if trainer and aggregator leave. */
export const REPLICAS_PER_UPDATE = 2;

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/);
const sha = z.string().regex(/^[0-9a-f]{64}$/);
const roundNumber = z.string().regex(/^\d{1,20}$/);
export const announcementSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("update"),
    roundId: roundNumber,
    commitment: hex32,
    sampleCount: z.string().regex(/^\d{1,20}$/),
    sha256: sha,
    /** Peer IDs the trainer pushes replicas to: the aggregator does not push them this update again. */
    replicas: z.array(z.string().max(128)).max(REPLICAS_PER_UPDATE).optional(),
    signature,
  }),
  z.object({
    kind: z.literal("aggregate"),
    roundId: roundNumber,
    aggregateCommitment: hex32,
    modelRef: hex32,
    sha256: sha,
    /** Content hash of each trainer's update in commit order, "" for updates the aggregator did not have. */
    updates: z.array(z.union([sha, z.literal("")])).max(256),
    signature,
  }),
]);
export type Announcement = z.output<typeof announcementSchema>;
