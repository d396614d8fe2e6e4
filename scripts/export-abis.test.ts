import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import * as generated from "../node/chain/generated/contracts.ts";
import { EXPORTED_CONTRACTS, exportedAbi } from "./export-abis.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Bytecode without solc's trailing CBOR metadata (its hash depends on how Hardhat grouped the sources
 * into compilation jobs, which differs between incremental and clean builds; the code does not).
 */
function stripMetadata(bytecode: string): string {
  const hex = bytecode.replace(/^0x/, "");
  const metadataBytes = parseInt(hex.slice(-4), 16);
  return hex.slice(0, hex.length - (metadataBytes + 2) * 2);
}

// `npm test` compiles the contracts (Hardhat suite) before this suite runs, so the artifacts are current.
test("committed ABIs and bytecode match the compiled contracts", async () => {
  const exports = generated as unknown as Record<string, unknown>;
  for (const { name, source } of EXPORTED_CONTRACTS) {
    const artifact = JSON.parse(await readFile(`${ROOT}artifacts/${source}/${name}.json`, "utf8")) as {
      abi: unknown;
      bytecode: string;
    };
    const prefix = `${name.charAt(0).toLowerCase()}${name.slice(1)}`;
    const stale = `node/chain/generated/contracts.ts is stale for ${name}: run \`npx hardhat build && node scripts/export-abis.ts\``;
    assert.deepEqual(exports[`${prefix}Abi`], await exportedAbi(name, source), stale);
    assert.equal(
      stripMetadata(exports[`${prefix}Bytecode`] as string),
      stripMetadata(artifact.bytecode),
      stale,
    );
  }
});
