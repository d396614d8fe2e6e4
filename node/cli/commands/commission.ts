import type { Command } from "commander";

import { setCommission } from "../../chain/actions/index.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { addSignerOptions, isoFromSeconds, openOperatorContext, printResult } from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";

/** Registers `commission <bps>` (the operator's cut of its delegators' rewards). */
export function registerCommissionCommand(program: Command): void {
  addSignerOptions(program.command("commission <bps>"))
    .description("set the operator's commission in basis points (a cut applies now, a raise after a delay)")
    .addHelpText("after", "\nExamples:\n  npx vain-node commission 1000     # 10%\n")
    .action(async (bpsText: string, flags: SignerFlags) => {
      if (!/^\d+$/.test(bpsText))
        throw new InvalidArgumentError(`invalid commission "${bpsText}": basis points`);
      const ctx = await openOperatorContext(flags);
      const result = await setCommission(ctx, { bps: BigInt(bpsText) });
      printResult(flags, { action: "commission", ...result }, [
        `commission of ${result.operator}: ${result.currentBps} bps now`,
        ...(result.effectiveAt === 0n
          ? []
          : [`  raise to ${result.pendingBps} bps applies at ${isoFromSeconds(result.effectiveAt)}`]),
        `  tx  ${result.transactionHash}`,
      ]);
    });
}
