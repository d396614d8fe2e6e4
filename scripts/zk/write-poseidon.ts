/**
 * Writes the on-chain Poseidon hashes the verifiers compute when a statement is disputed:
 *  - contracts/verifier/PoseidonStatement.sol: Poseidon(11), a flat chunk statement (8 trainer chunk hashes,
 *    the aggregate chunk hash, packed weights, round and chunk);
 *  - contracts/verifier/PoseidonLinkTrainers.sol: Poseidon(4), a chained-proof link's trainer chunk hashes
 *    (K = 4, circuits/aggregate-link.circom);
 *  - contracts/verifier/PoseidonLinkStatement.sol: Poseidon(9), a link's statement (the trainers' hash, sums
 *    in and out, aggregate chunk hash, packed weights, weight in and out, round and chunk, link).
 * Usage: `npm run zk:poseidon`, then `npx hardhat build && node scripts/export-abis.ts`.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { renderPoseidonSegments } from "./poseidon-sol.ts";

/** Inputs of each generated hash: the flat statement at K = 8 (node/proofs/constants.ts STATEMENT_INPUTS), and
 * a K = 4 link's trainer hash and statement (node/proofs/link-proof.ts). */
const HASHES = [
  { name: "PoseidonStatement", inputs: 11 },
  { name: "PoseidonLinkTrainers", inputs: 4 },
  { name: "PoseidonLinkStatement", inputs: 9 },
] as const;

for (const { name, inputs } of HASHES) {
  const out = fileURLToPath(new URL(`../../contracts/verifier/${name}.sol`, import.meta.url));
  const { names, source } = renderPoseidonSegments(inputs, name);
  await writeFile(out, source);
  process.stdout.write(`wrote ${out} (${names.length} segments: ${names.join(", ")})\n`);
}
