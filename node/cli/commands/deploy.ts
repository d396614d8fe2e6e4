import { Option } from "commander";
import type { Command } from "commander";

import { createTestClient, http } from "viem";

import { LOCAL_CHAIN_IDS, deployerAccount } from "../../chain/accounts.ts";
import { DEFAULT_RPC_URL, connectChain } from "../../chain/clients.ts";
import { deployProtocol } from "../../chain/deploy.ts";
import { resolveDeploymentPath, writeDeployment } from "../../chain/deployment.ts";
import { LOCAL_BLOCK_INTERVAL_MS } from "../../chain/constants.ts";
import { parseDurationMs } from "../../config/duration.ts";

/** Block interval set on a local chain after deploying (LOCAL_BLOCK_INTERVAL_MS says why). */
const LOCAL_BLOCK_INTERVAL = `${LOCAL_BLOCK_INTERVAL_MS}ms`;

interface DeployFlags {
  rpc: string;
  verifier: "groth16" | "test";
  out?: string;
  privateKey?: string;
  json?: boolean;
  blockInterval: string;
}

/** Registers `vain-node deploy`: deploys the protocol to a running chain and writes the deployment file. */
export function registerDeployCommand(program: Command): void {
  program
    .command("deploy")
    .description("deploy the vAIn contracts to a running chain and write the deployment file")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", process.env["VAIN_RPC_URL"] ?? DEFAULT_RPC_URL)
    .option("--out <file>", "deployment file to write (default: deployments/<chainId>.json)")
    .option(
      "--private-key <hex>",
      "deployer key (default on local chains: Hardhat account #0; env VAIN_PRIVATE_KEY)",
    )
    .addOption(
      new Option(
        "--verifier <kind>",
        "aggregation proof verifier: the real Groth16 one, or the test-only one",
      )
        .choices(["groth16", "test"])
        .default("groth16"),
    )
    .option(
      "--block-interval <duration>",
      "local chains only: also mine a block at this interval so the chain clock moves without traffic (0: off)",
      LOCAL_BLOCK_INTERVAL,
    )
    .option("--json", "print the deployment as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  npx hardhat node &\n  npx vain-node deploy --rpc http://127.0.0.1:8545\n  npx vain-node deploy --rpc http://127.0.0.1:8545 --out my-deployment.json --json\n",
    )
    .action(async (flags: DeployFlags) => {
      const blockIntervalMs = parseDurationMs(flags.blockInterval);
      const probe = await connectChain(flags.rpc);
      const chainId = probe.chain.id;
      const account = deployerAccount(chainId, flags.privateKey ?? process.env["VAIN_PRIVATE_KEY"]);
      const { publicClient, walletClient } = await connectChain(flags.rpc, account);
      if (walletClient === undefined) throw new Error("wallet client missing");
      // Loaded on demand: the proof stack (snarkjs, circomlibjs) costs ~0.7 s of start-up every other command
      // would pay.
      const verifier =
        flags.verifier === "test"
          ? ({ kind: "test" } as const)
          : await (await import("../../proofs/deploy.ts")).groth16VerifierChoice();
      const deployment = await deployProtocol({ publicClient, walletClient, rpcUrl: flags.rpc, verifier });
      const path = resolveDeploymentPath({ path: flags.out, chainId });
      await writeDeployment(path, deployment);
      const local = LOCAL_CHAIN_IDS.includes(chainId);
      if (local && blockIntervalMs > 0) {
        // evm_setIntervalMining (Hardhat, Anvil): automining stays on, so transactions still mine at once.
        const test = createTestClient({ mode: "hardhat", chain: probe.chain, transport: http(flags.rpc) });
        // viem takes seconds and sends Hardhat milliseconds: fractions of a second stay exact.
        await test.setIntervalMining({ interval: blockIntervalMs / 1000 });
      }
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ path, ...deployment }, null, 2)}\n`);
        return;
      }
      const lines = [
        `deployed vAIn to chain ${chainId} (block ${deployment.deploymentBlock})`,
        ...Object.entries(deployment.contracts).map(([name, c]) => `  ${name.padEnd(20)} ${c.address}`),
        `deployment file: ${path}`,
        `VAIN supply held by ${deployment.deployer} (the deployer); fund an operator with \`vain-node fund <address|data-dir> <amount>\``,
        ...(local && blockIntervalMs > 0
          ? [
              `local chain: a block is mined every ${flags.blockInterval} so round deadlines pass without traffic`,
            ]
          : []),
      ];
      if (deployment.verifierKind === "test") {
        lines.push(
          "warning: the aggregation verifier is the TEST verifier; it proves nothing (local testing only)",
        );
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
