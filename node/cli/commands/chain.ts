import type { Command } from "commander";

import { registerStakingCommands } from "./staking.ts";
import { registerStatusCommand } from "./status.ts";
import { registerTaskCommands } from "./tasks.ts";

/**
 * Registers the operator's chain commands: `status`, `stake`, `unstake`, `withdraw`, `claim`, `bind`,
 * `aggregator`, `task create|fund`, `round open`.
 */
export function registerChainCommands(program: Command): void {
  registerStatusCommand(program);
  registerStakingCommands(program);
  registerTaskCommands(program);
}
