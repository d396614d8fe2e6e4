import { join } from "node:path";

import type { Command } from "commander";

import { formatTokens, parseAddress, parseTokenAmount } from "../../chain/amounts.ts";
import { stakeRegistryAbi } from "../../chain/contracts.ts";
import {
  bindPeerId,
  claim,
  claimDelegationRewards,
  requestUnstake,
  setAggregatorOptIn,
  stake,
  withdraw,
  withdrawDelegation,
} from "../../chain/actions/index.ts";
import { InvalidArgumentError } from "../../chain/errors.ts";
import { loadNodeKey } from "../../keys/keys.ts";
import {
  NODE_KEY_FILE,
  addSignerOptions,
  isoFromSeconds,
  openOperatorContext,
  printResult,
} from "../chain-context.ts";
import type { SignerFlags } from "../chain-context.ts";
import { resolveTaskId, TASK_OPTION, TASK_OPTION_HELP } from "../task-option.ts";

const SIGNER_NOTE =
  "\nSigner: --private-key or VAIN_PRIVATE_KEY, else <data-dir>/keystore.json unlocked with --password-file or VAIN_PASSWORD.\n";

/** Registers `stake`, `unstake`, `withdraw`, `claim`, `bind` and `aggregator`. */
export function registerStakingCommands(program: Command): void {
  addSignerOptions(program.command("stake <amount>"))
    .description("stake VAIN tokens (one EIP-2612 permit transaction; approve + stake as fallback)")
    .option("--no-permit", "skip the permit and use approve + stake (tokens or wallets without EIP-2612)")
    .addHelpText(
      "after",
      `${SIGNER_NOTE}\nExamples:\n  VAIN_PASSWORD=... npx vain-node stake 150\n  npx vain-node stake 0.5 --private-key $KEY --rpc http://127.0.0.1:8545 --json\n  npx vain-node stake 100 --no-permit\n`,
    )
    .action(async (amountText: string, flags: SignerFlags & { permit: boolean }) => {
      const amountWei = parseTokenAmount(amountText);
      const ctx = await openOperatorContext(flags);
      const result = await stake(ctx, { amountWei, usePermit: flags.permit });
      const minStakeWei = await ctx.publicClient.readContract({
        address: ctx.contracts.registry,
        abi: stakeRegistryAbi,
        functionName: "minStake",
      });
      const how = {
        permit: "with a permit",
        "approve+stake": "with approve + stake",
        stake: "using the existing allowance",
      }[result.method];
      printResult(flags, { action: "stake", ...result }, [
        `staked ${formatTokens(result.amountWei)} ${how} (${result.transactionHashes.length} transaction${result.transactionHashes.length === 1 ? "" : "s"})`,
        `  operator      ${result.operator}`,
        `  active stake  ${formatTokens(result.activeStakeWei)}`,
        ...(result.isActive
          ? []
          : [
              `  INACTIVE      below the minimum stake of ${formatTokens(result.minStakeWei)}: stake ${formatTokens(result.minStakeWei - result.activeStakeWei)} more to bind a peer ID, train and aggregate`,
            ]),
        ...result.transactionHashes.map((h) => `  tx            ${h}`),
        ...(result.activeStakeWei < minStakeWei
          ? [
              `warning: the active stake is below the minimum ${formatTokens(minStakeWei)}: this operator is inactive (peers refuse its node, it is never selected) until it stakes ${formatTokens(minStakeWei - result.activeStakeWei)} more`,
            ]
          : []),
      ]);
    });

  addSignerOptions(program.command("unstake <amount>"))
    .description("move active stake to unbonding (withdrawable after the unbonding delay)")
    .addHelpText(
      "after",
      `${SIGNER_NOTE}\nExamples:\n  npx vain-node unstake 50\n  npx vain-node unstake 150 --json\n`,
    )
    .action(async (amountText: string, flags: SignerFlags) => {
      const amountWei = parseTokenAmount(amountText);
      const ctx = await openOperatorContext(flags);
      const result = await requestUnstake(ctx, { amountWei });
      printResult(flags, { action: "unstake", ...result }, [
        `unbonding ${formatTokens(result.amountWei)}`,
        `  active stake     ${formatTokens(result.activeStakeWei)}`,
        `  unbonding stake  ${formatTokens(result.unbondingStakeWei)}`,
        `  withdrawable at  ${isoFromSeconds(result.releaseTime)} (run \`vain-node withdraw\` then)`,
        `  tx               ${result.transactionHash}`,
      ]);
    });

  addSignerOptions(program.command("withdraw"))
    .description("withdraw all unbonding stake once the unbonding delay has passed")
    .option("--from <operator>", "as a delegator: withdraw the released undelegation from this operator")
    .addHelpText(
      "after",
      `${SIGNER_NOTE}\nExamples:\n  npx vain-node withdraw\n  npx vain-node withdraw --json\n  npx vain-node withdraw --from 0xOperator\n`,
    )
    .action(async (flags: SignerFlags & { from?: string }) => {
      const ctx = await openOperatorContext(flags);
      if (flags.from !== undefined) {
        const d = await withdrawDelegation(ctx, { operator: parseAddress(flags.from) });
        printResult(flags, { action: "withdraw", ...d }, [
          `withdrew ${formatTokens(d.amountWei)} of delegation from ${d.operator} to ${d.delegator}`,
          `  tx  ${d.transactionHash}`,
        ]);
        return;
      }
      const result = await withdraw(ctx);
      printResult(flags, { action: "withdraw", ...result }, [
        `withdrew ${formatTokens(result.amountWei)} to ${result.operator}`,
        `  tx  ${result.transactionHash}`,
      ]);
    });

  addSignerOptions(program.command("claim"))
    .description("claim the rewards and challenge bonds credited to the operator")
    .option("--from <operator>", "as a delegator: claim the rewards earned through this operator")
    .addHelpText(
      "after",
      `${SIGNER_NOTE}\nExamples:\n  npx vain-node claim\n  npx vain-node claim --json\n  npx vain-node claim --from 0xOperator\n`,
    )
    .action(async (flags: SignerFlags & { from?: string }) => {
      const ctx = await openOperatorContext(flags);
      if (flags.from !== undefined) {
        const d = await claimDelegationRewards(ctx, { operator: parseAddress(flags.from) });
        printResult(flags, { action: "claim", ...d }, [
          `claimed ${formatTokens(d.amountWei)} of delegation rewards from ${d.operator} to ${d.delegator}`,
          `  tx  ${d.transactionHash}`,
        ]);
        return;
      }
      const result = await claim(ctx);
      printResult(flags, { action: "claim", ...result }, [
        `claimed ${formatTokens(result.amountWei)} to ${result.account}`,
        `  tx  ${result.transactionHash}`,
      ]);
    });

  addSignerOptions(program.command("bind [peerId]"))
    .description("bind a libp2p peer ID to the operator (default: the node key's peer ID in the data dir)")
    .addHelpText(
      "after",
      `${SIGNER_NOTE}\nExamples:\n  npx vain-node bind                       # the peer ID of <data-dir>/node.key\n  npx vain-node bind 12D3KooW... --json\n`,
    )
    .action(async (peerIdArg: string | undefined, flags: SignerFlags) => {
      const ctx = await openOperatorContext(flags);
      const peerId = peerIdArg ?? (await loadNodeKey(join(ctx.dataDir, NODE_KEY_FILE))).peerId;
      const result = await bindPeerId(ctx, { peerId });
      printResult(flags, { action: "bind", ...result }, [
        result.changed
          ? `bound peer ID ${result.peerId} to ${result.operator}`
          : `peer ID ${result.peerId} is already bound to ${result.operator}`,
        ...(result.changed && result.previousPeerId !== null ? [`  replaced  ${result.previousPeerId}`] : []),
        ...(result.transactionHash === null ? [] : [`  tx  ${result.transactionHash}`]),
      ]);
    });

  addSignerOptions(program.command("aggregator <choice>"))
    .description(
      "opt in or out of aggregator selection for one task's rounds (choice: opt-in | opt-out; opting in needs active stake)",
    )
    .option(TASK_OPTION, TASK_OPTION_HELP)
    .addHelpText(
      "after",
      `${SIGNER_NOTE}\nCandidates volunteer per task: a round draws its aggregator only among its own task's volunteers.\n\nExamples:\n  npx vain-node aggregator opt-in\n  npx vain-node aggregator opt-out --task 2 --json\n`,
    )
    .action(async (choice: string, flags: SignerFlags & { task?: string }) => {
      if (choice !== "opt-in" && choice !== "opt-out") {
        throw new InvalidArgumentError(`invalid choice "${choice}": expected opt-in or opt-out`);
      }
      const ctx = await openOperatorContext(flags);
      const taskId = resolveTaskId(flags.task, ctx.dataDir);
      const result = await setAggregatorOptIn(ctx, { taskId, optIn: choice === "opt-in" });
      printResult(flags, { action: "aggregator", ...result }, [
        `${result.operator} ${result.optedIn ? "is now an aggregator candidate" : "is no longer an aggregator candidate"} for task ${taskId}`,
        `  tx  ${result.transactionHash}`,
      ]);
    });
}
