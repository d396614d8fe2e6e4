/**
 * Direct streams for large payloads (model updates, models). Gossip cannot carry them (FACTS: 4 MiB and
 * up are dropped silently), so they travel point to point:
 *
 * push  `/vain/1/blob/push/2.0.0`: header frame {kind, size, sha256, meta} → reply frame: send, held or refused →
 *   (send only) `size` raw bytes → ack frame. The receiver answers before a body byte moves, so a blob it already
 *   holds (a watcher that fetched an update itself before the aggregator's push came) or would refuse anyway
 *   costs a header and a reply, not its body. `/vain/1/blob/push/1.0.0` (body right after the header, no reply
 *   before it) is still received, and used towards peers that do not speak 2.0.0.
 * fetch `/vain/1/blob/fetch/1.0.0`: request frame {sha256} or {commitment} → header frame {ok, size} → raw bytes.
 *   By content hash the fetcher checks the bytes itself; by commitment (an update's on-chain commitment root,
 *   for a node that lost the content hashes with its state) the caller checks them against the commitment.
 *
 * Both sides enforce a per-kind size limit before reading a byte of the body, hash while reading, honour
 * backpressure when writing and give every stream a deadline. A receiver never buffers more than the
 * announced (and allowed) size.
 */
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";

import { byteStream } from "@libp2p/utils";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { z } from "zod";

import type { RateLimiter } from "../resources/limits.ts";
import { READ_CHUNK_BYTES, readBody, writeBody } from "./blob-body.ts";
import { PROTOCOL_PREFIX } from "./constants.ts";
import { MeshError } from "./errors.ts";
import { MAX_FRAME_BYTES, frameStream, toMeshError } from "./frames.ts";
import { KeyedRateLimiter } from "./rate-limit.ts";
import type { RateSpec } from "./rate-limit.ts";

export const BLOB_PUSH_PROTOCOL = `${PROTOCOL_PREFIX}/blob/push/2.0.0`;
/** The first push protocol (the body follows the header unasked): received from, and used towards, older nodes. */
export const BLOB_PUSH_PROTOCOL_V1 = `${PROTOCOL_PREFIX}/blob/push/1.0.0`;
export const BLOB_FETCH_PROTOCOL = `${PROTOCOL_PREFIX}/blob/fetch/1.0.0`;

/**
 * Push and fetch streams one peer may open: a round needs a handful per peer (one update or partial, a model
 * or two, a few retries), so a burst of 16 and 4 per second is ample and a flood is cut at once.
 */
export const BLOB_REQUESTS_PER_PEER: RateSpec = { burst: 16, intervalMs: 250 };
/** Concurrent inbound push streams per connection; fetches may be more (small requests, served from disk). */
export const BLOB_MAX_INBOUND_PUSHES = 4;
export const BLOB_MAX_INBOUND_FETCHES = 8;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const metaSchema = z.record(z.string().max(64), z.union([z.string().max(1024), z.number(), z.boolean()]));
export type BlobMeta = z.output<typeof metaSchema>;

export const pushHeaderSchema = z.object({
  v: z.literal(1),
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  meta: metaSchema.default({}),
});
export const ackSchema = z.object({
  ok: z.boolean(),
  code: z.string().max(32).optional(),
  reason: z.string().max(256).optional(),
  /** Push 2.0.0's reply to the header: send the body. */
  send: z.boolean().optional(),
  /** Push 2.0.0's reply to the header: the receiver holds these bytes already; no body, nothing more follows. */
  held: z.boolean().optional(),
});
export const fetchRequestSchema = z.union([
  z.object({ v: z.literal(1), sha256: sha256Hex }),
  z.object({ v: z.literal(1), commitment: sha256Hex }),
]);
export const fetchHeaderSchema = z.object({
  ok: z.boolean(),
  size: z.number().int().nonnegative().optional(),
  reason: z.string().max(256).optional(),
});

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface ReceivedBlob {
  readonly from: string;
  readonly kind: string;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly meta: BlobMeta;
}

/**
 * Handles a verified blob. Throwing a MeshError with code BLOB_REJECTED (or any error) sends a refusal
 * back to the sender; the receiver keeps running.
 */
export type BlobHandler = (blob: ReceivedBlob) => Promise<void> | void;
/** Returns the bytes with this hash when we serve them, else undefined. */
export type BlobProvider = (sha256: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
/** Returns the update committed as `root` (64 hex digits, no 0x) when we serve it, else undefined. */
export type CommittedBlobProvider = (root: string) => Uint8Array | undefined;
/**
 * Whether a pushed blob, named by its header, would add nothing to what we hold: true declines it before its body
 * is sent (push 2.0.0), and the push counts as delivered. Only for kinds whose handler merely keeps the bytes.
 */
export type HeldCheck = (header: { kind: string; sha256: string; meta: BlobMeta }) => boolean;
/** How a push ended: its body sent and accepted, or not needed because the receiver held the bytes. */
export type PushOutcome = "sent" | "held";

export interface BlobServiceOptions {
  /** Size limit per kind; kinds not listed are refused. */
  readonly maxBytes: Readonly<Record<string, number>>;
  /** Deadline for a whole transfer. */
  readonly timeoutMs?: number;
  /** Who may open blob streams (admitted peers). */
  readonly isAllowed: (peerId: PeerId) => boolean;
  readonly maxConcurrentStreams?: number;
  /**
   * Announced bytes of pushes one peer may have in flight at once (each push's buffer is allocated up front);
   * default: the largest kind's limit, so one peer holds at most one largest blob's worth of our memory.
   */
  readonly maxInFlightBytesPerPeer?: number;
  /** Announced bytes of all pushes in flight together; default: twice the largest kind's limit. */
  readonly maxInFlightBytes?: number;
  /** Push and fetch streams one peer may open (default BLOB_REQUESTS_PER_PEER). */
  readonly requestsPerPeer?: RateSpec;
  /** Told when a peer breaks the rules (over its rate, a body that fails its hash): abuse accounting. */
  readonly onViolation?: (peerId: string, kind: "stream-rate" | "blob-hash-mismatch") => void;
  /** The operator's upload budget, shared by every blob we send (node/resources/limits.ts); none = unlimited. */
  readonly uploadLimiter?: RateLimiter;
}

export interface BlobTransferStats {
  bytesSent: number;
  bytesReceived: number;
  /** Streams aborted because their peer was over its request rate. */
  refusedRate: number;
  /** Pushes refused because the peer's (or everyone's) in-flight bytes were spent. */
  refusedBusy: number;
  /** Pushes to us declined before their body because we held the bytes (`HeldCheck`). */
  declinedHeld: number;
  /** Our pushes whose body we did not send because the receiver held the bytes. */
  skippedHeld: number;
}

export class BlobService {
  private readonly handlers = new Map<string, BlobHandler>();
  private provider: BlobProvider | undefined;
  private committedProvider: CommittedBlobProvider | undefined;
  private heldCheck: HeldCheck | undefined;
  /** Content hashes of push bodies being received now, with how many pushes carry each. */
  private readonly incoming = new Map<string, number>();
  private node: Libp2p | undefined;
  private readonly timeoutMs: number;
  private readonly requests: KeyedRateLimiter;
  private readonly inFlight = new Map<string, number>();
  private inFlightTotal = 0;
  private readonly maxInFlightPerPeer: number;
  private readonly maxInFlight: number;
  readonly stats: BlobTransferStats = {
    bytesSent: 0,
    bytesReceived: 0,
    refusedRate: 0,
    refusedBusy: 0,
    declinedHeld: 0,
    skippedHeld: 0,
  };

  private readonly options: BlobServiceOptions;

  constructor(options: BlobServiceOptions) {
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.requests = new KeyedRateLimiter(options.requestsPerPeer ?? BLOB_REQUESTS_PER_PEER);
    const largest = Math.max(0, ...Object.values(options.maxBytes));
    this.maxInFlightPerPeer = options.maxInFlightBytesPerPeer ?? largest;
    this.maxInFlight = options.maxInFlightBytes ?? 2 * largest;
  }

  async start(node: Libp2p): Promise<void> {
    this.node = node;
    const outbound = this.options.maxConcurrentStreams ?? 32;
    for (const [protocol, asks] of [
      [BLOB_PUSH_PROTOCOL, true],
      [BLOB_PUSH_PROTOCOL_V1, false],
    ] as const) {
      await node.handle(protocol, (stream, connection) => this.receivePush(stream, connection, asks), {
        maxInboundStreams: Math.min(outbound, BLOB_MAX_INBOUND_PUSHES),
        maxOutboundStreams: outbound,
      });
    }
    await node.handle(BLOB_FETCH_PROTOCOL, (stream, connection) => this.serveFetch(stream, connection), {
      maxInboundStreams: Math.min(outbound, BLOB_MAX_INBOUND_FETCHES),
      maxOutboundStreams: outbound,
    });
  }

  async stop(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node === undefined) return;
    await node.unhandle(BLOB_PUSH_PROTOCOL).catch(() => undefined);
    await node.unhandle(BLOB_PUSH_PROTOCOL_V1).catch(() => undefined);
    await node.unhandle(BLOB_FETCH_PROTOCOL).catch(() => undefined);
  }

  /** Registers the handler for one kind of pushed blob. */
  onBlob(kind: string, handler: BlobHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Serves fetch requests from `provider`. */
  serve(provider: BlobProvider): void {
    this.provider = provider;
  }

  /** Serves fetch requests by commitment root from `provider`. */
  serveCommitted(provider: CommittedBlobProvider): void {
    this.committedProvider = provider;
  }

  /** Declines pushes of blobs `check` says we hold, before their body is sent (push 2.0.0 senders). */
  holds(check: HeldCheck): void {
    this.heldCheck = check;
  }

  /**
   * Whether a push of the blob with this content hash is arriving now: body on its way or its handler at work
   * (a fetch of it would be a second copy).
   */
  receiving(hash: string): boolean {
    return this.incoming.has(hash);
  }

  /**
   * Pushes `bytes` to `peer`; resolves when the receiver verified and accepted them ("sent"), or, before the body
   * was sent, said it holds them already ("held", push 2.0.0).
   */
  async push(
    peer: PeerId,
    kind: string,
    bytes: Uint8Array,
    meta: BlobMeta = {},
    signal?: AbortSignal,
  ): Promise<PushOutcome> {
    const limit = this.options.maxBytes[kind];
    if (limit === undefined || bytes.length > limit)
      throw new MeshError("BLOB_TOO_LARGE", `${kind} of ${bytes.length} B exceeds the ${limit ?? 0} B limit`);
    const deadline = this.deadline(signal);
    const stream = await this.open(peer, [BLOB_PUSH_PROTOCOL, BLOB_PUSH_PROTOCOL_V1], deadline);
    try {
      const frames = frameStream(stream);
      await frames.write({ v: 1, kind, size: bytes.length, sha256: sha256(bytes), meta }, deadline);
      if (stream.protocol === BLOB_PUSH_PROTOCOL) {
        const reply = await frames.read(ackSchema, deadline);
        if (!reply.ok) throw refusal(kind, reply);
        if (reply.held === true) {
          this.stats.skippedHeld += 1;
          await stream.close({ signal: deadline });
          return "held";
        }
        if (reply.send !== true) throw new MeshError("FRAME_MALFORMED", "push reply neither sends nor holds");
      }
      await writeBody(stream, bytes, deadline, this.options.uploadLimiter);
      this.stats.bytesSent += bytes.length;
      await stream.close({ signal: deadline });
      const ack = await frames.read(ackSchema, deadline);
      if (!ack.ok) throw refusal(kind, ack);
      return "sent";
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw toMeshError(error, deadline);
    }
  }

  /** Fetches the blob with `hash` from `peer` and checks it; at most `maxBytes` are accepted. */
  async fetch(peer: PeerId, hash: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    const hasher = createHash("sha256");
    const bytes = await this.request(peer, { v: 1, sha256: hash }, maxBytes, signal, hasher);
    if (hasher.digest("hex") !== hash)
      throw new MeshError("BLOB_HASH_MISMATCH", "fetched bytes do not match the requested hash");
    return bytes;
  }

  /**
   * Fetches the update `peer` holds under commitment `root` (64 hex digits, no 0x); at most `maxBytes` are
   * accepted. Unchecked here: the caller verifies the bytes against the commitment (the blob layer cannot).
   */
  async fetchCommitted(
    peer: PeerId,
    root: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    return this.request(peer, { v: 1, commitment: root }, maxBytes, signal, createHash("sha256"));
  }

  private async request(
    peer: PeerId,
    request: z.input<typeof fetchRequestSchema>,
    maxBytes: number,
    signal: AbortSignal | undefined,
    hasher: Hash,
  ): Promise<Uint8Array> {
    const deadline = this.deadline(signal);
    const stream = await this.open(peer, BLOB_FETCH_PROTOCOL, deadline);
    const name = "sha256" in request ? request.sha256 : request.commitment;
    try {
      // The server may send header and body at once and close its end before we read a byte: the body is
      // read from the same reader as the header, sized for what we accept.
      const frames = frameStream(stream, MAX_FRAME_BYTES, maxBytes + READ_CHUNK_BYTES);
      await frames.write(request, deadline);
      await stream.close({ signal: deadline });
      const header = await frames.read(fetchHeaderSchema, deadline);
      if (!header.ok || header.size === undefined)
        throw new MeshError(
          "BLOB_NOT_FOUND",
          `peer does not serve ${name.slice(0, 12)}…: ${header.reason ?? ""}`,
        );
      if (header.size > maxBytes)
        throw new MeshError("BLOB_TOO_LARGE", `peer announced ${header.size} B > ${maxBytes} B`);
      const bytes = await readBody(frames.bytes, header.size, deadline, hasher);
      this.stats.bytesReceived += bytes.length;
      return bytes;
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw toMeshError(error, deadline);
    }
  }

  private deadline(signal?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  }

  private async open(peer: PeerId, protocol: string | string[], signal: AbortSignal): Promise<Stream> {
    const node = this.node;
    if (node === undefined) throw new MeshError("PEER_UNREACHABLE", "mesh is not running");
    try {
      return await node.dialProtocol(peer, protocol, { signal });
    } catch (error) {
      throw toMeshError(error, signal);
    }
  }

  /** Refuses a stream of a peer that is not admitted or over its request rate (aborted, nothing read). */
  private refuseStream(stream: Stream, connection: Connection): boolean {
    if (!this.options.isAllowed(connection.remotePeer)) {
      stream.abort(new MeshError("NOT_ADMITTED", "peer is not admitted"));
      return true;
    }
    if (!this.requests.take(connection.remotePeer.toString())) {
      this.stats.refusedRate += 1;
      this.options.onViolation?.(connection.remotePeer.toString(), "stream-rate");
      stream.abort(new MeshError("BLOB_REJECTED", "too many blob requests"));
      return true;
    }
    return false;
  }

  /** Reserves `size` bytes of the in-flight budgets for `peer`; false when either is spent. */
  private reserve(peer: string, size: number): boolean {
    const held = this.inFlight.get(peer) ?? 0;
    if (held + size > this.maxInFlightPerPeer || this.inFlightTotal + size > this.maxInFlight) return false;
    this.inFlight.set(peer, held + size);
    this.inFlightTotal += size;
    return true;
  }

  private release(peer: string, size: number): void {
    const left = (this.inFlight.get(peer) ?? 0) - size;
    if (left > 0) this.inFlight.set(peer, left);
    else this.inFlight.delete(peer);
    this.inFlightTotal -= size;
  }

  /** `asks`: push 2.0.0, whose sender waits for our reply to the header before it sends the body. */
  private async receivePush(stream: Stream, connection: Connection, asks: boolean): Promise<void> {
    if (this.refuseStream(stream, connection)) return;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const frames = frameStream(stream);
    const sender = connection.remotePeer.toString();
    // Reading the raw body unwraps the frame reader, so the ack goes out through a fresh one.
    let replies = frames;
    let ack: z.input<typeof ackSchema>;
    try {
      const header = await frames.read(pushHeaderSchema, signal);
      const limit = this.options.maxBytes[header.kind];
      const handler = this.handlers.get(header.kind);
      if (limit === undefined || handler === undefined) {
        ack = { ok: false, code: "BLOB_REJECTED", reason: `kind ${header.kind} not accepted` };
      } else if (header.size > limit) {
        ack = { ok: false, code: "BLOB_TOO_LARGE", reason: `${header.size} B exceeds ${limit} B` };
      } else if (asks && this.heldCheck?.(header) === true) {
        this.stats.declinedHeld += 1;
        ack = { ok: true, held: true };
      } else if (!this.reserve(sender, header.size)) {
        this.stats.refusedBusy += 1;
        ack = { ok: false, code: "BLOB_REJECTED", reason: "busy: too many bytes in flight" };
      } else {
        // Counted from the first body byte until the handler is done (checks and keeps them): a watcher waiting
        // for these bytes keeps waiting instead of fetching a second copy (`receiving`).
        this.incoming.set(header.sha256, (this.incoming.get(header.sha256) ?? 0) + 1);
        try {
          let bytes: Uint8Array;
          const hasher = createHash("sha256");
          try {
            if (asks) await frames.write({ ok: true, send: true }, signal);
            // The pusher waits for our ack, so its stream stays open: hand the unread bytes to a reader sized
            // for this body (the frame reader's bound is for frames, and the muxer does not wait for us).
            const body = byteStream(frames.bytes.unwrap(), { maxBufferSize: header.size + READ_CHUNK_BYTES });
            try {
              bytes = await readBody(body, header.size, signal, hasher);
            } finally {
              body.unwrap();
            }
          } finally {
            this.release(sender, header.size);
          }
          replies = frameStream(stream);
          this.stats.bytesReceived += bytes.length;
          if (hasher.digest("hex") !== header.sha256) {
            this.options.onViolation?.(sender, "blob-hash-mismatch");
            ack = { ok: false, code: "BLOB_HASH_MISMATCH", reason: "bytes do not match the announced hash" };
          } else {
            await handler({
              from: connection.remotePeer.toString(),
              kind: header.kind,
              bytes,
              sha256: header.sha256,
              meta: header.meta,
            });
            ack = { ok: true };
          }
        } finally {
          const left = (this.incoming.get(header.sha256) ?? 1) - 1;
          if (left > 0) this.incoming.set(header.sha256, left);
          else this.incoming.delete(header.sha256);
        }
      }
    } catch (error) {
      const failure = error instanceof MeshError ? error : toMeshError(error, signal);
      ack = { ok: false, code: failure.code, reason: failure.message.slice(0, 256) };
    }
    try {
      await replies.write(ack, signal);
      await stream.close({ signal });
    } catch {
      stream.abort(new Error("blob ack failed"));
    }
  }

  private async serveFetch(stream: Stream, connection: Connection): Promise<void> {
    if (this.refuseStream(stream, connection)) return;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const frames = frameStream(stream);
    try {
      const request = await frames.read(fetchRequestSchema, signal);
      const bytes =
        "sha256" in request
          ? await this.provider?.(request.sha256)
          : this.committedProvider?.(request.commitment);
      if (bytes === undefined) {
        await frames.write({ ok: false, reason: "not found" }, signal);
      } else {
        await frames.write({ ok: true, size: bytes.length }, signal);
        await writeBody(stream, bytes, signal, this.options.uploadLimiter);
        this.stats.bytesSent += bytes.length;
      }
      await stream.close({ signal });
    } catch {
      stream.abort(new Error("blob fetch failed"));
    }
  }
}

function refusal(kind: string, ack: z.output<typeof ackSchema>): MeshError {
  return new MeshError("BLOB_REJECTED", `peer refused the ${kind}: ${ack.code ?? "?"}: ${ack.reason ?? ""}`);
}
