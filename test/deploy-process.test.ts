import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { HARDHAT_DEV_PRIVATE_KEY } from "../node/chain/accounts.ts";
import { connectChain } from "../node/chain/clients.ts";
import { stakeRegistryAbi, vainTokenAbi } from "../node/chain/contracts.ts";
import { loadDeployment, readDeployment } from "../node/chain/deployment.ts";
import { ChainError } from "../node/chain/errors.ts";
import { runNodeScript, startHardhatNode } from "./support/hardhat-node.ts";
import type { HardhatNodeProcess } from "./support/hardhat-node.ts";

const PORT = 18545;

describe("deployment to a real `hardhat node` process", function () {
  this.timeout(180_000);
  let chain: HardhatNodeProcess;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-deploy-"));
    chain = await startHardhatNode(PORT);
  });

  after(async () => {
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("deploys from a separate process, stakes, reads back, and detects a stale file after restart", async () => {
    const out = join(dir, "deployment.json");
    const result = await runNodeScript(["scripts/deploy.ts", "--rpc", chain.rpcUrl, "--out", out]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain("StakeRegistry");

    const deployment = await readDeployment(out);
    expect(deployment.chainId).to.equal(31337);
    expect(result.stdout).to.match(/VAIN supply held by 0x[0-9a-fA-F]{40} \(the deployer\)/);
    expect(result.stdout).to.contain("a block is mined every 500ms");
    const { publicClient } = await connectChain(chain.rpcUrl);
    await loadDeployment(publicClient, { path: out, rpcUrl: chain.rpcUrl });
    // On a local chain deploy turns on interval mining: the clock moves with nobody sending transactions.
    const blockAfterDeploy = await publicClient.getBlockNumber();
    await new Promise<void>((resolve) => {
      const unwatch = publicClient.watchBlockNumber({
        pollingInterval: 200,
        onBlockNumber: (n) => {
          if (n > blockAfterDeploy) {
            unwatch();
            resolve();
          }
        },
      });
    });

    // Stake from a second Hardhat account funded by the treasury (account #0).
    const treasury = privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY);
    const operator = privateKeyToAccount(
      "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    );
    const client = publicClient;
    const treasuryWallet = (await connectChain(chain.rpcUrl, treasury)).walletClient!;
    const operatorWallet = (await connectChain(chain.rpcUrl, operator)).walletClient!;
    const token = deployment.contracts.VainToken.address as `0x${string}`;
    const registry = deployment.contracts.StakeRegistry.address as `0x${string}`;
    const amount = parseEther("150");
    await client.waitForTransactionReceipt({
      hash: await treasuryWallet.writeContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "transfer",
        args: [operator.address, amount],
      }),
    });
    await client.waitForTransactionReceipt({
      hash: await operatorWallet.writeContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [registry, amount],
      }),
    });
    await client.waitForTransactionReceipt({
      hash: await operatorWallet.writeContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "stake",
        args: [amount],
      }),
    });
    const staked = await client.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "activeStake",
      args: [operator.address],
    });
    expect(staked).to.equal(amount);

    // The chain stops (by PID): the loader reports it clearly.
    await chain.stop();
    const down = await loadDeployment(publicClient, { path: out, rpcUrl: chain.rpcUrl }).catch(
      (e: unknown) => e,
    );
    expect(down).to.be.instanceOf(ChainError);
    expect((down as ChainError).code).to.equal("CHAIN_UNREACHABLE");

    // A fresh chain on the same port: same chain ID, but the file is stale.
    chain = await startHardhatNode(PORT);
    const fresh = await connectChain(chain.rpcUrl);
    const stale = await loadDeployment(fresh.publicClient, { path: out, rpcUrl: chain.rpcUrl }).catch(
      (e: unknown) => e,
    );
    expect((stale as ChainError).code).to.equal("DEPLOYMENT_STALE");
  });

  it("gives one clear line for user errors, without a stack trace", async () => {
    const missing = await runNodeScript(["node/bin/vain-node.js", "deploy", "--rpc", "http://127.0.0.1:1"]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr.trim().split("\n")).to.have.length(1);
    expect(missing.stderr).to.contain("cannot reach a chain");
    const bad = await runNodeScript(["node/bin/vain-node.js", "deploy", "--rpc", "not-a-url"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("not a valid RPC URL");
    const garbage = join(dir, "garbage.json");
    await writeFile(garbage, "{ nope");
    const err = await readDeployment(garbage).catch((e: unknown) => e);
    expect((err as ChainError).code).to.equal("DEPLOYMENT_INVALID");
    const absent = await readDeployment(join(dir, "absent.json")).catch((e: unknown) => e);
    expect((absent as ChainError).code).to.equal("DEPLOYMENT_MISSING");
  });
});
