/**
 * `/vain/1/openings/1.0.0`: a parent aggregator asks the sub-aggregator that sent it a partial aggregate to
 * open one chunk of it: request frame {v, round, chunk} → header frame {ok, count | reason} → `count` opening
 * frames (one trainer's chunk values and Merkle path each; hierarchy.ts verifies them). Only admitted peers
 * may ask, each within its own request rate (`OPENINGS_REQUESTS_PER_PEER`); every frame is bounded and
 * schema-checked, every stream has a deadline.
 */
import type { Libp2p, PeerId, Stream, Connection } from "@libp2p/interface";
import { z } from "zod";

import { PROTOCOL_PREFIX } from "../p2p/constants.ts";
import { MeshError } from "../p2p/errors.ts";
import { frameStream, toMeshError } from "../p2p/frames.ts";
import { KeyedRateLimiter } from "../p2p/rate-limit.ts";
import type { RateSpec } from "../p2p/rate-limit.ts";
import { openingSchema } from "./hierarchy.ts";
import type { Opening } from "./hierarchy.ts";

export const OPENINGS_PROTOCOL = `${PROTOCOL_PREFIX}/openings/1.0.0`;
/** More trainers than any round holds (the contract caps commits far below). */
export const MAX_OPENINGS = 4_096;
const TIMEOUT_MS = 30_000;
/**
 * Opening requests one peer may make. A parent asks each child for `spotChecks` chunks per round (at most 64,
 * default 4), one after the other; a grandparent's request is forwarded down the tree, so one request can cost
 * a child and each of its children work: the burst covers a round's largest spot check, the refill two
 * requests a second, and a peer asking faster is refused (and charged a `stream-rate` violation).
 */
export const OPENINGS_REQUESTS_PER_PEER: RateSpec = { burst: 64, intervalMs: 500 };

const requestSchema = z
  .object({
    v: z.literal(1),
    round: z.string().regex(/^\d{1,20}$/),
    chunk: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31),
  })
  .strict();
const headerSchema = z.object({
  ok: z.boolean(),
  count: z.number().int().min(0).max(MAX_OPENINGS).optional(),
  reason: z.string().max(256).optional(),
});

/** Answers a request from `from` (a peer ID); throwing refuses it with the error's message. */
export type OpeningsProvider = (
  from: string,
  roundId: bigint,
  chunk: number,
  signal: AbortSignal,
) => Promise<readonly Opening[]>;

export interface OpeningsServiceOptions {
  readonly isAllowed: (peer: PeerId) => boolean;
  readonly provider: OpeningsProvider;
  readonly timeoutMs?: number;
  /** Requests one peer may make (default OPENINGS_REQUESTS_PER_PEER). */
  readonly requestsPerPeer?: RateSpec;
  /** Told when a peer asks over its rate (the mesh's abuse ledger). */
  readonly onViolation?: (peerId: string, kind: "stream-rate") => void;
}

export class OpeningsService {
  private readonly options: OpeningsServiceOptions;
  private node: Libp2p | undefined;
  private readonly requests: KeyedRateLimiter;
  /** Requests refused because their peer was over its rate. */
  refusedRate = 0;

  constructor(options: OpeningsServiceOptions) {
    this.options = options;
    this.requests = new KeyedRateLimiter(options.requestsPerPeer ?? OPENINGS_REQUESTS_PER_PEER);
  }

  async start(node: Libp2p): Promise<void> {
    this.node = node;
    await node.handle(OPENINGS_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: 16,
      maxOutboundStreams: 64,
    });
  }

  async stop(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    await node?.unhandle(OPENINGS_PROTOCOL).catch(() => undefined);
  }

  /** Asks `peer` to open `chunk` of its partial for `roundId`. */
  async request(peer: PeerId, roundId: bigint, chunk: number, signal?: AbortSignal): Promise<Opening[]> {
    const node = this.node;
    if (node === undefined) throw new MeshError("PEER_UNREACHABLE", "openings service is not running");
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS);
    const deadline = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let stream: Stream;
    try {
      stream = await node.dialProtocol(peer, OPENINGS_PROTOCOL, { signal: deadline });
    } catch (error) {
      throw toMeshError(error, deadline);
    }
    try {
      const frames = frameStream(stream);
      await frames.write({ v: 1, round: roundId.toString(), chunk }, deadline);
      const header = await frames.read(headerSchema, deadline);
      if (!header.ok || header.count === undefined)
        throw new MeshError("BLOB_NOT_FOUND", `peer refused to open chunk ${chunk}: ${header.reason ?? ""}`);
      const openings: Opening[] = [];
      for (let i = 0; i < header.count; i++) openings.push(await frames.read(openingSchema, deadline));
      await stream.close({ signal: deadline });
      return openings;
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw toMeshError(error, deadline);
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    if (!this.options.isAllowed(connection.remotePeer)) {
      stream.abort(new MeshError("NOT_ADMITTED", "peer is not admitted"));
      return;
    }
    const peerId = connection.remotePeer.toString();
    if (!this.requests.take(peerId)) {
      this.refusedRate += 1;
      this.options.onViolation?.(peerId, "stream-rate");
      stream.abort(new MeshError("RATE_LIMITED", "too many opening requests"));
      return;
    }
    const signal = AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS);
    const frames = frameStream(stream);
    try {
      const request = await frames.read(requestSchema, signal);
      let openings: readonly Opening[];
      try {
        openings = await this.options.provider(
          connection.remotePeer.toString(),
          BigInt(request.round),
          request.chunk,
          signal,
        );
        if (openings.length > MAX_OPENINGS) throw new Error("too many openings");
      } catch (error) {
        await frames.write({ ok: false, reason: String((error as Error).message).slice(0, 256) }, signal);
        await stream.close({ signal });
        return;
      }
      await frames.write({ ok: true, count: openings.length }, signal);
      for (const opening of openings) await frames.write(opening, signal);
      await stream.close({ signal });
    } catch (error) {
      stream.abort(toMeshError(error, signal));
    }
  }
}
