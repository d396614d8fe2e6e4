import type { Command } from "commander";

import { formatTokens, parseAddress, parseTokenAmount } from "../../chain/amounts.ts";
import { delegate } from "../../chain/actions/index.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { addSignerOptions, openOperatorContext, printResult } from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";

/** Registers `delegate <operator> <amount>` (a token holder backs an operator; docs/incentives.md). */
export function registerDelegateCommand(program: Command): void {
  addSignerOptions(program.command("delegate <operator> <amount>"))
    .description("delegate VAIN to an operator: share its rewards after commission, and its slashes")
    .option("--no-permit", "skip the permit and use approve + delegate")
    .option(
      "--max-commission <bps>",
      "refuse if the operator's commission (now or queued) is above this (default: what it charges now)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  npx vain-node delegate 0xOperator 250\n  npx vain-node delegate 0xOperator 250 --max-commission 1000 --json\n",
    )
    .action(
      async (
        operatorText: string,
        amountText: string,
        flags: SignerFlags & { permit: boolean; maxCommission?: string },
      ) => {
        const operator = parseAddress(operatorText);
        const amountWei = parseTokenAmount(amountText);
        let maxCommissionBps: bigint | undefined;
        if (flags.maxCommission !== undefined) {
          if (!/^\d+$/.test(flags.maxCommission)) {
            throw new InvalidArgumentError(`invalid --max-commission "${flags.maxCommission}": basis points`);
          }
          maxCommissionBps = BigInt(flags.maxCommission);
        }
        const ctx = await openOperatorContext(flags);
        const result = await delegate(ctx, {
          operator,
          amountWei,
          maxCommissionBps,
          usePermit: flags.permit,
        });
        printResult(flags, { action: "delegate", ...result }, [
          `delegated ${formatTokens(result.amountWei)} to ${result.operator} (${result.method})`,
          `  delegator       ${result.delegator}`,
          `  commission cap  ${result.maxCommissionBps} bps`,
          ...result.transactionHashes.map((h) => `  tx              ${h}`),
        ]);
      },
    );
}
