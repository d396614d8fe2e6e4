import type { Command } from "commander";

import { formatTokens, parseAddress, parseTokenAmount } from "../../chain/amounts.ts";
import { undelegate } from "../../chain/actions/index.ts";
import { addSignerOptions, isoFromSeconds, openOperatorContext, printResult } from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";

/** Registers `undelegate <operator> [amount]` (all when no amount is given). */
export function registerUndelegateCommand(program: Command): void {
  addSignerOptions(program.command("undelegate <operator> [amount]"))
    .description("start undelegating from an operator (all by default); withdraw after the unbonding delay")
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node undelegate 0xOperator\n  npx vain-node undelegate 0xOperator 100 --json\n",
    )
    .action(async (operatorText: string, amountText: string | undefined, flags: SignerFlags) => {
      const operator = parseAddress(operatorText);
      const amountWei = amountText === undefined ? undefined : parseTokenAmount(amountText);
      const ctx = await openOperatorContext(flags);
      const result = await undelegate(ctx, { operator, amountWei });
      printResult(flags, { action: "undelegate", ...result }, [
        `undelegating ${formatTokens(result.amountWei)} from ${result.operator}`,
        `  withdrawable at  ${isoFromSeconds(result.releaseTime)} (run \`vain-node withdraw --from ${result.operator}\` then)`,
        `  tx               ${result.transactionHash}`,
      ]);
    });
}
