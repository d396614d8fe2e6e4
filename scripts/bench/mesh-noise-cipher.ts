/**
 * Micro-benchmark beside `bench:mesh`: the ChaCha20-Poly1305 cost of one Noise transport frame, for the two
 * implementations `@chainsafe/libp2p-noise` ships on Node: AssemblyScript/wasm (`as-chacha20poly1305`, what its
 * default uses below 1,200 bytes) and `node:crypto` (what it uses from 1,200 bytes). Gossip copies in bench:mesh
 * are 150-400 byte frames, so this answers whether a node-native cipher for small frames would be cheaper
 * (docs/scaling.md).
 *
 * `flock /tmp/vain-bench.lock node_modules/.bin/node scripts/bench/mesh-noise-cipher.ts`
 */
import { asCrypto, nodeCrypto } from "@chainsafe/libp2p-noise/crypto";

import { printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";

const SIZES = [64, 256, 1_024, 4_096, 16_384];
const ROUNDS = 50_000;

type Impl = typeof asCrypto;

/** Microseconds per seal + open of one `size`-byte frame. */
function measure(impl: Impl, size: number): number {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12);
  const ad = new Uint8Array(0);
  const plaintext = new Uint8Array(size).fill(1);
  const once = (): void => {
    const sealed = impl.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key);
    const bytes = sealed instanceof Uint8Array ? sealed : sealed.subarray();
    impl.chaCha20Poly1305Decrypt(bytes, nonce, ad, key, undefined);
  };
  for (let i = 0; i < 2_000; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) once();
  return ((performance.now() - t0) * 1_000) / ROUNDS;
}

runBenchmark(async () => {
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  for (const size of SIZES) {
    const wasm = measure(asCrypto, size);
    const native = measure(nodeCrypto, size);
    rows.push({ frameBytes: size, wasmUs: wasm, nodeCryptoUs: native, nodeOverWasm: native / wasm });
    figures[`wasmUs${size}`] = wasm;
    figures[`nodeCryptoUs${size}`] = native;
  }
  printTable(rows);
  await writeResults("mesh-noise-cipher", figures, rows);
});
