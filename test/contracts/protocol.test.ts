/**
 * Drives the protocol with viem on Hardhat's simulated network: permits, the full round lifecycle,
 * every slashing path, EIP-712 evidence signed off chain, and a reentrancy attempt.
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  encodeAbiParameters,
  encodeFunctionData,
  keccak256,
  getAddress,
  parseAbi,
  parseAbiParameters,
  parseEther,
  parseSignature,
  toHex,
  zeroAddress,
} from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import { PERMIT_TYPES, taskConfig } from "../../node/chain/actions/index.ts";
import {
  ChallengeStatus,
  stakeRegistryAbi,
  trainingRoundsAbi,
  vainTokenAbi,
} from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { drawSamplesWhenDue, lockAndSelect } from "../../node/chain/draws.ts";
import type { Deployment } from "../../node/chain/deployment.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const wallets = (await viem.getWalletClients()) as unknown as Wallet[];
const [deployerWallet, aggWallet, t1Wallet, t2Wallet, watcherWallet] = wallets as [
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
];

/** Asserts that `action` is rejected with an error whose message matches `pattern` (e.g. a custom error). */
async function expectRejected(action: Promise<unknown>, pattern: RegExp): Promise<void> {
  const outcome = await action.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome, "expected the call to revert").to.be.instanceOf(Error);
  expect(String((outcome as Error).message)).to.match(pattern);
}

const reentrantTokenAbi = parseAbi([
  "function approve(address spender, uint256 value) returns (bool)",
  "function arm(address target, bytes payload)",
  "function reentered() view returns (bool)",
  "function lastRevert() view returns (bytes)",
  "function balanceOf(address) view returns (uint256)",
]);

async function send(hash: Promise<Hex>): Promise<void> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).to.equal("success");
}

describe("vAIn protocol with viem", function () {
  this.timeout(120_000);
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

  it("stakes with a permit in one transaction", async () => {
    await send(stakeWithPermit(t1Wallet, parseEther("150")));
    const stake = await publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "activeStake",
      args: [t1Wallet.account.address],
    });
    expect(stake).to.equal(parseEther("150"));
  });

  it("rejects permits with a bad signature or an expired deadline", async () => {
    // Signed by someone else: the permit fails, no allowance exists, and the permit's own error surfaces.
    await expectRejected(stakeWithPermit(t1Wallet, parseEther("150"), t2Wallet), /ERC2612InvalidSigner/);
    await expectRejected(
      stakeWithPermit(t1Wallet, parseEther("150"), t1Wallet, 0n - 10n),
      /ERC2612ExpiredSignature/,
    );
  });

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

  it("runs a round end to end with a proven sampled chunk and exact rewards", async () => {
    const roundId = await openRoundWithCommits();
    expect(getAddress((await round(roundId)).aggregator)).to.equal(getAddress(aggWallet.account.address));
    await postAggregate(roundId, [100n, 300n]);
    const chunk = await pendingChunk(roundId);
    await send(
      aggWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "answerChallenge",
        args: [roundId, chunk, await testProof(roundId, chunk)],
      }),
    );
    await networkHelpers.time.increase(200);
    await send(
      watcherWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "finalizeRound",
        args: [roundId],
      }),
    );
    const claimable = async (a: Address) =>
      publicClient.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "claimable",
        args: [a],
      });
    expect(await claimable(aggWallet.account.address)).to.equal(parseEther("100"));
    expect(await claimable(t1Wallet.account.address)).to.equal(parseEther("225"));
    expect(await claimable(t2Wallet.account.address)).to.equal(parseEther("675"));
    const before = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [t2Wallet.account.address],
    });
    await send(t2Wallet.writeContract({ address: rounds, abi: trainingRoundsAbi, functionName: "claim" }));
    const after = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [t2Wallet.account.address],
    });
    expect(after - before).to.equal(parseEther("675"));
  });

  it("slashes an aggregator whose proof is wrong", async () => {
    const roundId = await openRoundWithCommits();
    await postAggregate(roundId, [100n, 300n]);
    const chunk = await pendingChunk(roundId);
    const wrong = await testProof(roundId + 1n, chunk); // a proof bound to another round
    const stakeBefore = await slashableStake(aggWallet.account.address);
    await send(
      aggWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "answerChallenge",
        args: [roundId, chunk, wrong],
      }),
    );
    expect(await slashableStake(aggWallet.account.address)).to.equal(stakeBefore / 2n);
    expect((await round(roundId)).state).to.equal(5);
    const events = await publicClient.getContractEvents({
      address: registry,
      abi: stakeRegistryAbi,
      eventName: "Slashed",
    });
    expect(events.at(-1)?.args.reason).to.equal(1);
  });

  it("slashes an aggregator that leaves a challenge unanswered and pays the challenger", async () => {
    const roundId = await openRoundWithCommits();
    await postAggregate(roundId, [100n, 300n]);
    const sampled = await pendingChunk(roundId);
    const chunk = (sampled + 1n) % 4n;
    // The bond is max(challengeBond, emission / 8): 125 VAIN of this round's 1,000.
    const bond = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "challengeBondOf",
      args: [roundId],
    });
    expect(bond).to.equal(parseEther("125"));
    await send(
      watcherWallet.writeContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [rounds, bond],
      }),
    );
    // Committed a block before it is revealed, so the challenger's share cannot be taken from the mempool.
    const report = encodeFunctionData({
      abi: trainingRoundsAbi,
      functionName: "challenge",
      args: [roundId, chunk],
    });
    const salt = keccak256(toHex("watcher's salt"));
    const commitHash = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "reportCommitHash",
      args: [watcherWallet.account.address, salt, report],
    });
    await send(
      watcherWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "commitReport",
        args: [commitHash],
      }),
    );
    await send(
      watcherWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "revealReport",
        args: [salt, report],
      }),
    );
    // Answer deadlines are spaced one window apart: the bonded challenge is due after the sampled one.
    const { answerDeadline } = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getChallenge",
      args: [roundId, chunk],
    });
    await networkHelpers.time.increaseTo(answerDeadline + 1n);
    const before = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [watcherWallet.account.address],
    });
    await send(
      watcherWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "resolveUnansweredChallenge",
        args: [roundId, chunk],
      }),
    );
    const after = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [watcherWallet.account.address],
    });
    expect(after - before).to.equal(parseEther("50")); // 10% of the 500 slashed
  });

  it("slashes an aggregator that misses its deadline", async () => {
    const roundId = await openRoundWithCommits();
    await networkHelpers.time.increase(61);
    await send(
      watcherWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "reportMissedAggregation",
        args: [roundId],
      }),
    );
    expect(await slashableStake(aggWallet.account.address)).to.equal(parseEther("500"));
  });

  it("slashes equivocation proven by EIP-712 signatures made off chain", async () => {
    const roundId = await openRoundWithCommits();
    const domain = {
      name: "vAIn TrainingRounds",
      version: "1",
      chainId: await publicClient.getChainId(),
      verifyingContract: rounds,
    } as const;
    const types = {
      Aggregate: [
        { name: "roundId", type: "uint256" },
        { name: "aggregateCommitment", type: "bytes32" },
        { name: "modelRef", type: "bytes32" },
      ],
    } as const;
    const a: [Hex, Hex] = [("0x" + "01".repeat(32)) as Hex, ("0x" + "02".repeat(32)) as Hex];
    const b: [Hex, Hex] = [("0x" + "03".repeat(32)) as Hex, ("0x" + "02".repeat(32)) as Hex];
    const sign = (v: [Hex, Hex]) =>
      aggWallet.signTypedData({
        domain,
        types,
        primaryType: "Aggregate",
        message: { roundId, aggregateCommitment: v[0], modelRef: v[1] },
      });
    await send(
      watcherWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "reportEquivocation",
        args: [roundId, true, a, await sign(a), b, await sign(b)],
      }),
    );
    expect(await slashableStake(aggWallet.account.address)).to.equal(parseEther("500"));
  });

  it("cannot be re-entered through a malicious token", async () => {
    const malicious = await viem.deployContract("ReentrantToken");
    const victim = await viem.deployContract("StakeRegistry", [
      malicious.address,
      deployerWallet.account.address,
      1n,
      86_400n,
      0n,
    ]);
    const m = { address: malicious.address, abi: reentrantTokenAbi } as const;
    const v = { address: victim.address, abi: stakeRegistryAbi } as const;
    // Staking opens once the (fixed-once) slasher is set; nothing is slashed here.
    await send(deployerWallet.writeContract({ ...v, functionName: "setSlasher", args: [malicious.address] }));
    await send(
      deployerWallet.writeContract({ ...m, functionName: "approve", args: [victim.address, 1000n] }),
    );
    await send(deployerWallet.writeContract({ ...v, functionName: "stake", args: [1000n] }));
    await send(deployerWallet.writeContract({ ...v, functionName: "requestUnstake", args: [1000n] }));
    await networkHelpers.time.increase(86_400);
    // During withdraw's token transfer the token calls withdraw() again.
    await send(
      deployerWallet.writeContract({ ...m, functionName: "arm", args: [victim.address, "0x3ccfd60b"] }),
    );
    await send(deployerWallet.writeContract({ ...v, functionName: "withdraw" }));
    expect(await publicClient.readContract({ ...m, functionName: "reentered" })).to.equal(true);
    const revertData = await publicClient.readContract({ ...m, functionName: "lastRevert" });
    expect(revertData.slice(0, 10)).to.equal("0x3ee5aeb5"); // ReentrancyGuardReentrantCall()
    expect(
      await publicClient.readContract({ ...m, functionName: "balanceOf", args: [victim.address] }),
    ).to.equal(0n);
  });

  it("pays nothing to anyone when the deployer is not the slasher", async () => {
    expect(
      await publicClient.readContract({ address: registry, abi: stakeRegistryAbi, functionName: "slasher" }),
    ).to.equal(rounds);
    await expectRejected(
      deployerWallet.writeContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "slash",
        args: [t1Wallet.account.address, 1n, 1, ("0x" + "00".repeat(32)) as Hex, zeroAddress],
      }),
      /NotSlasher/,
    );
  });
});
