/**
 * Writes contracts/verifier/PoseidonStatement.sol: the on-chain Poseidon(11) that computes the statement
 * hash (8 trainer chunk hashes, the aggregate chunk hash, packed weights, round and chunk). Usage:
 * `npm run zk:poseidon`, then `npx hardhat build && node scripts/export-abis.ts`.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { renderPoseidonSegments } from "./poseidon-sol.ts";

/** Inputs of the statement hash at K = 8 (node/proofs/constants.ts STATEMENT_INPUTS). */
const STATEMENT_INPUTS = 11;
const out = fileURLToPath(new URL("../../contracts/verifier/PoseidonStatement.sol", import.meta.url));
const { names, source } = renderPoseidonSegments(STATEMENT_INPUTS, "PoseidonStatement");
await writeFile(out, source);
process.stdout.write(`wrote ${out} (${names.length} segments: ${names.join(", ")})\n`);
