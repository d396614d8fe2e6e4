/**
 * The delegation commands of the real `vain-node` binary against a real `hardhat node` (port 18775): an
 * operator stakes and queues a commission, a token holder delegates, reads the directory and its
 * delegations, undelegates, is refused an early withdrawal in one line, withdraws after the delay; all with
 * --json compared with the chain.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { parseEther } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { runNodeScript, startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "../chain/accounts.ts";
import { connectChain } from "../chain/clients.ts";
import { deployProtocol } from "../chain/deploy.ts";
import { writeDeployment } from "../chain/deployment.ts";
import { EXIT_USER_ERROR } from "./main.ts";
import { devRpc } from "../chain/dev-rpc.ts";

const PORT = 18775;
/** Hardhat's well-known dev accounts #1 (operator) and #2 (delegator). */
const OPERATOR_KEY: Hex = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const DELEGATOR_KEY: Hex = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe("vain-node delegation commands against a real hardhat node", { timeout: 300_000 }, () => {
  let chain: HardhatNodeProcess;
  let dir: string;
  let deploymentFile: string;
  const operator: Address = privateKeyToAccount(OPERATOR_KEY).address;
  const delegator: Address = privateKeyToAccount(DELEGATOR_KEY).address;

  function cli(args: readonly string[], key: Hex): Promise<CliResult> {
    return runNodeScript(["node/bin/vain-node.js", ...args], {
      VAIN_DEPLOYMENT: deploymentFile,
      VAIN_RPC_URL: chain.rpcUrl,
      VAIN_PRIVATE_KEY: key,
      VAIN_DATA_DIR: dir,
    });
  }

  function json(result: CliResult): Record<string, unknown> {
    assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, "one JSON object on one line");
    return JSON.parse(lines[0]!) as Record<string, unknown>;
  }

  async function rpc(method: string, params: unknown[] = []): Promise<void> {
    await devRpc(chain.rpcUrl, method, params);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vain-delegcli-"));
    deploymentFile = join(dir, "deployment.json");
    chain = await startHardhatNode(PORT);
    const { publicClient, walletClient } = await connectChain(
      chain.rpcUrl,
      privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY),
    );
    const deployment = await deployProtocol({
      publicClient,
      walletClient: walletClient!,
      rpcUrl: chain.rpcUrl,
    });
    await writeDeployment(deploymentFile, deployment);
    for (const to of [operator, delegator])
      json(await cli(["fund", to, "1000", "--json"], HARDHAT_DEV_PRIVATE_KEY));
  });

  after(async () => {
    await chain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("delegate, directory, delegations, undelegate, withdraw --from, claim --from", async () => {
    json(await cli(["stake", "200", "--json"], OPERATOR_KEY));
    const commission = json(await cli(["commission", "1000", "--json"], OPERATOR_KEY));
    assert.equal(commission["currentBps"], "0");
    assert.equal(commission["pendingBps"], "1000", "a raise waits for its delay");

    const delegated = json(await cli(["delegate", operator, "300", "--json"], DELEGATOR_KEY));
    assert.equal(delegated["amountWei"], parseEther("300").toString());
    assert.equal(delegated["maxCommissionBps"], "1000", "the default limit is the queued raise");
    assert.equal(delegated["method"], "permit");

    const limited = await cli(["delegate", operator, "1", "--max-commission", "500"], DELEGATOR_KEY);
    assert.equal(limited.code, EXIT_USER_ERROR, limited.stderr);
    assert.match(limited.stderr.trim(), /CommissionAboveLimit/);
    assert.equal(limited.stderr.trim().split("\n").length, 1, "one line");

    const directory = json(await cli(["operators", "--json", "--sort", "delegated"], DELEGATOR_KEY));
    const [entry] = directory["operators"] as Record<string, unknown>[];
    assert.equal(entry?.["operator"], operator);
    assert.equal(entry?.["selfStakeWei"], parseEther("200").toString());
    assert.equal(entry?.["delegatedStakeWei"], parseEther("300").toString());
    assert.equal(entry?.["countedStakeWei"], parseEther("500").toString());
    assert.equal(entry?.["pendingCommissionBps"], "1000");
    assert.equal(entry?.["delegators"], 1);

    const undelegated = json(await cli(["undelegate", operator, "100", "--json"], DELEGATOR_KEY));
    assert.equal(undelegated["amountWei"], parseEther("100").toString());
    const early = await cli(["withdraw", "--from", operator], DELEGATOR_KEY);
    assert.equal(early.code, EXIT_USER_ERROR);
    assert.match(early.stderr.trim(), /DelegationNotReleased/);

    const mine = json(await cli(["delegations", delegator, "--json"], DELEGATOR_KEY));
    const [position] = mine["delegations"] as Record<string, unknown>[];
    assert.equal(position?.["activeWei"], parseEther("200").toString());
    assert.equal(position?.["unbondingWei"], parseEther("100").toString());

    await rpc("evm_increaseTime", [2 * 24 * 3600]);
    await rpc("evm_mine");
    const withdrawn = json(await cli(["withdraw", "--from", operator, "--json"], DELEGATOR_KEY));
    assert.equal(withdrawn["amountWei"], parseEther("100").toString());
    const claim = await cli(["claim", "--from", operator], DELEGATOR_KEY);
    assert.equal(claim.code, EXIT_USER_ERROR, "nothing earned yet");
    assert.match(claim.stderr.trim(), /NoDelegationRewards/);
  });
});
