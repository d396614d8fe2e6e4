/**
 * The `node` network of both Hardhat configs (hardhat.config.ts, hardhat.chain.config.ts): the local chain of the
 * README and of the process tests.
 */
import type { EdrNetworkUserConfig } from "hardhat/types/config";

/**
 * Same-second blocks keep the chain's clock on the wall clock: otherwise every automined transaction pushes the
 * next block's timestamp one second further, and under the nodes' traffic (commits, duties, answers) chain time
 * ran 111 s ahead of the wall clock within 8 minutes of a soak, so a task's 8 s commit window closed in well under
 * a second of real time and every round failed (scripts/bench/soak.ts).
 */
export const LOCAL_CHAIN_NETWORK: EdrNetworkUserConfig = {
  type: "edr-simulated",
  chainType: "l1",
  allowBlocksWithSameTimestamp: true,
};
