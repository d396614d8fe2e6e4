/**
 * The Hardhat config of the local chain processes that tests, benchmarks and the demo start
 * (node/chain/hardhat-process.ts): the `node` network alone, with no plugins, no compiler and no artifacts. A chain
 * process needs none of them: the contracts are deployed from node/chain/generated and reverts are decoded by
 * viem. Under hardhat.config.ts each start loaded every plugin and uploaded artifacts/build-info (68 MB of
 * compiler output) to EDR: 2.4 CPU s, 420 MB resident and 7 s to answer, against 1.4 CPU s, 190 MB and 4 s with
 * this file (one start each, load ~8, 2026-12-06); the node suite starts about 50 chains.
 */
import { fileURLToPath } from "node:url";

import { defineConfig } from "hardhat/config";

import { LOCAL_CHAIN_NETWORK } from "./hardhat.network.ts";

export default defineConfig({
  // `hardhat node` watches <artifacts>/build-info for contracts to trace: an empty directory of its own.
  paths: { artifacts: fileURLToPath(new URL("cache/chain-artifacts", import.meta.url)) },
  networks: { node: LOCAL_CHAIN_NETWORK },
});
