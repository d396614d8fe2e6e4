import { createRequire } from "node:module";

import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import { defineConfig } from "hardhat/config";

import { LOCAL_CHAIN_NETWORK } from "./hardhat.network.ts";

// solc comes from the pinned npm package so compiling never downloads a compiler.
const require = createRequire(import.meta.url);
const solcVersion: string = (require("solc/package.json") as { version: string }).version;
const solcPath: string = require.resolve("solc/soljson.js");

const compiler = {
  version: solcVersion,
  path: solcPath,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
  },
};

// The generated Poseidon segments are straight-line assembly: the optimizer's common-subexpression pass
// hoists their repeated memory loads into stack variables and runs out of stack, and has nothing to gain.
const unoptimized = { ...compiler, settings: { ...compiler.settings, optimizer: { enabled: false } } };
// TrainingRounds is compiled for size (via IR, runs: 1): the round game must stay under the 24 KB code limit, and
// its hot path (the challenge answer) is dominated by the verifier call, not by this contract's code.
const sizeOptimized = {
  ...compiler,
  settings: { ...compiler.settings, optimizer: { enabled: true, runs: 1 }, viaIR: true },
};
const overrides = {
  "contracts/verifier/PoseidonStatement.sol": unoptimized,
  "contracts/verifier/PoseidonLinkTrainers.sol": unoptimized,
  "contracts/verifier/PoseidonLinkStatement.sol": unoptimized,
  "contracts/TrainingRounds.sol": sizeOptimized,
};

export default defineConfig({
  plugins: [hardhatViem, hardhatViemAssertions, hardhatEthers, hardhatNetworkHelpers, hardhatMocha],
  solidity: {
    profiles: {
      default: { compilers: [compiler], overrides },
      production: { compilers: [compiler], overrides },
    },
  },
  paths: {
    tests: {
      mocha: "test",
      solidity: "contracts",
    },
  },
  test: {
    mocha: {
      timeout: 120_000,
    },
    solidity: {
      // Enough runs to find arithmetic edge cases while keeping `npm test` well under its budget.
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 32 },
    },
  },
  networks: {
    // `hardhat node` (the local chain of the README and of the process tests): hardhat.network.ts.
    node: LOCAL_CHAIN_NETWORK,
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
  },
});
