/**
 * A real local chain for tests and benchmarks: a `hardhat node` process, the deployed protocol, and
 * helpers to fund, stake and bind operator accounts. Nothing here is mocked: every call is a transaction.
 */
import type { Account, Address, Chain, Hex, LocalAccount, PublicClient, Transport, WalletClient } from "viem";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { HARDHAT_DEV_PRIVATE_KEY } from "../../node/chain/accounts.ts";
import { connectChain } from "../../node/chain/clients.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import type { DeployOptions } from "../../node/chain/deploy.ts";
import type { Deployment } from "../../node/chain/deployment.ts";
import { startHardhatNode } from "./hardhat-node.ts";
import type { HardhatNodeProcess } from "./hardhat-node.ts";

export interface LocalNetwork {
  readonly hardhat: HardhatNodeProcess;
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly deployment: Deployment;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly deployer: WalletClient<Transport, Chain, Account>;
  readonly addresses: { readonly token: Address; readonly registry: Address; readonly rounds: Address };
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
      addresses: {
        token: deployment.contracts.VainToken.address as Address,
        registry: deployment.contracts.StakeRegistry.address as Address,
        rounds: deployment.contracts.TrainingRounds.address as Address,
      },
      stop: () => hardhat.stop(),
    };
  } catch (error) {
    await hardhat.stop();
    throw error;
  }
}

/** A fresh operator account funded with gas money and `tokens` VAIN from the treasury. */
export async function fundOperator(net: LocalNetwork, tokens: bigint): Promise<LocalAccount> {
  const account = privateKeyToAccount(generatePrivateKey());
  await send(net, () => net.deployer.sendTransaction({ to: account.address, value: parseEther("10") }));
  if (tokens > 0n) {
    await send(net, () =>
      net.deployer.writeContract({
        address: net.addresses.token,
        abi: vainTokenAbi,
        functionName: "transfer",
        args: [account.address, tokens],
      }),
    );
  }
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
  const wallet = await walletFor(net, account);
  const minimum = peerIdBytes === undefined ? 0n : await minStake(net);
  const staked = amount > minimum ? amount : minimum;
  if (staked > amount) {
    await send(net, () =>
      net.deployer.writeContract({
        address: net.addresses.token,
        abi: vainTokenAbi,
        functionName: "transfer",
        args: [account.address, staked - amount],
      }),
    );
  }
  if (staked > 0n) {
    await send(net, () =>
      wallet.writeContract({
        address: net.addresses.token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [net.addresses.registry, staked],
      }),
    );
    await send(net, () =>
      wallet.writeContract({
        address: net.addresses.registry,
        abi: stakeRegistryAbi,
        functionName: "stake",
        args: [staked],
      }),
    );
  }
  if (peerIdBytes !== undefined) {
    await send(net, () =>
      wallet.writeContract({
        address: net.addresses.registry,
        abi: stakeRegistryAbi,
        functionName: "bindPeerId",
        args: [peerIdBytes],
      }),
    );
  }
  if (staked > amount) await requestUnstake(net, account, staked - amount);
}

/** Requests unstaking of `amount` (the stake leaves the active set at once). */
export async function requestUnstake(
  net: LocalNetwork,
  account: LocalAccount,
  amount: bigint,
): Promise<void> {
  const wallet = await walletFor(net, account);
  await send(net, () =>
    wallet.writeContract({
      address: net.addresses.registry,
      abi: stakeRegistryAbi,
      functionName: "requestUnstake",
      args: [amount],
    }),
  );
}

/** The registry's minimum stake. */
export async function minStake(net: LocalNetwork): Promise<bigint> {
  return net.publicClient.readContract({
    address: net.addresses.registry,
    abi: stakeRegistryAbi,
    functionName: "minStake",
  });
}

/** Sends a transaction and waits for a successful receipt. */
export async function send(net: LocalNetwork, submit: () => Promise<Hex>): Promise<void> {
  const hash = await submit();
  const receipt = await net.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
}

export { trainingRoundsAbi };
