/**
 * Noise (`@chainsafe/libp2p-noise` 17) with leaner transport framing. The handshake, the cipher states and the
 * ChaCha20-Poly1305 implementation are Noise's own and unchanged; only how encrypted frames are cut out of the
 * byte stream and handed to the transport changes, and the bytes on the wire are identical (a 2-byte big-endian
 * length, then the ciphertext), so a node with this encrypter talks to any Noise peer.
 *
 * Why: in bench:mesh at 1,000 nodes (docs/scaling.md) every gossip copy is one Noise frame, and the stock
 * stream did two avoidable things per frame:
 * - its frame decoder (`LengthPrefixedDecoder` with `uint16BEDecode`) learns that the read buffer is used up by
 *   throwing and catching a `RangeError`, so every received chunk cost an Error object with a captured stack
 *   trace (the largest single JS function in the gossip profile, ~6 % of a worker's CPU, plus its garbage);
 * - its encrypter hands the transport a two-piece list (length prefix, ciphertext), and the TCP transport
 *   writes each piece with its own `socket.write`, i.e. two system calls per frame.
 * Here the decoder stops when the buffer holds no whole frame without throwing, and each frame goes out as
 * one buffer.
 */
import { noise } from "@chainsafe/libp2p-noise";
import type { NoiseInit } from "@chainsafe/libp2p-noise";
import type { SecuredConnection } from "@libp2p/interface";
import { allocUnsafe } from "uint8arrays/alloc";

/** Largest Noise transport message (spec: 65,535 bytes, 16 of them the Poly1305 tag). */
export const NOISE_MAX_FRAME_BYTES = 65_535;
const TAG_BYTES = 16;
const MAX_PLAINTEXT_BYTES = NOISE_MAX_FRAME_BYTES - TAG_BYTES;
/** Bytes buffered while waiting for the rest of a frame before the connection is aborted (Noise's own limit). */
export const NOISE_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** Bytes as the libp2p stream stack passes them: one buffer, or a list of them (`Uint8ArrayList`). */
interface ByteList {
  readonly byteLength: number;
  subarray(): Uint8Array;
}
type Bytes = Uint8Array | ByteList;

/** The parts of Noise's `EncryptedMessageStream` that framing touches (checked at run time, see `leanFraming`). */
interface NoiseStreamInternals {
  decoder: { decode(data: Bytes): Iterable<Bytes> };
  encrypt(chunk: Bytes): Bytes;
  readonly handshake: { encrypt(plaintext: Uint8Array): Bytes };
}

/** Raised when a peer's frames cannot be parsed; Noise aborts the connection with it. */
export class NoiseFramingError extends Error {
  readonly code = "NOISE_FRAMING";
  constructor(message: string) {
    super(message);
    this.name = "NoiseFramingError";
  }
}

function flat(bytes: Bytes): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : bytes.subarray();
}

/**
 * Cuts 2-byte-length-prefixed frames out of a byte stream. Frames are returned as views of the received
 * buffers (Noise decrypts them in place); a partial frame waits for the next chunk.
 */
export class NoiseFrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  *decode(data: Bytes): Generator<Uint8Array> {
    const chunk = flat(data);
    let buffer: Uint8Array;
    if (this.pending.byteLength === 0) {
      buffer = chunk;
    } else {
      buffer = allocUnsafe(this.pending.byteLength + chunk.byteLength);
      buffer.set(this.pending, 0);
      buffer.set(chunk, this.pending.byteLength);
    }
    if (buffer.byteLength > NOISE_MAX_BUFFERED_BYTES)
      throw new NoiseFramingError(`${buffer.byteLength} bytes buffered without a complete Noise frame`);
    let offset = 0;
    while (buffer.byteLength - offset >= 2) {
      const length = ((buffer[offset] as number) << 8) | (buffer[offset + 1] as number);
      if (buffer.byteLength - offset - 2 < length) break;
      const frame = buffer.subarray(offset + 2, offset + 2 + length);
      offset += 2 + length;
      // Noise's own decoder skips empty frames too (an empty frame cannot carry a tag; decrypting it fails).
      if (length > 0) {
        // Keep what is left before handing the frame out: the consumer may throw, ending the generator.
        this.pending = buffer.subarray(offset);
        yield frame;
      }
    }
    this.pending = offset === buffer.byteLength ? new Uint8Array(0) : buffer.subarray(offset);
  }
}

/**
 * Encrypts `chunk` as Noise transport messages (at most 65,519 plaintext bytes each) and returns them as one
 * buffer: length prefix and ciphertext of every frame, back to back.
 */
export function encryptFrames(chunk: Bytes, encrypt: (plaintext: Uint8Array) => Bytes): Uint8Array {
  const plaintext = flat(chunk);
  const ciphertexts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < plaintext.byteLength; i += MAX_PLAINTEXT_BYTES) {
    const sealed = flat(
      encrypt(plaintext.subarray(i, Math.min(i + MAX_PLAINTEXT_BYTES, plaintext.byteLength))),
    );
    ciphertexts.push(sealed);
    total += 2 + sealed.byteLength;
  }
  const out = allocUnsafe(total);
  let offset = 0;
  for (const sealed of ciphertexts) {
    out[offset] = sealed.byteLength >> 8;
    out[offset + 1] = sealed.byteLength & 0xff;
    out.set(sealed, offset + 2);
    offset += 2 + sealed.byteLength;
  }
  return out;
}

function hasNoiseInternals(stream: object): stream is NoiseStreamInternals {
  const s = stream as Partial<Record<keyof NoiseStreamInternals, unknown>>;
  const decoder = s.decoder as { decode?: unknown } | undefined;
  const handshake = s.handshake as { encrypt?: unknown } | undefined;
  return (
    typeof s.encrypt === "function" &&
    typeof decoder?.decode === "function" &&
    typeof handshake?.encrypt === "function"
  );
}

/**
 * Swaps the framing of a secured Noise connection for the lean one. Returns false (and leaves the connection
 * as Noise made it) if the installed Noise no longer has the expected shape; `noise-framing.test.ts` fails then.
 */
export function leanFraming(secured: SecuredConnection<unknown>): boolean {
  const stream: object = secured.connection;
  if (!hasNoiseInternals(stream)) return false;
  const handshake = stream.handshake;
  stream.decoder = new NoiseFrameDecoder();
  stream.encrypt = (chunk: Bytes): Uint8Array =>
    encryptFrames(chunk, (plaintext) => handshake.encrypt(plaintext));
  return true;
}

/**
 * Connections secured by `leanNoise` in this process: with lean framing, and left with Noise's own framing
 * because the installed Noise did not have the expected shape (then `leanFraming` needs updating).
 */
export const noiseFramingCounts = { lean: 0, stock: 0 };

function count(applied: boolean): void {
  if (applied) noiseFramingCounts.lean += 1;
  else noiseFramingCounts.stock += 1;
}

/** `noise()` from `@chainsafe/libp2p-noise` with lean framing on every connection it secures. */
export function leanNoise(init?: NoiseInit): ReturnType<typeof noise> {
  const factory = noise(init);
  return (components) => {
    const encrypter = factory(components);
    const secureInbound = encrypter.secureInbound.bind(encrypter);
    const secureOutbound = encrypter.secureOutbound.bind(encrypter);
    encrypter.secureInbound = async (connection, options) => {
      const secured = await secureInbound(connection, options);
      count(leanFraming(secured));
      return secured;
    };
    encrypter.secureOutbound = async (connection, options) => {
      const secured = await secureOutbound(connection, options);
      count(leanFraming(secured));
      return secured;
    };
    return encrypter;
  };
}
