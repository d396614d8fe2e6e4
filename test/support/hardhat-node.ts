/** Tests start chains the same way the demo does. */
export { runNodeScript, startHardhatNode } from "../../node/chain/hardhat-process.ts";
export type { HardhatNodeProcess } from "../../node/chain/hardhat-process.ts";
