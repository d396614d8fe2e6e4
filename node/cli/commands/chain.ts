import type { Command } from "commander";

import { registerCommissionCommand } from "./commission.ts";
import { registerDelegateCommand } from "./delegate.ts";
import { registerOperatorsCommand } from "./operators.ts";
import { registerStakingCommands } from "./staking.ts";
import { registerUndelegateCommand } from "./undelegate.ts";
import { registerStatusCommand } from "./status.ts";
import { registerTaskCommands } from "./tasks.ts";

/**
 * Registers the operator's chain commands: `status`, `stake`, `unstake`, `withdraw`, `claim`, `bind`,
 * `aggregator`, `task create|fund`, `round open`, and delegation: `delegate`, `undelegate`, `commission`,
 * `operators`, `delegations` (a delegator's `withdraw` and `claim` are `--from <operator>`).
 */
export function registerChainCommands(program: Command): void {
  registerStatusCommand(program);
  registerStakingCommands(program);
  registerDelegateCommand(program);
  registerUndelegateCommand(program);
  registerCommissionCommand(program);
  registerOperatorsCommand(program);
  registerTaskCommands(program);
}
