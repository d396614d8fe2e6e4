import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

import {
  TopKCompressor,
  UpdateDecodeError,
  decodeCompressorState,
  encodeCompressorState,
} from "../compression/index.ts";
import { RoundStore } from "./round-store.ts";
import { mapFloat32 } from "../core/vectors.ts";

describe("RoundStore: the compressor's state across a restart", () => {
  it("keeps the latest state through prune, and a torn file decodes to a typed error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vain-store-"));
    try {
      const store = new RoundStore(dir);
      assert.equal(await store.loadCompressorState(), undefined);
      const compressor = new TopKCompressor({ ratio: 0.1, momentum: 0.5 });
      compressor.compress(mapFloat32({ length: 100 }, (_, i) => Math.sin(i)));
      await store.saveCompressorState(encodeCompressorState(compressor.state()!));
      await store.saveOwnUpdate(3n, Uint8Array.of(1, 2, 3));
      await store.prune(10n);
      const restarted = new RoundStore(dir);
      const loaded = decodeCompressorState((await restarted.loadCompressorState())!, 100);
      assert.deepEqual(loaded, compressor.state());
      await writeFile(join(dir, "rounds", "compressor.state"), Uint8Array.of(0x56, 0x43, 1, 0, 100));
      assert.throws(() => decodeCompressorState(new Uint8Array(0), 100), UpdateDecodeError);
      const torn = await restarted.loadCompressorState();
      assert.throws(() => decodeCompressorState(torn!, 100), UpdateDecodeError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
