/**
 * Chain-reset detection against real `hardhat node` processes: a chain that goes down is not a reset; the same
 * URL coming back as a fresh chain with the protocol redeployed at the very same addresses (same code) is; the
 * status source then stays not ready until the alert is cleared.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { privateKeyToAccount } from "viem/accounts";
import type { PublicClient } from "viem";

import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { ChainStatusSource } from "../api/chain-source.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "../chain/accounts.ts";
import { connectChain } from "../chain/clients.ts";
import { deployProtocol } from "../chain/deploy.ts";
import type { Deployment } from "../chain/deployment.ts";
import { ChainResetWatch } from "./chain-watch.ts";

const PORT = 18743;

async function deployOn(rpcUrl: string): Promise<{ deployment: Deployment; publicClient: PublicClient }> {
  const { publicClient, walletClient } = await connectChain(
    rpcUrl,
    privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY),
  );
  const deployment = await deployProtocol({ publicClient, walletClient: walletClient!, rpcUrl });
  return { deployment, publicClient: publicClient as unknown as PublicClient };
}

describe("chain reset detection", { timeout: 240_000 }, () => {
  let chain: HardhatNodeProcess | undefined;
  after(async () => {
    await chain?.stop();
  });

  it("ignores a chain that is down, detects a restarted chain with the same deployment addresses", async () => {
    chain = await startHardhatNode(PORT);
    const { deployment, publicClient } = await deployOn(chain.rpcUrl);
    const resets: string[] = [];
    const watch = new ChainResetWatch({
      publicClient,
      deployment,
      deploymentPath: "deployment.json",
      rpcUrl: chain.rpcUrl,
      intervalMs: 3_600_000, // checked by hand below
      onReset: (reason) => resets.push(reason),
    });
    await watch.start();
    const status = new ChainStatusSource({
      publicClient,
      chainId: 31337,
      rpcUrl: chain.rpcUrl,
      contracts: {
        token: deployment.contracts.VainToken.address as `0x${string}`,
        stakeRegistry: deployment.contracts.StakeRegistry.address as `0x${string}`,
        trainingRounds: deployment.contracts.TrainingRounds.address as `0x${string}`,
      },
      version: "test",
      peerId: "12D3KooWtest",
      operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      fromBlock: BigInt(deployment.deploymentBlock),
      pollIntervalMs: 3_600_000,
    });
    await status.poll();
    assert.equal(status.status().ready, true);
    assert.equal(await watch.check(), undefined, "the same chain is no reset");

    await chain.stop();
    assert.equal(await watch.check(), undefined, "a chain that is down is not a reset");

    // Same URL, fresh chain, same deployer nonce: the contracts land at the same addresses with the same code.
    chain = await startHardhatNode(PORT);
    const again = await deployOn(chain.rpcUrl);
    assert.equal(
      again.deployment.contracts.TrainingRounds.address,
      deployment.contracts.TrainingRounds.address,
    );
    const reason = await watch.check();
    assert.ok(reason !== undefined, "a restarted chain is a reset");
    assert.match(
      reason,
      /another genesis block|changed|no longer has the deployment block|before the deployment block/,
    );
    assert.deepEqual(resets, [reason], "reported once");
    assert.equal(await watch.check(), undefined, "not reported again");

    status.raiseAlert("CHAIN_RESET", `chain reset detected: ${reason}`);
    await status.poll();
    assert.equal(status.status().ready, false, "an alert keeps /ready false although the chain answers");
    assert.equal(status.status().alerts?.[0]?.code, "CHAIN_RESET");
    status.clearAlert("CHAIN_RESET");
    await status.poll();
    assert.equal(status.status().ready, true);
    await status.stop();
    watch.stop();
  });
});
