import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";

import type { Command } from "commander";
import { formatEther, parseEther } from "viem";
import type { Address, Hex } from "viem";

import { LOCAL_CHAIN_IDS, deployerAccount } from "../../chain/accounts.ts";
import { formatTokens, parseAddress, parseTokenAmount } from "../../chain/amounts.ts";
import { connectChain } from "../../chain/clients.ts";
import { vainTokenAbi } from "../../chain/contracts.ts";
import { loadDeployment } from "../../chain/deployment.ts";
import { sendEther, transferTokens } from "../../chain/actions/index.ts";
import { readChain } from "../../chain/actions/write.ts";
import { ChainError, InvalidArgumentError } from "../../chain/errors.ts";
import { protocolAddresses } from "../../chain/operator.ts";
import type { OperatorContext } from "../../chain/operator.ts";
import {
  PRIVATE_KEY_ENV,
  addChainOptions,
  printResult,
  progressReporter,
  resolveChainSettings,
} from "../chain-context.ts";
import { resolveReadAddress } from "../chain-context.ts";
import type { ChainFlags } from "../chain-context.ts";

/** ETH sent with the VAIN by default: enough gas for a node's stake, bind, commits and claims for weeks. */
const DEFAULT_FUND_ETH = "1";
/** Gas headroom kept aside when checking the funder's ETH: two plain transfers at local gas prices. */
const FUND_GAS_RESERVE_WEI = parseEther("0.01");

interface FundFlags extends ChainFlags {
  readonly eth: string;
  readonly privateKey?: string;
}

/** The recipient: an address, or a data directory from `vain-node init` (its keystore's address). */
async function recipientOf(target: string): Promise<Address> {
  if (/^0x/i.test(target)) return parseAddress(target);
  const dir = resolve(target);
  if (existsSync(dir) && statSync(dir).isDirectory()) return resolveReadAddress({}, dir, {});
  throw new InvalidArgumentError(
    `"${target}" is neither an address (0x…) nor a data directory from \`vain-node init\``,
  );
}

/**
 * Registers `vain-node fund`: a local-chain faucet. On a local chain the VAIN supply is held by the deployer,
 * Hardhat account #0 (0xf39F…2266), which `vain-node deploy` uses by default; it sends ETH for gas and VAIN.
 */
export function registerFundCommand(program: Command): void {
  addChainOptions(program.command("fund <address|data-dir> <amount>"))
    .description(
      "send VAIN (and ETH for gas) to an operator; on a local chain from the deployer, Hardhat account #0, which holds the VAIN supply",
    )
    .option("--eth <amount>", "ETH to send along for gas (0: none)", DEFAULT_FUND_ETH)
    .option(
      "--private-key <hex>",
      `funder key (default on local chains: Hardhat account #0, the deployer; env ${PRIVATE_KEY_ENV})`,
    )
    .addHelpText(
      "after",
      "\nThe initial VAIN supply is minted to the deploying account (on a local chain: Hardhat account #0,\n0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266). Nothing is sent unless the funder holds both amounts.\n\nExamples:\n  npx vain-node fund ./node1 500                 # the address of ./node1/keystore.json\n  npx vain-node fund 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 250 --eth 2 --json\n",
    )
    .action(async (target: string, amountText: string, flags: FundFlags) => {
      const amountWei = parseTokenAmount(amountText);
      const ethWei = parseTokenAmount(flags.eth, { allowZero: true });
      const to = await recipientOf(target);
      const { rpcUrl } = resolveChainSettings(flags);
      const probe = await connectChain(rpcUrl);
      const funder = deployerAccount(probe.chain.id, flags.privateKey ?? process.env[PRIVATE_KEY_ENV]);
      const { publicClient, walletClient } = await connectChain(rpcUrl, funder);
      if (walletClient === undefined) throw new Error("wallet client missing");
      const { deployment } = await loadDeployment(publicClient, { path: flags.deployment, rpcUrl });
      const contracts = protocolAddresses(deployment);
      const { token } = contracts;
      const ctx: OperatorContext = {
        publicClient,
        walletClient,
        deployment,
        contracts,
        rpcUrl,
        onProgress: progressReporter(),
      };
      // Check both balances first: a half-done funding (ETH sent, VAIN refused) is a side effect to avoid.
      const [vain, eth] = await readChain(ctx, "fund", () =>
        Promise.all([
          publicClient.readContract({
            address: token,
            abi: vainTokenAbi,
            functionName: "balanceOf",
            args: [funder.address],
          }),
          publicClient.getBalance({ address: funder.address }),
        ]),
      );
      const local = LOCAL_CHAIN_IDS.includes(probe.chain.id);
      const who = `${funder.address}${local && flags.privateKey === undefined ? " (Hardhat account #0, the deployer)" : ""}`;
      if (vain < amountWei) {
        throw new ChainError(
          "INVALID_AMOUNT",
          `fund failed: ${who} holds ${formatTokens(vain)}, less than ${formatTokens(amountWei)}; the VAIN supply is held by the deploying account (pass its key with --private-key)`,
        );
      }
      if (eth < ethWei + FUND_GAS_RESERVE_WEI) {
        throw new ChainError(
          "INSUFFICIENT_GAS_FUNDS",
          `fund failed: ${who} holds ${formatEther(eth)} ETH, not enough to send ${formatEther(ethWei)} ETH and pay gas`,
        );
      }
      const hashes: Hex[] = [];
      if (ethWei > 0n) hashes.push((await sendEther(ctx, { to, amountWei: ethWei })).transactionHash);
      hashes.push((await transferTokens(ctx, { to, amountWei })).transactionHash);
      const balance = await publicClient.readContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [to],
      });
      printResult(
        flags,
        {
          action: "fund",
          from: funder.address,
          to,
          amountWei,
          ethWei,
          tokenBalanceWei: balance,
          transactionHashes: hashes,
        },
        [
          `sent ${formatTokens(amountWei)}${ethWei > 0n ? ` and ${formatEther(ethWei)} ETH` : ""} to ${to}`,
          `  from           ${who}`,
          `  token balance  ${formatTokens(balance)}`,
          ...hashes.map((h) => `  tx             ${h}`),
          `next: vain-node stake <amount> (the minimum active stake is shown by \`vain-node status\`)`,
        ],
      );
    });
}
