/**
 * The chain world of `bench:attacks`' contract-level strategies: one real `hardhat node` with the deployed
 * protocol and the real Groth16 verifier, operators funded and staked through the node's chain actions, and
 * the few round steps a scripted operator takes (commit, lock and select, post, draw, finalize) as real
 * transactions. The attacker's moves are the same calls with other arguments or timing; nothing is mocked.
 * The chain clock is moved with `evm_increaseTime` / `evm_mine`, never waited for.
 */
import type { Abi, Account, Address, Chain, LocalAccount, Transport, WalletClient } from "viem";
import { BaseError, ContractFunctionRevertedError, keccak256, parseEther, toHex } from "viem";

import { createTask, fundTask, openRound, setAggregatorOptIn } from "../../node/chain/actions/index.ts";
import type { CreateTaskParameters } from "../../node/chain/actions/index.ts";
import {
  ChallengeStatus,
  RoundState,
  stakeRegistryAbi,
  trainingRoundsAbi,
  vainTokenAbi,
} from "../../node/chain/contracts.ts";
import { lockAndSelect, nextDrawArgs, nextSelectionStep } from "../../node/chain/draws.ts";
import { groth16VerifierChoice } from "../../node/proofs/deploy.ts";
import {
  actionClient,
  fundOperator,
  minStake,
  stakeAndBind,
  startLocalNetwork,
  walletFor,
} from "../support/local-network.ts";
import type { LocalNetwork } from "../support/local-network.ts";
import { devRpc } from "../../node/chain/dev-rpc.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

/** A funded, staked operator the world drives. */
export interface Operator {
  readonly account: LocalAccount;
  readonly wallet: Wallet;
  readonly address: Address;
}

/** The outcome of a call the attacker tries: its receipt's gas, or the contract error that refused it. */
export type Attempt =
  { readonly ok: true; readonly gas: bigint } | { readonly ok: false; readonly error: string };

/** Reward per round of every task the strategies create: 100 VAIN, the demo's emission. */
export const ATTACK_REWARD_WEI = parseEther("100");

export class AttackWorld {
  readonly net: LocalNetwork;
  readonly minStakeWei: bigint;

  private constructor(net: LocalNetwork, minStakeWei: bigint) {
    this.net = net;
    this.minStakeWei = minStakeWei;
  }

  /** Starts the chain on `port` with the real Groth16 verifier. */
  static async start(port: number): Promise<AttackWorld> {
    const net = await startLocalNetwork(port, { verifier: await groth16VerifierChoice() });
    return new AttackWorld(net, await minStake(net));
  }

  stop(): Promise<void> {
    return this.net.stop();
  }

  get rounds(): Address {
    return this.net.addresses.rounds;
  }

  /** A fresh operator with `stakeWei` active stake and `spareWei` unstaked VAIN (bonds, top-ups). */
  async operator(stakeWei: bigint, spareWei = 0n): Promise<Operator> {
    const account = await fundOperator(this.net, stakeWei + spareWei);
    if (stakeWei > 0n) await stakeAndBind(this.net, account, stakeWei);
    const wallet = await walletFor(this.net, account);
    return { account, wallet, address: account.address };
  }

  async operators(count: number, stakeWei: bigint, spareWei = 0n): Promise<Operator[]> {
    const out: Operator[] = [];
    for (let i = 0; i < count; i++) out.push(await this.operator(stakeWei, spareWei));
    return out;
  }

  /** Opts `operator` in or out as an aggregator candidate of `taskId` (default: the task created last). */
  async optIn(operator: Operator, optIn = true, taskId = this.latestTask()): Promise<void> {
    await setAggregatorOptIn(actionClient(this.net, operator.wallet), { taskId, optIn });
    if (optIn) this.optedIn.add(operator);
    else this.optedIn.delete(operator);
  }

  /** Operators this world opted in as candidates (strategies share one chain: each starts with none). */
  private readonly optedIn = new Set<Operator>();

  /**
   * Opts `known` out, then every candidate this world opted in, then prunes whatever inactive is left, on the task
   * created last (candidates are per task; each strategy makes its own task).
   */
  async clearCandidates(known: readonly Operator[] = []): Promise<void> {
    if (this.tasks.length === 0) return;
    const taskId = this.latestTask();
    for (const op of [...known, ...this.optedIn])
      await this.attempt(op, "setAggregatorOptIn", [taskId, false]);
    this.optedIn.clear();
    const left = await this.net.publicClient.readContract({
      address: this.rounds,
      abi: trainingRoundsAbi,
      functionName: "aggregatorCandidates",
      args: [taskId],
    });
    if (left.length > 0) await this.attempt(this.net.deployer, "pruneCandidates", [taskId, left]);
  }

  /** Tasks this world created, in order. */
  private readonly tasks: bigint[] = [];

  private latestTask(): bigint {
    const last = this.tasks.at(-1);
    if (last === undefined) throw new Error("no task yet: create one (world.task) before opting in");
    return last;
  }

  /** A funded task with 100 VAIN per round and the minimum windows (the bench moves the clock). */
  async task(options: Partial<CreateTaskParameters> & { readonly parameters: number }): Promise<bigint> {
    const treasury = actionClient(this.net, this.net.deployer);
    const { taskId } = await createTask(treasury, {
      modelRef: keccak256(toHex(`attacks-task-${Date.now()}-${Math.random()}`)),
      rewardPerRoundWei: ATTACK_REWARD_WEI,
      commitWindowS: 30n,
      aggregateWindowS: 30n,
      challengeWindowS: 30n,
      answerWindowS: 30n,
      roundIntervalS: 0n,
      proven: false,
      ...options,
    });
    await fundTask(treasury, { taskId, amountWei: ATTACK_REWARD_WEI * 1_000n });
    this.tasks.push(taskId);
    return taskId;
  }

  async openRound(taskId: bigint): Promise<bigint> {
    const { roundId } = await openRound(actionClient(this.net, this.net.deployer), { taskId });
    return roundId;
  }

  // ------------------------------------------------------------------ transactions

  /** Sends a TrainingRounds call that must succeed; returns its gas. */
  async send(from: Operator | Wallet, functionName: string, args: readonly unknown[]): Promise<bigint> {
    const result = await this.attempt(from, functionName, args);
    if (!result.ok) throw new Error(`${functionName} reverted: ${result.error}`);
    return result.gas;
  }

  /** Tries a TrainingRounds call; a revert is an outcome (its error name), not a failure of the bench. */
  attempt(from: Operator | Wallet, functionName: string, args: readonly unknown[]): Promise<Attempt> {
    return this.attemptOn(from, this.rounds, trainingRoundsAbi, functionName, args);
  }

  async attemptOn(
    from: Operator | Wallet,
    address: Address,
    abi: Abi,
    functionName: string,
    args: readonly unknown[],
  ): Promise<Attempt> {
    const wallet = "wallet" in from ? from.wallet : from;
    const publicClient = this.net.publicClient;
    try {
      const { request } = await publicClient.simulateContract({
        account: wallet.account,
        address,
        abi,
        functionName,
        args,
      } as Parameters<typeof publicClient.simulateContract>[0]);
      const hash = await wallet.writeContract(request as Parameters<typeof wallet.writeContract>[0]);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") return { ok: false, error: "reverted" };
      return { ok: true, gas: receipt.gasUsed };
    } catch (error) {
      return { ok: false, error: revertName(error) };
    }
  }

  /** Stakes `amountWei` more (the operator approved nothing yet: approve + stake). */
  async topUp(operator: Operator, amountWei: bigint): Promise<void> {
    const { token, registry } = this.net.addresses;
    const approve = await this.attemptOn(operator, token, vainTokenAbi, "approve", [registry, amountWei]);
    if (!approve.ok) throw new Error(`approve reverted: ${approve.error}`);
    const staked = await this.attemptOn(operator, registry, stakeRegistryAbi, "stake", [amountWei]);
    if (!staked.ok) throw new Error(`stake reverted: ${staked.error}`);
  }

  async requestUnstake(operator: Operator, amountWei: bigint): Promise<void> {
    const r = await this.attemptOn(
      operator,
      this.net.addresses.registry,
      stakeRegistryAbi,
      "requestUnstake",
      [amountWei],
    );
    if (!r.ok) throw new Error(`requestUnstake reverted: ${r.error}`);
  }

  // ------------------------------------------------------------------ clock

  async rpc(method: string, params: unknown[] = []): Promise<unknown> {
    return devRpc(this.net.rpcUrl, method, params);
  }

  mine(): Promise<unknown> {
    return this.rpc("evm_mine");
  }

  async now(): Promise<bigint> {
    return (await this.net.publicClient.getBlock({ blockTag: "latest" })).timestamp;
  }

  /** Moves the chain clock just past `timestamp` (no-op if already past) and mines. */
  async advancePast(timestamp: bigint): Promise<void> {
    const now = await this.now();
    if (now <= timestamp) await this.rpc("evm_increaseTime", [Number(timestamp - now + 1n)]);
    await this.mine();
  }

  // ------------------------------------------------------------------ reads

  round(roundId: bigint) {
    return this.net.publicClient.readContract({
      address: this.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
  }

  task$(taskId: bigint) {
    return this.net.publicClient.readContract({
      address: this.rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [taskId],
    });
  }

  // ------------------------------------------------------------------ round steps

  /** Selects an already locked round once its seed block is mined (`by` sends it, default the treasury). */
  async selectLocked(roundId: bigint, by?: Operator): Promise<Address> {
    const { publicClient } = this.net;
    const { seedBlock } = await publicClient.readContract({
      address: this.rounds,
      abi: trainingRoundsAbi,
      functionName: "getDraws",
      args: [roundId],
    });
    while ((await publicClient.getBlockNumber({ cacheTime: 0 })) <= seedBlock) await this.mine();
    const step = await nextSelectionStep(publicClient, this.rounds, roundId, await this.now());
    if (step.kind !== "select") throw new Error(`round ${roundId} cannot be selected (${step.kind})`);
    await this.send(by ?? this.net.deployer, "selectAggregator", [...step.args]);
    return (await this.round(roundId)).aggregator;
  }

  /** Locks the selection (by `by`, default the treasury) and selects once the seed block is mined. */
  async select(roundId: bigint, by?: Operator): Promise<Address> {
    await lockAndSelect(
      {
        publicClient: this.net.publicClient,
        walletClient: by?.wallet ?? this.net.deployer,
        rounds: this.rounds,
        mine: async () => void (await this.mine()),
      },
      roundId,
    );
    return (await this.round(roundId)).aggregator;
  }

  /** Moves past the commit deadline. */
  async closeCommits(roundId: bigint): Promise<void> {
    await this.advancePast((await this.round(roundId)).commitDeadline);
  }

  /** Draws the sampled chunks of a posted proven round once its seed block is mined (anyone may). */
  async drawSamples(roundId: bigint): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const args = await nextDrawArgs(this.net.publicClient, this.rounds, roundId);
      if (args !== undefined) {
        await this.send(this.net.deployer, "drawSamples", args);
        return;
      }
      await this.mine();
    }
  }

  /** Pending (sampled or bonded) challenges of a round, by chunk. */
  async pendingChunks(roundId: bigint): Promise<number[]> {
    const events = await this.net.publicClient.getContractEvents({
      address: this.rounds,
      abi: trainingRoundsAbi,
      eventName: "ChunkChallenged",
      args: { roundId },
      fromBlock: 0n,
    });
    const out: number[] = [];
    for (const e of events) {
      const chunk = e.args.chunkIndex ?? 0n;
      const ch = await this.net.publicClient.readContract({
        address: this.rounds,
        abi: trainingRoundsAbi,
        functionName: "getChallenge",
        args: [roundId, chunk],
      });
      if (ch.status === ChallengeStatus.Pending) out.push(Number(chunk));
    }
    return out;
  }

  /** Moves past the challenge and dispute deadlines and finalizes (or resolves what is left unanswered). */
  async finish(roundId: bigint): Promise<"finalized" | "failed"> {
    let r = await this.round(roundId);
    if (r.state === RoundState.Challenging) {
      const deadline = r.challengeDeadline > r.disputeDeadline ? r.challengeDeadline : r.disputeDeadline;
      await this.advancePast(deadline);
      for (const chunk of await this.pendingChunks(roundId)) {
        await this.advancePast(
          (
            await this.net.publicClient.readContract({
              address: this.rounds,
              abi: trainingRoundsAbi,
              functionName: "getChallenge",
              args: [roundId, BigInt(chunk)],
            })
          ).answerDeadline,
        );
        await this.attempt(this.net.deployer, "resolveUnansweredChallenge", [roundId, BigInt(chunk)]);
      }
      r = await this.round(roundId);
      if (r.state === RoundState.Challenging) await this.send(this.net.deployer, "finalizeRound", [roundId]);
      r = await this.round(roundId);
    }
    return r.state === RoundState.Finalized ? "finalized" : "failed";
  }
}

/** The contract error's name (`AlreadySlashed`, `DeadlineNotReached`…) or the short message. */
export function revertName(error: unknown): string {
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError)
      return reverted.data?.errorName ?? reverted.reason ?? "reverted";
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
