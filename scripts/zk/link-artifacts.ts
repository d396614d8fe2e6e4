/**
 * Commits the chained-proof link artifacts the chain verifies (docs/protocol.md §5): copies the K = 4, C = 64
 * link's wasm, zkey and verification key from circuits/build/link (made by
 * `npm run bench:zk-chain -- --k 4 --c 64`, a dev setup over the 2^14 powers of tau: not a ceremony) into
 * circuits/artifacts/link with a SHA-256 manifest, and renders contracts/verifier/LinkGroth16Verifier.sol.
 * Usage: `npm run zk:link`, then `npx hardhat build && node scripts/export-abis.ts`.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { LINK_SHAPE } from "../../node/proofs/link-proof.ts";
import { renderGroth16Verifier } from "./groth16-verifier-sol.ts";
import { r1csConstraints } from "./r1cs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const name = `link_k${LINK_SHAPE.trainers}_c${LINK_SHAPE.chunkSize}_n${LINK_SHAPE.countBits}`;
const BUILD = `${ROOT}circuits/build/link/`;
const OUT = `${ROOT}circuits/artifacts/link/`;

await mkdir(OUT, { recursive: true });
await copyFile(`${BUILD}${name}_js/${name}.wasm`, `${OUT}link.wasm`);
await copyFile(`${BUILD}${name}.zkey`, `${OUT}link.zkey`);
await copyFile(`${BUILD}${name}.vkey.json`, `${OUT}verification_key.json`);
const sha256 = async (file: string) =>
  createHash("sha256")
    .update(await readFile(`${OUT}${file}`))
    .digest("hex");
const files = ["link.wasm", "link.zkey", "verification_key.json"];
const manifest = {
  circuit: `circuits/aggregate-link.circom: AggregateLink(${LINK_SHAPE.trainers}, ${LINK_SHAPE.chunkSize}, 16, 16, ${LINK_SHAPE.countBits})`,
  constraints: await r1csConstraints(`${BUILD}${name}.r1cs`),
  insecureDevelopmentSetup: true,
  files: Object.fromEntries(await Promise.all(files.map(async (f) => [f, await sha256(f)] as const))),
};
await writeFile(`${OUT}manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
await writeFile(
  `${ROOT}contracts/verifier/LinkGroth16Verifier.sol`,
  renderGroth16Verifier(JSON.parse(await readFile(`${OUT}verification_key.json`, "utf8")) as never, {
    contractName: "LinkGroth16Verifier",
    circuit: "circuits/aggregate-link.circom (K = 4, C = 64)",
    keyFile: "circuits/artifacts/link/verification_key.json",
    generatedBy: "npm run zk:link",
  }),
);
process.stdout.write(`wrote ${OUT} and contracts/verifier/LinkGroth16Verifier.sol\n`);
