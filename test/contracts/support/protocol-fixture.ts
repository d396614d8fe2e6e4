/**
 * The protocol deployed on Hardhat's simulated network for the viem-driven contract tests (protocol.test.ts,
 * protocol-guards.test.ts): five funded wallets, a snapshot restored after each test, and the helpers those tests
 * share (permits, stake and bind, a round with two commits and a drawn aggregator, reads of rounds, challenges and
 * stakes). One network per test process; each file deploys its own protocol on it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, parseAbiParameters, parseEther, parseSignature } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import { PERMIT_TYPES, taskConfig } from "../../../node/chain/actions/index.ts";
import {
  ChallengeStatus,
  stakeRegistryAbi,
  trainingRoundsAbi,
  vainTokenAbi,
} from "../../../node/chain/contracts.ts";
import { deployProtocol } from "../../../node/chain/deploy.ts";
import { drawSamplesWhenDue, lockAndSelect } from "../../../node/chain/draws.ts";
import type { Deployment } from "../../../node/chain/deployment.ts";

export type Wallet = WalletClient<Transport, Chain, Account>;

export const { viem, networkHelpers } = await network.create();
export const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const wallets = (await viem.getWalletClients()) as unknown as Wallet[];
export const [deployerWallet, aggWallet, t1Wallet, t2Wallet, watcherWallet] = wallets as [
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
];

/** Asserts that `action` is rejected with an error whose message matches `pattern` (e.g. a custom error). */
export async function expectRejected(action: Promise<unknown>, pattern: RegExp): Promise<void> {
  const outcome = await action.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, "expected the call to revert").to.be.instanceOf(Error);
  expect(String((outcome as Error).message)).to.match(pattern);
}

export async function send(hash: Promise<Hex>): Promise<void> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).to.equal("success");
}

/**
 * Deploys the protocol before the calling `describe`'s tests and restores its snapshot after each; returns its
 * addresses (set once deployed) and the shared helpers.
 */
export function useProtocol() {
  let deployment: Deployment;
  let token: Address;
  let registry: Address;
  let rounds: Address;
  let snapshot: () => Promise<void>;

  before(async () => {
    deployment = await deployProtocol({ publicClient, walletClient: deployerWallet });
    token = deployment.contracts.VainToken.address as Address;
    registry = deployment.contracts.StakeRegistry.address as Address;
    rounds = deployment.contracts.TrainingRounds.address as Address;
    for (const wallet of [aggWallet, t1Wallet, t2Wallet, watcherWallet]) {
      await send(
        deployerWallet.writeContract({
          address: token,
          abi: vainTokenAbi,
          functionName: "transfer",
          args: [wallet.account.address, parseEther("10000")],
        }),
      );
    }
    const id = await networkHelpers.takeSnapshot();
    snapshot = () => id.restore();
  });

  afterEach(async () => {
    await snapshot();
  });

  async function permitSignature(wallet: Wallet, value: bigint, deadline: bigint) {
    const nonce = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "nonces",
      args: [wallet.account.address],
    });
    const signature = await wallet.signTypedData({
      domain: {
        name: "vAIn",
        version: "1",
        chainId: await publicClient.getChainId(),
        verifyingContract: token,
      },
      types: PERMIT_TYPES,
      primaryType: "Permit",
      message: { owner: wallet.account.address, spender: registry, value, nonce, deadline },
    });
    return parseSignature(signature);
  }

  async function stakeWithPermit(
    wallet: Wallet,
    value: bigint,
    signer: Wallet = wallet,
    deadlineOffset = 3600n,
  ) {
    const deadline = BigInt(await networkHelpers.time.latest()) + deadlineOffset;
    const { v, r, s } = await permitSignature(signer, value, deadline);
    return wallet.writeContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "stakeWithPermit",
      args: [value, deadline, Number(v), r, s],
    });
  }

  async function stakeAndBind(wallet: Wallet, amount: bigint, peerId: Hex) {
    await send(stakeWithPermit(wallet, amount));
    await send(
      wallet.writeContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "bindPeerId",
        args: [peerId],
      }),
    );
  }

  async function openRoundWithCommits(): Promise<bigint> {
    await stakeAndBind(aggWallet, parseEther("1000"), "0x0a01");
    await stakeAndBind(t1Wallet, parseEther("200"), "0x0a02");
    await stakeAndBind(t2Wallet, parseEther("200"), "0x0a03");
    await stakeAndBind(watcherWallet, parseEther("200"), "0x0a04");
    await send(
      deployerWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "createTask",
        args: [
          taskConfig({
            modelRef: ("0x" + "11".repeat(32)) as Hex,
            parameters: 4 * 64, // 4 chunks
            rewardPerRoundWei: parseEther("1000"),
            commitWindowS: 60n,
            aggregateWindowS: 60n,
            challengeWindowS: 120n,
            answerWindowS: 600n,
            roundIntervalS: 0n,
          }),
        ],
      }),
    );
    // Candidates volunteer per task: task 1, once it exists.
    await send(
      aggWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "setAggregatorOptIn",
        args: [1n, true],
      }),
    );
    await send(
      deployerWallet.writeContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [rounds, parseEther("5000")],
      }),
    );
    await send(
      deployerWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "fundTask",
        args: [1n, parseEther("5000")],
      }),
    );
    await send(
      deployerWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "openRound",
        args: [1n],
      }),
    );
    await send(
      t1Wallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "commitUpdate",
        args: [1n, ("0x" + "c1".repeat(32)) as Hex, 100n],
      }),
    );
    await send(
      t2Wallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "commitUpdate",
        args: [1n, ("0x" + "c2".repeat(32)) as Hex, 300n],
      }),
    );
    await networkHelpers.time.increase(61);
    await lockAndSelect(drawDriver(), 1n);
    return 1n;
  }

  /** Locks/selects and draws as the watcher, mining the seed blocks on this in-process chain. */
  function drawDriver() {
    return { publicClient, walletClient: watcherWallet, rounds, mine: () => networkHelpers.mine() };
  }

  async function round(roundId: bigint) {
    return publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
  }

  async function testProof(roundId: bigint, chunk: bigint): Promise<Hex> {
    const r = await round(roundId);
    return keccak256(
      encodeAbiParameters(parseAbiParameters("uint256, uint256, uint256, uint256[], bytes32"), [
        roundId,
        chunk,
        BigInt(r.numChunks),
        r.weights,
        r.aggregateCommitment,
      ]),
    );
  }

  async function pendingChunk(roundId: bigint): Promise<bigint> {
    const r = await round(roundId);
    for (let i = 0n; i < BigInt(r.numChunks); i++) {
      const ch = await publicClient.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "getChallenge",
        args: [roundId, i],
      });
      if (ch.status === ChallengeStatus.Pending) return i;
    }
    throw new Error("no pending challenge");
  }

  async function slashableStake(account: Address): Promise<bigint> {
    return publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "slashableStake",
      args: [account],
    });
  }

  async function postAggregate(roundId: bigint, weights: bigint[]) {
    await send(
      aggWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postAggregate",
        args: [roundId, ("0x" + "aa".repeat(32)) as Hex, ("0x" + "bb".repeat(32)) as Hex, weights],
      }),
    );
    await drawSamplesWhenDue(drawDriver(), roundId);
  }

  return {
    get deployment() {
      return deployment;
    },
    get token() {
      return token;
    },
    get registry() {
      return registry;
    },
    get rounds() {
      return rounds;
    },
    stakeWithPermit,
    stakeAndBind,
    openRoundWithCommits,
    drawDriver,
    round,
    testProof,
    pendingChunk,
    slashableStake,
    postAggregate,
  };
}
