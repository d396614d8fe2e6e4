import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";

import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { Libp2p, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";

import {
  encryptFrames,
  leanNoise,
  NOISE_MAX_BUFFERED_BYTES,
  NoiseFrameDecoder,
  NoiseFramingError,
  noiseFramingCounts,
} from "./noise-framing.ts";

/** Ports of this file (18720-18729 belong to the mesh scaling work). */
const PORT_A = 18721;
const PORT_B = 18722;
const ECHO = "/vain-test/echo/1.0.0";

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.byteLength);
  out[0] = payload.byteLength >> 8;
  out[1] = payload.byteLength & 0xff;
  out.set(payload, 2);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

test("frame decoder: whole, split byte by byte, several per chunk, empty frames skipped", () => {
  const payloads = [randomBytes(1), randomBytes(300), new Uint8Array(0), randomBytes(65_535), randomBytes(7)];
  const wire = concat(payloads.map(frame));
  const expected = payloads.filter((p) => p.byteLength > 0).map((p) => Buffer.from(p).toString("hex"));

  const whole = [...new NoiseFrameDecoder().decode(wire)].map((f) => Buffer.from(f).toString("hex"));
  assert.deepEqual(whole, expected);

  const decoder = new NoiseFrameDecoder();
  const byByte: string[] = [];
  for (let i = 0; i < wire.byteLength; i++)
    for (const f of decoder.decode(wire.subarray(i, i + 1))) byByte.push(Buffer.from(f).toString("hex"));
  assert.deepEqual(byByte, expected);

  // Uneven chunks that cut through length prefixes and payloads.
  const uneven = new NoiseFrameDecoder();
  const cuts: string[] = [];
  for (let i = 0; i < wire.byteLength; i += 1_001)
    for (const f of uneven.decode(wire.subarray(i, i + 1_001))) cuts.push(Buffer.from(f).toString("hex"));
  assert.deepEqual(cuts, expected);
});

test("frame decoder: a partial frame waits; too many buffered bytes is a typed error", () => {
  const decoder = new NoiseFrameDecoder();
  assert.deepEqual([...decoder.decode(new Uint8Array([0x01]))], []);
  assert.deepEqual([...decoder.decode(new Uint8Array([0x00, 0xaa]))], []);
  // Stream the rest of a 256-byte frame plus the next frame's first byte.
  const rest = new Uint8Array(255).fill(0xaa);
  const frames = [...decoder.decode(concat([rest, new Uint8Array([0x00])]))];
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.byteLength, 256);
  assert.ok(frames[0]?.every((b) => b === 0xaa));

  const flooded = new NoiseFrameDecoder();
  assert.throws(
    () => [...flooded.decode(new Uint8Array(NOISE_MAX_BUFFERED_BYTES + 1))],
    (error: unknown) => error instanceof NoiseFramingError && error.code === "NOISE_FRAMING",
  );
});

test("encryptFrames: one buffer, frames of at most 65,535 bytes, lengths prefixed", () => {
  const tag = new Uint8Array(16).fill(0xee);
  const sealer = (p: Uint8Array): Uint8Array => concat([p, tag]);
  const plaintext = randomBytes(150_000);
  const out = encryptFrames(plaintext, sealer);
  const frames = [...new NoiseFrameDecoder().decode(out)];
  assert.deepEqual(
    frames.map((f) => f.byteLength),
    [65_535, 65_535, 150_000 - 2 * 65_519 + 16],
  );
  const recovered = concat(frames.map((f) => f.subarray(0, f.byteLength - 16)));
  assert.equal(Buffer.compare(recovered, plaintext), 0);
});

async function startNode(port: number, lean: boolean): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] },
    transports: [tcp()],
    connectionEncrypters: [lean ? leanNoise() : noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
  await node.handle(ECHO, async (stream: Stream) => {
    for await (const chunk of stream) if (!stream.send(chunk)) await stream.onDrain();
    await stream.close();
  });
  return node;
}

/** Sends `payloads` one after another on one stream and reads everything echoed back. */
async function echo(stream: Stream, payloads: readonly Uint8Array[]): Promise<Buffer> {
  const expected = payloads.reduce((n, p) => n + p.byteLength, 0);
  const reading = (async () => {
    const parts: Uint8Array[] = [];
    let received = 0;
    for await (const chunk of stream) {
      const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
      parts.push(bytes);
      received += bytes.byteLength;
      if (received >= expected) break;
    }
    return Buffer.from(concat(parts));
  })();
  for (const p of payloads) if (!stream.send(p)) await stream.onDrain();
  return reading;
}

test("lean and stock Noise interoperate over TCP + Yamux, both directions", async () => {
  const before = { ...noiseFramingCounts };
  const lean = await startNode(PORT_A, true);
  const stock = await startNode(PORT_B, false);
  try {
    // Many small writes (gossip-sized) and one large one (several Noise frames), from each side.
    const small = Array.from({ length: 500 }, (_, i) => randomBytes(20 + (i % 300)));
    const large = randomBytes(400_000);
    const payloads = [...small, large];
    const sent = createHash("sha256").update(concat(payloads)).digest("hex");
    for (const [from, to] of [
      [lean, stock],
      [stock, lean],
    ] as const) {
      const stream = await from.dialProtocol(to.getMultiaddrs(), ECHO, {
        signal: AbortSignal.timeout(10_000),
      });
      const back = await echo(stream, payloads);
      assert.equal(createHash("sha256").update(back).digest("hex"), sent);
      await stream.close();
    }
    // Every connection the lean node secured got lean framing (none fell back to Noise's own).
    assert.ok(noiseFramingCounts.lean - before.lean >= 1);
    assert.equal(noiseFramingCounts.stock - before.stock, 0);
  } finally {
    await lean.stop();
    await stock.stop();
  }
});
