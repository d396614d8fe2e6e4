/**
 * The ABIs and bytecode the node ships (node/chain/generated/contracts.ts) are those of the contracts compiled
 * here. A mocha test of the Hardhat suite, which compiles the contracts first; as a node:test file it had to run
 * after that suite and kept the two suites from running side by side (scripts/test/run-all.ts).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import * as generated from "../../node/chain/generated/contracts.ts";
import { EXPORTED_CONTRACTS, exportedAbi } from "../../scripts/export-abis.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Bytecode without solc's trailing CBOR metadata (its hash depends on how Hardhat grouped the sources
 * into compilation jobs, which differs between incremental and clean builds; the code does not).
 */
function stripMetadata(bytecode: string): string {
  const hex = bytecode.replace(/^0x/, "");
  const metadataBytes = parseInt(hex.slice(-4), 16);
  return hex.slice(0, hex.length - (metadataBytes + 2) * 2);
}

describe("exported ABIs", () => {
  it("committed ABIs and bytecode match the compiled contracts", async () => {
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
});
