/**
 * Operator actions against a real `hardhat node` process (port 18600): staking with a permit and every
 * fallback, unbonding and withdrawal across the delay, peer binding, tasks and rounds, a full round ending
 * in a claim, and the status read compared with direct contract reads. Reverts must come back decoded.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { bytesToHex, encodeErrorResult, keccak256, parseEther, stringToBytes } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount, toAccount } from "viem/accounts";

import { startHardhatNode } from "../../test/support/hardhat-node.ts";
import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { HARDHAT_DEV_PRIVATE_KEY } from "./accounts.ts";
import {
  InvalidAmountError,
  formatTokenAmount,
  formatTokens,
  parseAddress,
  parseTokenAmount,
} from "./amounts.ts";
import { connectChain } from "./clients.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "./contracts.ts";
import { deployProtocol } from "./deploy.ts";
import { lockAndSelect } from "./draws.ts";
import type { Deployment } from "./deployment.ts";
import type { OperatorContext, TxProgress } from "./operator.ts";
import { protocolAddresses } from "./operator.ts";
import { readOperatorStatus } from "./operator-status.ts";
import { InvalidPeerIdError, peerIdFromChainBytes, peerIdToChainBytes } from "./peer-id.ts";
import { TransactionRevertedError, decodeRevertData, formatRevert } from "./revert.ts";
import {
  NothingToWithdrawError,
  bindPeerId,
  claim,
  createTask,
  formatWait,
  fundTask,
  openRound,
  requestUnstake,
  setAggregatorOptIn,
  stake,
  withdraw,
} from "./actions/index.ts";
import { ChainError, InvalidArgumentError } from "./errors.ts";
import { parseId, parseModelRef } from "./ids.ts";
import { devRpc } from "./dev-rpc.ts";

const PORT = 18600;
const OPERATOR_KEYS: readonly Hex[] = [
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926e",
];

describe("amounts, peer IDs, model refs and revert decoding", () => {
  it("parses decimal token amounts exactly and rejects bad input with a typed error", () => {
    assert.equal(parseTokenAmount("150"), parseEther("150"));
    assert.equal(parseTokenAmount("0.5"), parseEther("0.5"));
    assert.equal(parseTokenAmount(" 0.000000000000000001 "), 1n);
    assert.equal(formatTokenAmount(parseEther("150")), "150.0");
    assert.equal(formatTokens(parseEther("0.25")), "0.25 VAIN");
    for (const bad of ["abc", "-1", "", "1e18", "0", "1.0000000000000000001", "0x10", "1,5", ".5"]) {
      assert.throws(() => parseTokenAmount(bad), InvalidAmountError, bad);
    }
    assert.equal(parseTokenAmount("0", { allowZero: true }), 0n);
    assert.throws(
      () => parseAddress("0x123"),
      (e: unknown) => (e as ChainError).code === "INVALID_ADDRESS",
    );
  });

  it("round-trips peer IDs through their on-chain bytes", async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    const peerId = id.toString();
    const bytes = peerIdToChainBytes(peerId);
    assert.equal(bytes, bytesToHex(id.toMultihash().bytes));
    assert.equal(peerIdFromChainBytes(bytes), peerId);
    assert.equal(peerIdFromChainBytes("0x"), null);
    assert.equal(peerIdFromChainBytes("0xdeadbeef"), "0xdeadbeef");
    assert.throws(() => peerIdToChainBytes("nonsense"), InvalidPeerIdError);
  });

  it("parses model references and IDs", () => {
    const hex = keccak256(stringToBytes("x"));
    assert.equal(parseModelRef(hex), hex);
    assert.equal(parseModelRef("mnist-mlp-v1"), keccak256(stringToBytes("mnist-mlp-v1")));
    assert.throws(() => parseModelRef("0x1234"), InvalidArgumentError);
    assert.equal(parseId("7", "task ID"), 7n);
    for (const bad of ["0", "-1", "x", "1.5"])
      assert.throws(() => parseId(bad, "task ID"), InvalidArgumentError);
  });

  it("decodes custom errors of every contract and formats waits", () => {
    const data = encodeErrorResult({ abi: stakeRegistryAbi, errorName: "NothingToWithdraw", args: [1234n] });
    const decoded = decodeRevertData(data);
    assert.deepEqual(decoded, { errorName: "NothingToWithdraw", args: { releaseTime: 1234n } });
    assert.equal(formatRevert(decoded!), "NothingToWithdraw(releaseTime=1234)");
    const tokenError = encodeErrorResult({
      abi: vainTokenAbi,
      errorName: "ERC20InsufficientBalance",
      args: ["0x0000000000000000000000000000000000000001", 1n, 2n],
    });
    assert.equal(decodeRevertData(tokenError)?.errorName, "ERC20InsufficientBalance");
    assert.equal(decodeRevertData("0x12345678"), undefined);
    assert.equal(formatWait(90_061n), "1d 1h 1m");
    assert.equal(formatWait(42n), "42s");
  });
});

describe("operator actions on a real hardhat node", { timeout: 240_000 }, () => {
  let chain: HardhatNodeProcess;
  let publicClient: PublicClient<Transport, Chain>;
  let deployment: Deployment;
  let deployerWallet: WalletClient<Transport, Chain, Account>;
  const progress: TxProgress[] = [];

  async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
    return devRpc(chain.rpcUrl, method, params);
  }

  async function advance(seconds: number): Promise<void> {
    await rpc("evm_increaseTime", [seconds]);
    await rpc("evm_mine");
  }

  async function contextFor(account: Account): Promise<OperatorContext> {
    const { walletClient } = await connectChain(chain.rpcUrl, account);
    return {
      publicClient,
      walletClient: walletClient!,
      deployment,
      contracts: protocolAddresses(deployment),
      rpcUrl: chain.rpcUrl,
      onProgress: (e) => progress.push(e),
    };
  }

  async function tokenBalance(address: Address): Promise<bigint> {
    return publicClient.readContract({
      address: protocolAddresses(deployment).token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [address],
    });
  }

  const operators = OPERATOR_KEYS.map((k) => privateKeyToAccount(k));

  before(async () => {
    chain = await startHardhatNode(PORT);
    const connected = await connectChain(chain.rpcUrl, privateKeyToAccount(HARDHAT_DEV_PRIVATE_KEY));
    publicClient = connected.publicClient;
    deployerWallet = connected.walletClient!;
    deployment = await deployProtocol({ publicClient, walletClient: deployerWallet, rpcUrl: chain.rpcUrl });
    for (const op of operators) {
      const hash = await deployerWallet.writeContract({
        address: protocolAddresses(deployment).token,
        abi: vainTokenAbi,
        functionName: "transfer",
        args: [op.address, parseEther("1000")],
      });
      await publicClient.waitForTransactionReceipt({ hash });
    }
  });

  let stopped = false;
  after(async () => {
    // stop() waits for an exit event, which a stopped process never emits again: stop once.
    if (!stopped) await chain?.stop();
  });

  it("stakes with one permit transaction and reports progress", async () => {
    const ctx = await contextFor(operators[0]!);
    progress.length = 0;
    const result = await stake(ctx, { amountWei: parseEther("150") });
    assert.equal(result.method, "permit");
    assert.equal(result.transactionHashes.length, 1);
    assert.equal(result.activeStakeWei, parseEther("150"));
    assert.equal(await tokenBalance(operators[0]!.address), parseEther("850"));
    const { registry, token } = protocolAddresses(deployment);
    const allowance = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [operators[0]!.address, registry],
    });
    assert.equal(allowance, 0n, "the permit leaves no standing allowance");
    assert.ok(progress.some((e) => e.kind === "sent" && e.hash === result.transactionHashes[0]));
    assert.ok(progress.some((e) => e.kind === "mined"));
  });

  it("falls back to approve + stake when asked, when the account cannot sign typed data, and uses an existing allowance", async () => {
    const forced = await stake(await contextFor(operators[1]!), {
      amountWei: parseEther("120"),
      usePermit: false,
    });
    assert.equal(forced.method, "approve+stake");
    assert.equal(forced.transactionHashes.length, 2);
    assert.equal(forced.activeStakeWei, parseEther("120"));

    // A signer without EIP-712 support (e.g. some hardware wallets): signing throws, approve + stake is used.
    const inner = operators[2]!;
    const noTypedData = toAccount({
      address: inner.address,
      signMessage: (args) => inner.signMessage(args),
      signTransaction: (tx, options) => inner.signTransaction(tx, options),
      signTypedData: () => Promise.reject(new Error("EIP-712 signing not supported by this wallet")),
    });
    const fallback = await stake(await contextFor(noTypedData), { amountWei: parseEther("200") });
    assert.equal(fallback.method, "approve+stake");
    assert.equal(fallback.activeStakeWei, parseEther("200"));

    // An allowance already in place: a plain stake, one transaction.
    const ctx = await contextFor(operators[1]!);
    const hash = await ctx.walletClient.writeContract({
      address: protocolAddresses(deployment).token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [protocolAddresses(deployment).registry, parseEther("5")],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    const plain = await stake(ctx, { amountWei: parseEther("5") });
    assert.equal(plain.method, "stake");
    assert.equal(plain.activeStakeWei, parseEther("125"));
  });

  it("reports reverts decoded, in words, without retrying", async () => {
    const ctx = await contextFor(operators[0]!);
    const tooMuch = await stake(ctx, { amountWei: parseEther("5000") }).catch((e: unknown) => e);
    assert.ok(tooMuch instanceof TransactionRevertedError, String(tooMuch));
    assert.equal(tooMuch.errorName, "ERC20InsufficientBalance");
    assert.equal(tooMuch.code, "TX_REVERTED");
    assert.match(
      tooMuch.shortMessage,
      /^stake failed: insufficient VAIN balance: have 850\.0 VAIN, need 5000\.0 VAIN/,
    );
    const unstakeTooMuch = await requestUnstake(ctx, { amountWei: parseEther("151") }).catch(
      (e: unknown) => e,
    );
    assert.ok(unstakeTooMuch instanceof TransactionRevertedError);
    assert.equal(unstakeTooMuch.errorName, "InsufficientActiveStake");
    assert.deepEqual(unstakeTooMuch.args, { requested: parseEther("151"), available: parseEther("150") });
    assert.match(unstakeTooMuch.shortMessage, /only 150\.0 VAIN is actively staked/);
    const zero = await stake(ctx, { amountWei: 0n }).catch((e: unknown) => e);
    assert.equal((zero as ChainError).code, "INVALID_AMOUNT");
  });

  it("unbonds, refuses an early withdrawal with the release time, and withdraws after the delay", async () => {
    const ctx = await contextFor(operators[0]!);
    const nothing = await withdraw(ctx).catch((e: unknown) => e);
    assert.ok(nothing instanceof NothingToWithdrawError);
    assert.equal(nothing.unbondingWei, 0n);

    const before = await tokenBalance(operators[0]!.address);
    const unstaked = await requestUnstake(ctx, { amountWei: parseEther("50") });
    const block = await publicClient.getBlock();
    const delay = await publicClient.readContract({
      address: protocolAddresses(deployment).registry,
      abi: stakeRegistryAbi,
      functionName: "unbondingDelay",
    });
    assert.equal(unstaked.releaseTime, block.timestamp + delay);
    assert.equal(unstaked.activeStakeWei, parseEther("100"));
    assert.equal(unstaked.unbondingStakeWei, parseEther("50"));

    const early = await withdraw(ctx).catch((e: unknown) => e);
    assert.ok(early instanceof NothingToWithdrawError, String(early));
    assert.equal(early.releaseTime, unstaked.releaseTime);
    assert.match(early.shortMessage, /still unbonding until \d{4}-\d\d-\d\dT/);
    assert.equal(await tokenBalance(operators[0]!.address), before);

    await advance(Number(delay));
    const withdrawn = await withdraw(ctx);
    assert.equal(withdrawn.amountWei, parseEther("50"));
    assert.equal(await tokenBalance(operators[0]!.address), before + parseEther("50"));
  });

  it("binds the node's peer ID, is idempotent, and refuses a peer ID bound to someone else", async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    const ctx = await contextFor(operators[0]!);
    const bound = await bindPeerId(ctx, { peerId: peerId.toString() });
    assert.equal(bound.changed, true);
    assert.equal(bound.previousPeerId, null);
    const onChain = await publicClient.readContract({
      address: protocolAddresses(deployment).registry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [operators[0]!.address],
    });
    assert.equal(onChain, bytesToHex(peerId.toMultihash().bytes));
    const again = await bindPeerId(ctx, { peerId: peerId.toString() });
    assert.equal(again.changed, false);
    assert.equal(again.transactionHash, null);

    const taken = await bindPeerId(await contextFor(operators[1]!), { peerId: peerId.toString() }).catch(
      (e: unknown) => e,
    );
    assert.ok(taken instanceof TransactionRevertedError);
    assert.equal(taken.errorName, "PeerIdTaken");
    assert.match(taken.shortMessage, new RegExp(`already bound to operator ${operators[0]!.address}`));
  });

  it("creates, funds and opens rounds, runs one to the end and claims the reward", async () => {
    const ctx = await contextFor(operators[0]!);
    const modelRef = parseModelRef("mnist-mlp-v1");
    const created = await createTask(ctx, {
      modelRef,
      parameters: 1000,
      rewardPerRoundWei: parseEther("10"),
      commitWindowS: 60n,
      aggregateWindowS: 60n,
      challengeWindowS: 60n,
      // A robust rule the circuit cannot prove: the round below finalizes without a sampled challenge.
      rule: "median",
      proven: false,
    });
    assert.equal(created.taskId, 1n);
    assert.equal(created.rule, "median");
    assert.equal(created.proven, false);
    const unprovable = await createTask(ctx, {
      modelRef,
      parameters: 1000,
      rewardPerRoundWei: parseEther("10"),
      rule: "median",
    }).catch((e: unknown) => e);
    assert.equal((unprovable as ChainError).code, "INVALID_ARGUMENT", "median cannot be proven");
    assert.equal(created.modelRef, modelRef);
    assert.equal(created.numChunks, 16); // ceil(1000 / 64)

    const empty = await openRound(ctx, { taskId: created.taskId }).catch((e: unknown) => e);
    assert.ok(empty instanceof TransactionRevertedError);
    assert.equal(empty.errorName, "EmptyRewardPool");
    const unknown = await fundTask(ctx, { taskId: 99n, amountWei: parseEther("1") }).catch((e: unknown) => e);
    assert.equal((unknown as ChainError).code, "INVALID_ARGUMENT");

    const funded = await fundTask(ctx, { taskId: created.taskId, amountWei: parseEther("25") });
    assert.equal(funded.rewardPoolWei, parseEther("25"));
    assert.equal(funded.transactionHashes.length, 2, "approve + fund");

    const opened = await openRound(ctx, { taskId: created.taskId });
    assert.equal(opened.roundId, 1n);
    assert.equal(opened.emissionWei, parseEther("10"));
    const round = await publicClient.readContract({
      address: protocolAddresses(deployment).rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [opened.roundId],
    });
    assert.equal(round.commitDeadline, opened.commitDeadline);
    const active = await openRound(ctx, { taskId: created.taskId }).catch((e: unknown) => e);
    assert.equal((active as TransactionRevertedError).errorName, "RoundStillActive");

    const nothing = await claim(ctx).catch((e: unknown) => e);
    assert.equal((nothing as TransactionRevertedError).errorName, "NothingToClaim");

    // Finish the round: operator 0 trains and aggregates alone (an unproven task), so it earns the emission.
    const opted = await setAggregatorOptIn(ctx, { taskId: created.taskId, optIn: true });
    assert.equal(opted.optedIn, true);
    const rounds = protocolAddresses(deployment).rounds;
    const send = async (
      functionName: "commitUpdate" | "postAggregate" | "finalizeRound",
      args: readonly unknown[],
    ) => {
      const hash = await ctx.walletClient.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName,
        args: args as never,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "success", functionName);
    };
    await send("commitUpdate", [opened.roundId, keccak256(stringToBytes("update")), 100n]);
    await advance(61);
    await lockAndSelect(
      {
        publicClient,
        walletClient: ctx.walletClient,
        rounds,
        mine: () => rpc("evm_mine").then(() => undefined),
      },
      opened.roundId,
    );
    await send("postAggregate", [
      opened.roundId,
      keccak256(stringToBytes("agg")),
      keccak256(stringToBytes("model")),
      [100n],
    ]);
    await advance(121);
    await send("finalizeRound", [opened.roundId]);

    const status = await readOperatorStatus(ctx, operators[0]!.address, created.taskId);
    assert.equal(status.claimableWei, parseEther("10"));
    assert.equal(status.network.latestRound?.state, "finalized");
    const before = await tokenBalance(operators[0]!.address);
    const claimed = await claim(ctx);
    assert.equal(claimed.amountWei, parseEther("10"));
    assert.equal(await tokenBalance(operators[0]!.address), before + parseEther("10"));
  });

  it("reads an operator's status equal to the chain's own values, at one block", async () => {
    const operator = operators[1]!.address;
    const { registry, rounds, token } = protocolAddresses(deployment);
    const status = await readOperatorStatus(
      { publicClient, deployment, contracts: protocolAddresses(deployment) },
      operator,
      1n, // the task operator 0 volunteered for above
    );
    assert.equal(
      status.activeStakeWei,
      await publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "activeStake",
        args: [operator],
      }),
    );
    assert.equal(
      status.tokenBalanceWei,
      await publicClient.readContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [operator],
      }),
    );
    assert.equal(status.claimableWei, 0n);
    assert.equal(status.isActive, true);
    assert.equal(status.peerId, null);
    assert.equal(status.aggregatorOptedIn, false);
    assert.equal(status.minStakeWei, parseEther("100"));
    assert.equal(status.network.tasks, 1n);
    assert.equal(status.network.rounds, 1n);
    assert.equal(status.network.aggregatorCandidates, 1);
    assert.equal(
      status.network.totalActiveStakeWei,
      await publicClient.readContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "totalActiveStake",
      }),
    );
    const [, roundCount] = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "counts",
    });
    assert.equal(status.network.latestRound?.roundId, roundCount);
    assert.equal(status.ethBalanceWei, await publicClient.getBalance({ address: operator }));
  });

  it("fails with CHAIN_UNREACHABLE when the chain is down", async () => {
    const { walletClient } = await connectChain(chain.rpcUrl, operators[3]!);
    const down = await connectChain("http://127.0.0.1:18609").catch((e: unknown) => e);
    assert.equal((down as ChainError).code, "CHAIN_UNREACHABLE");
    await chain.stop();
    stopped = true;
    const ctx: OperatorContext = {
      publicClient,
      walletClient: walletClient!,
      deployment,
      contracts: protocolAddresses(deployment),
      rpcUrl: chain.rpcUrl,
    };
    const error = await stake(ctx, { amountWei: parseEther("1") }).catch((e: unknown) => e);
    assert.ok(error instanceof ChainError, String(error));
    assert.equal(error.code, "CHAIN_UNREACHABLE");
    const statusError = await readOperatorStatus(ctx, operators[3]!.address, 1n).catch((e: unknown) => e);
    assert.equal((statusError as ChainError).code, "CHAIN_UNREACHABLE");
  });
});
