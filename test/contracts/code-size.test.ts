/**
 * The deployable contracts stay under Ethereum's code limits: 24,576 bytes of runtime code (EIP-170) and
 * 49,152 bytes of creation code (EIP-3860; TrainingRounds' creation code carries RoundsExtension's, which it
 * creates). TrainingRounds hit 24,543 bytes in session 3; the getTask/getRound/getChallenge views moved to
 * RoundsExtension to make room for the chained-proof challenge (#21); in session 7 it was at 24,521 and
 * `createTask` and `challenge` moved there too (entry points kept, 2,195 B freed). Prints each size and the room left, so
 * a change that eats the room shows here before it fails a deployment.
 */
import { readFile } from "node:fs/promises";

import { expect } from "chai";

/** EIP-170: most bytes of runtime code an account may hold. */
const MAX_RUNTIME_BYTES = 24_576;
/** EIP-3860: most bytes of creation code a transaction or CREATE may run. */
const MAX_INITCODE_BYTES = 49_152;

const CONTRACTS = [
  "contracts/TrainingRounds.sol/TrainingRounds.json",
  "contracts/rounds/RoundsExtension.sol/RoundsExtension.json",
  "contracts/StakeRegistry.sol/StakeRegistry.json",
  "contracts/verifier/AggregationVerifier.sol/AggregationVerifier.json",
] as const;

interface Artifact {
  readonly contractName: string;
  readonly bytecode: string;
  readonly deployedBytecode: string;
}

function hexBytes(hex: string): number {
  return (hex.length - 2) / 2;
}

describe("contract code size", () => {
  for (const path of CONTRACTS) {
    it(`${path.split("/").pop()!.replace(".json", "")} fits the runtime and creation code limits`, async () => {
      const artifact = JSON.parse(
        await readFile(new URL(`../../artifacts/${path}`, import.meta.url), "utf8"),
      ) as Artifact;
      const runtime = hexBytes(artifact.deployedBytecode);
      const creation = hexBytes(artifact.bytecode);
      console.log(
        `      ${artifact.contractName}: runtime ${runtime} B (${MAX_RUNTIME_BYTES - runtime} left), ` +
          `creation ${creation} B (${MAX_INITCODE_BYTES - creation} left)`,
      );
      expect(runtime).to.be.greaterThan(0);
      expect(runtime).to.be.at.most(MAX_RUNTIME_BYTES);
      expect(creation).to.be.at.most(MAX_INITCODE_BYTES);
    });
  }
});
