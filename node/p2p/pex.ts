/**
 * Peer exchange: an admitted peer hands out signed peer records (from identify) of other admitted peers,
 * so a node that knows one contact can find the rest. Records are verified by the peer store before their
 * addresses are used, so a peer cannot make us dial addresses a third peer never signed.
 */
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromPublicKey } from "@libp2p/peer-id";
import { PeerRecord, RecordEnvelope } from "@libp2p/peer-record";
import { z } from "zod";

import { PROTOCOL_PREFIX } from "./constants.ts";
import { frameStream, toMeshError } from "./frames.ts";
import { KeyedRateLimiter } from "./rate-limit.ts";
import type { RateSpec } from "./rate-limit.ts";

export const PEX_PROTOCOL = `${PROTOCOL_PREFIX}/pex/1.0.0`;
/** Records per answer: enough to reach the target degree, small enough for one frame. */
export const PEX_MAX_RECORDS = 16;
/**
 * Requests one peer may make: maintenance asks one random admitted peer every interval (2-30 s by profile), so a
 * burst of 4 and one per 5 s never refuses an honest node and cuts a flood (22k requests in 15 s, issue #19).
 */
export const PEX_REQUESTS_PER_PEER: RateSpec = { burst: 4, intervalMs: 5_000 };

export const pexRequestSchema = z.object({ v: z.literal(1) });
export const pexAnswerSchema = z.object({
  records: z
    .array(
      z
        .string()
        .max(4096)
        .regex(/^[A-Za-z0-9+/=]*$/),
    )
    .max(PEX_MAX_RECORDS),
});

export interface PexOptions {
  /** Whether a peer may ask (admitted) and which peers we may share (admitted ones). */
  readonly isAdmitted: (peerId: PeerId | string) => boolean;
  readonly admittedPeers: () => readonly string[];
  readonly timeoutMs?: number;
  /** Told when a peer asks over its rate (abuse accounting). */
  readonly onViolation?: (peerId: string, kind: "stream-rate") => void;
}

export class PeerExchange {
  private node: Libp2p | undefined;
  private readonly timeoutMs: number;
  private readonly requests = new KeyedRateLimiter(PEX_REQUESTS_PER_PEER);
  /** Requests refused because their peer was over its rate. */
  refusedRate = 0;

  private readonly options: PexOptions;

  constructor(options: PexOptions) {
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async start(node: Libp2p): Promise<void> {
    this.node = node;
    await node.handle(PEX_PROTOCOL, (stream, connection) => this.answer(stream, connection), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    });
  }

  async stop(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    await node?.unhandle(PEX_PROTOCOL).catch(() => undefined);
  }

  /** Asks `peer` for records; returns the peers whose signed records we accepted into the peer store. */
  async ask(peer: PeerId, signal?: AbortSignal): Promise<PeerId[]> {
    const node = this.node;
    if (node === undefined) return [];
    const deadline =
      signal === undefined
        ? AbortSignal.timeout(this.timeoutMs)
        : AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]);
    const stream = await node
      .dialProtocol(peer, PEX_PROTOCOL, { signal: deadline })
      .catch((error: unknown) => {
        throw toMeshError(error, deadline);
      });
    const frames = frameStream(stream);
    try {
      await frames.write({ v: 1 }, deadline);
      await stream.close({ signal: deadline });
      const answer = await frames.read(pexAnswerSchema, deadline);
      const learned: PeerId[] = [];
      for (const record of answer.records) {
        const bytes = new Uint8Array(Buffer.from(record, "base64"));
        try {
          const envelope = await RecordEnvelope.openAndCertify(bytes, PeerRecord.DOMAIN);
          const subject = peerIdFromPublicKey(envelope.publicKey);
          if (subject.equals(node.peerId)) continue;
          if (await node.peerStore.consumePeerRecord(bytes, { expectedPeer: subject })) learned.push(subject);
        } catch {
          // An unverifiable record is skipped; the rest of the answer is still useful.
        }
      }
      return learned;
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw toMeshError(error, deadline);
    }
  }

  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const node = this.node;
    if (node === undefined || !this.options.isAdmitted(connection.remotePeer)) {
      stream.abort(new Error("not admitted"));
      return;
    }
    if (!this.requests.take(connection.remotePeer.toString())) {
      this.refusedRate += 1;
      this.options.onViolation?.(connection.remotePeer.toString(), "stream-rate");
      stream.abort(new Error("too many peer-exchange requests"));
      return;
    }
    const signal = AbortSignal.timeout(this.timeoutMs);
    const frames = frameStream(stream);
    try {
      await frames.read(pexRequestSchema, signal);
      const asker = connection.remotePeer.toString();
      const candidates = this.options.admittedPeers().filter((id) => id !== asker);
      shuffle(candidates);
      const records: string[] = [];
      for (const id of candidates) {
        if (records.length >= PEX_MAX_RECORDS) break;
        const peer = node.getConnections().find((c) => c.remotePeer.toString() === id)?.remotePeer;
        if (peer === undefined) continue;
        const stored = await node.peerStore.get(peer).catch(() => undefined);
        if (stored?.peerRecordEnvelope !== undefined)
          records.push(Buffer.from(stored.peerRecordEnvelope).toString("base64"));
      }
      await frames.write({ records }, signal);
      await stream.close({ signal });
    } catch {
      stream.abort(new Error("pex answer failed"));
    }
  }
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
}
