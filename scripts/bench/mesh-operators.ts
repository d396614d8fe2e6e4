/**
 * Many staked, bound operators on the bench chain, fast: every node of `npm run bench:mesh` is admitted through
 * the real StakeRegistry, so a thousand nodes need a thousand token transfers, stakes and bindings. Gas money
 * comes from `hardhat_setBalance` (a test-chain convenience); tokens, stakes and bindings are real contract
 * calls. Transactions carry explicit nonces, gas limits and fees, so no call waits for an estimate, and
 * different accounts' transactions go out concurrently.
 */
import { randomBytes } from "node:crypto";

import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Address, Hex } from "viem";
import { createTestClient, createWalletClient, http, parseEther, parseGwei, parseSignature } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { stakeRegistryAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { PERMIT_TYPES } from "../../node/chain/actions/sign-permit.ts";
import { peerIdBytes } from "../../node/p2p/admission/stake-oracle.ts";
import type { LocalNetwork } from "../support/local-network.ts";

export interface BenchOperator {
  /** Ed25519 seed of the node key (hex), so a worker process can rebuild the key. */
  readonly seed: string;
  readonly peerId: string;
  readonly operator: Address;
}

const FEES = { maxFeePerGas: parseGwei("100"), maxPriorityFeePerGas: parseGwei("1") } as const;

async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, items.length) }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

/** Creates `count` operators, each staked with `stake` and bound to its own node key. */
export async function stakeOperators(
  net: LocalNetwork,
  count: number,
  stake: bigint,
  progress: (done: number, phase: string) => void = () => undefined,
): Promise<BenchOperator[]> {
  const transport = http(net.rpcUrl, { timeout: 60_000 });
  const chain = net.publicClient.chain;
  const testClient = createTestClient({ chain, mode: "hardhat", transport });
  const operators = await Promise.all(
    Array.from({ length: count }, async () => {
      const seed = randomBytes(32);
      const peerId = peerIdFromPrivateKey(await generateKeyPairFromSeed("Ed25519", seed)).toString();
      const account = privateKeyToAccount(generatePrivateKey());
      return { seed: seed.toString("hex"), peerId, account };
    }),
  );
  await inLanes(operators, 32, (op) =>
    testClient.setBalance({ address: op.account.address, value: parseEther("1") }),
  );
  progress(count, "gas money");

  // Token transfers from the treasury: one account, so one nonce sequence, sent in order.
  const deployer = net.deployer;
  let nonce = await net.publicClient.getTransactionCount({
    address: deployer.account.address,
    blockTag: "pending",
  });
  let last: Hex | undefined;
  for (const [i, op] of operators.entries()) {
    last = await deployer.writeContract({
      address: net.addresses.token,
      abi: vainTokenAbi,
      functionName: "transfer",
      args: [op.account.address, stake],
      nonce: nonce++,
      gas: 100_000n,
      ...FEES,
    });
    if (i % 100 === 99) progress(i + 1, "tokens");
  }
  if (last !== undefined) await net.publicClient.waitForTransactionReceipt({ hash: last });

  const [, name, version, chainId, verifyingContract] = await net.publicClient.readContract({
    address: net.addresses.token,
    abi: vainTokenAbi,
    functionName: "eip712Domain",
  });
  const deadline = (await net.publicClient.getBlock()).timestamp + 24n * 3600n;
  let done = 0;
  // Each operator: stakeWithPermit (nonce 0), then bindPeerId (nonce 1); operators in parallel lanes.
  await inLanes(operators, 32, async (op) => {
    const wallet = createWalletClient({ chain, transport, account: op.account });
    const signature = await op.account.signTypedData({
      domain: { name, version, chainId, verifyingContract },
      types: PERMIT_TYPES,
      primaryType: "Permit",
      message: {
        owner: op.account.address,
        spender: net.addresses.registry,
        value: stake,
        nonce: 0n,
        deadline,
      },
    });
    const { v, yParity, r, s } = parseSignature(signature);
    await wallet.writeContract({
      address: net.addresses.registry,
      abi: stakeRegistryAbi,
      functionName: "stakeWithPermit",
      args: [stake, deadline, v === undefined ? yParity + 27 : Number(v), r, s],
      nonce: 0,
      gas: 400_000n,
      ...FEES,
    });
    const hash = await wallet.writeContract({
      address: net.addresses.registry,
      abi: stakeRegistryAbi,
      functionName: "bindPeerId",
      args: [peerIdBytes(op.peerId)],
      nonce: 1,
      gas: 400_000n,
      ...FEES,
    });
    const receipt = await net.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.status !== "success") throw new Error(`bindPeerId for ${op.account.address} reverted`);
    done += 1;
    if (done % 100 === 0) progress(done, "staked and bound");
  });
  return operators.map((op) => ({ seed: op.seed, peerId: op.peerId, operator: op.account.address }));
}
