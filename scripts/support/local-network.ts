/**
 * A real local chain for tests and benchmarks: a `hardhat node` process, the deployed protocol, and
 * helpers to fund, stake and bind operator accounts. Nothing here is mocked: every call is a transaction,
 * sent through the node's own chain actions (node/chain/actions/). Shared by test/ and scripts/bench/.
 */
import type { Account, Chain, Hex, LocalAccount, PublicClient, Transport, WalletClient } from "viem";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import {
  bindPeerId,
  createTask,
  requestUnstake as requestUnstakeAction,
  sendEther,
  stake,
  transferTokens,
} from "../../node/chain/actions/index.ts";
import type { ChainWriteClient, ProtocolAddresses } from "../../node/chain/actions/index.ts";
import { connectChain } from "../../node/chain/clients.ts";
import { stakeRegistryAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import type { DeployOptions } from "../../node/chain/deploy.ts";
import type { Deployment } from "../../node/chain/deployment.ts";
import { startHardhatNode } from "../../node/chain/hardhat-process.ts";
import type { HardhatNodeProcess } from "../../node/chain/hardhat-process.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";

/** ETH a fresh operator gets for gas: stake, bind, commits and claims for any test or benchmark. */
export const OPERATOR_GAS_ETH = parseEther("10");

export interface LocalNetwork {
  readonly hardhat: HardhatNodeProcess;
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly deployment: Deployment;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly deployer: WalletClient<Transport, Chain, Account>;
  readonly addresses: ProtocolAddresses;
  stop(): Promise<void>;
}

/** Starts `hardhat node` on `port` and deploys the protocol with the development key. */
export async function startLocalNetwork(
  port: number,
  deployOptions: Partial<Omit<DeployOptions, "publicClient" | "walletClient">> = {},
): Promise<LocalNetwork> {
  const hardhat = await startHardhatNode(port);
  try {
    const clients = await connectChain(hardhat.rpcUrl, privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY));
    const deployer = clients.walletClient;
    if (deployer === undefined) throw new Error("no wallet client");
    const deployment = await deployProtocol({
      ...deployOptions,
      publicClient: clients.publicClient,
      walletClient: deployer,
    });
    return {
      hardhat,
      rpcUrl: hardhat.rpcUrl,
      chainId: clients.chain.id,
      deployment,
      publicClient: clients.publicClient,
      deployer,
      addresses: protocolAddresses(deployment),
      stop: () => hardhat.stop(),
    };
  } catch (error) {
    await hardhat.stop();
    throw error;
  }
}

/** The chain-action client of `wallet` on the network. */
export function actionClient(
  net: Pick<LocalNetwork, "publicClient" | "addresses" | "rpcUrl">,
  wallet: WalletClient<Transport, Chain, Account>,
): ChainWriteClient {
  return {
    publicClient: net.publicClient,
    walletClient: wallet,
    contracts: net.addresses,
    rpcUrl: net.rpcUrl,
  };
}

/** A fresh operator account funded with gas money and `tokens` VAIN from the treasury. */
export async function fundOperator(net: LocalNetwork, tokens: bigint): Promise<LocalAccount> {
  const account = privateKeyToAccount(generatePrivateKey());
  const treasury = actionClient(net, net.deployer);
  await sendEther(treasury, { to: account.address, amountWei: OPERATOR_GAS_ETH });
  if (tokens > 0n) await transferTokens(treasury, { to: account.address, amountWei: tokens });
  return account;
}

/** A wallet client for `account` on the network. */
export async function walletFor(
  net: LocalNetwork,
  account: LocalAccount,
): Promise<WalletClient<Transport, Chain, Account>> {
  const clients = await connectChain(net.rpcUrl, account);
  if (clients.walletClient === undefined) throw new Error("no wallet client");
  return clients.walletClient;
}

/**
 * Leaves `account` with `amount` of active stake and, when `peerIdBytes` is given, bound to that peer ID.
 * Binding needs the registry's minimum stake, so an operator meant to end below it (an under-staked or
 * unstaked peer) tops up to the minimum from the treasury, binds, then requests unstaking of the difference:
 * how a real operator ends up bound but inactive.
 */
export async function stakeAndBind(
  net: LocalNetwork,
  account: LocalAccount,
  amount: bigint,
  peerIdBytes?: Hex,
): Promise<void> {
  const operator = actionClient(net, await walletFor(net, account));
  const minimum = peerIdBytes === undefined ? 0n : await minStake(net);
  const staked = amount > minimum ? amount : minimum;
  if (staked > amount) {
    await transferTokens(actionClient(net, net.deployer), {
      to: account.address,
      amountWei: staked - amount,
    });
  }
  // approve + stake (not a permit): the two transactions an operator without EIP-712 sends.
  if (staked > 0n) await stake(operator, { amountWei: staked, usePermit: false });
  if (peerIdBytes !== undefined) await bindPeerId(operator, { peerId: peerIdBytes });
  if (staked > amount) await requestUnstakeAction(operator, { amountWei: staked - amount });
}

/** Requests unstaking of `amount` (the stake leaves the active set at once). */
export async function requestUnstake(
  net: LocalNetwork,
  account: LocalAccount,
  amount: bigint,
): Promise<void> {
  await requestUnstakeAction(actionClient(net, await walletFor(net, account)), { amountWei: amount });
}

/** The registry's minimum stake. */
export async function minStake(net: Pick<LocalNetwork, "publicClient" | "addresses">): Promise<bigint> {
  return net.publicClient.readContract({
    address: net.addresses.registry,
    abi: stakeRegistryAbi,
    functionName: "minStake",
  });
}

/**
 * Creates an (unfunded) task as the deployer, for tests that need one to exist, e.g. to volunteer as its
 * aggregator (candidates are per task). Returns its ID.
 */
export async function createTestTask(net: LocalNetwork): Promise<bigint> {
  const { taskId } = await createTask(actionClient(net, net.deployer), {
    modelRef: `0x${"11".repeat(32)}`,
    parameters: 1_000,
    rewardPerRoundWei: parseEther("1"),
  });
  return taskId;
}

/** Sends a raw transaction and waits for a successful receipt (for calls no chain action covers). */
export async function send(net: LocalNetwork, submit: () => Promise<Hex>): Promise<void> {
  const hash = await submit();
  const receipt = await net.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
}
