/**
 * Every chain read and write the round roles make, in one place: the task and round views, pending
 * challenges, answered statements, the operator → peer binding. Writes are serialised here (one nonce
 * sequence): simulate, send, wait, decoded custom errors, and an RPC outage ridden out (`transact`).
 * Reward-bearing reports are sent committed, then revealed a block later (`report`), so a copy of the
 * report taken from the mempool earns its sender nothing (docs/protocol.md §3).
 */
import { randomBytes } from "node:crypto";

import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import type { Abi, Address, Hex, TransactionReceipt } from "viem";
import { bytesToHex, encodeAbiParameters, encodeFunctionData, keccak256, zeroAddress } from "viem";

import { ensureAllowance } from "../../chain/actions/ensure-allowance.ts";
import { ChallengeStatus, stakeRegistryAbi, trainingRoundsAbi } from "../../chain/contracts.ts";
import { withGasMargin } from "../../chain/constants.ts";
import { TransactionFailedError, toChainError } from "../../chain/revert.ts";
import { withTransportRetry } from "../../chain/transport-retry.ts";
import { peerIdFromChainBytes } from "../../chain/peer-id.ts";
import { MeshError } from "../../p2p/errors.ts";
import { nextDrawArgs, nextSelectionStep, readDraws, roundOpenBlock } from "../../chain/draws.ts";
import type { SelectionStep } from "../../chain/draws.ts";
import { roundTreeFromChain } from "../hierarchy.ts";
import type { RoundTree } from "../hierarchy.ts";
import { dropOldRounds } from "./context.ts";
import { ChainClock } from "./chain-clock.ts";
import { RoundCache } from "./round-cache.ts";
import { readAnsweredStatements, readPendingChallenges } from "./round-challenges.ts";
import type { AnsweredStatement, PendingChallenge } from "./round-challenges.ts";
import { postedWeights, postsWeightTree } from "./weight-claims.ts";
import type {
  RoundsGatewayInit,
  RoundsReport,
  RoundsWrite,
  RoundsWriteArgs,
  SendOutcome,
  TaskView,
} from "./rounds-gateway-types.ts";

/**
 * Each wallet's transaction queue: a node running a group task and its parent (docs/protocol.md §7) has a gateway
 * per task and one account, whose nonces two queues would race for.
 */
const TX_QUEUES = new WeakMap<object, TxQueue>();
/** Transactions remembered for the wallet's transaction time (the slowest of them counts). */
const TX_TIMES_KEPT = 8;

/** One wallet's queue, and how long its latest sent transactions took from queued to mined (ms). */
interface TxQueue {
  tail: Promise<unknown>;
  readonly sentMs: number[];
}

export class RoundsGateway {
  private readonly init: RoundsGatewayInit;
  /** This node's transactions, serialised (one nonce sequence), shared by every gateway of its wallet. */
  private readonly txQueue: TxQueue;
  /** Rounds as peers' pushes see them: one chain read per phase, not per push (round-cache.ts). */
  readonly pushRounds: RoundCache<Awaited<ReturnType<RoundsGateway["readRound"]>>>;
  /** The chain's time, from this gateway's head reads (chain-clock.ts). */
  readonly clock = new ChainClock();
  /** Each recent round's opening block (fixed once it opened): where its event searches start. */
  private readonly openBlocks = new Map<bigint, bigint>();

  constructor(init: RoundsGatewayInit) {
    this.init = init;
    let queue = TX_QUEUES.get(init.wallet);
    if (queue === undefined) TX_QUEUES.set(init.wallet, (queue = { tail: Promise.resolve(), sentMs: [] }));
    this.txQueue = queue;
    this.pushRounds = new RoundCache((roundId) => this.readRound(roundId));
  }

  /**
   * The round a peer's push is checked against, cached per phase: re-read from the chain only when the cached
   * round does not `fits` the push, within the pushing `requester`'s budget (round-cache.ts).
   */
  roundForPush(
    roundId: bigint,
    requester: string,
    fits: (round: Awaited<ReturnType<RoundsGateway["readRound"]>>) => boolean,
  ): Promise<Awaited<ReturnType<RoundsGateway["readRound"]>>> {
    return this.pushRounds.get(roundId, requester, fits);
  }

  /**
   * The block the node acts on: `confirmations` behind the head, so a reorg cannot undo what it saw. The head's
   * timestamp, dated by when it was asked, sets the chain clock (chain-clock.ts): the acted-on block is older by
   * those confirmations, and the tick decides later still.
   */
  async actionableBlock(confirmations: number): Promise<bigint> {
    const askedAt = Date.now();
    const head = await this.init.publicClient.getBlock({ blockTag: "latest" });
    this.clock.observe(head.timestamp, askedAt);
    const depth = BigInt(confirmations);
    return head.number > depth ? head.number - depth : 0n;
  }

  async blockTimestamp(blockNumber: bigint): Promise<bigint> {
    return (await this.init.publicClient.getBlock({ blockNumber })).timestamp;
  }

  readTask(blockNumber?: bigint): Promise<TaskView> {
    return this.readTaskById(this.init.taskId, blockNumber);
  }

  /** Any task's view (a group leader reads its parent task's, partial-commit.ts). */
  async readTaskById(taskId: bigint, blockNumber?: bigint): Promise<TaskView> {
    const task = await this.init.publicClient.readContract({
      address: this.init.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [taskId],
      blockNumber,
    });
    return {
      modelRef: task.modelRef,
      numChunks: task.numChunks,
      activeRound: task.activeRound,
      roundCount: task.roundCount,
      exists: task.numChunks !== 0,
      closed: task.closed,
      rewardPoolWei: task.rewardPool,
      nextOpenTime: BigInt(task.nextOpenTime),
      proven: task.proven,
      ruleId: task.ruleId,
      commitWindowS: BigInt(task.commitWindow),
      aggregateWindowS: BigInt(task.aggregateWindow),
      answerWindowS: BigInt(task.answerWindow),
      disputeWindowS: BigInt(task.disputeWindow),
      specHash: task.specHash,
    };
  }

  async readRound(roundId: bigint, blockNumber?: bigint) {
    const round = await this.init.publicClient.readContract({
      address: this.init.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
      blockNumber,
    });
    // A large round's weights are published leaves, not storage: every reader sees them as `weights` alike.
    if (!round.posted || !postsWeightTree(round.trainers.length)) return round;
    const { publicClient, contracts } = this.init;
    return { ...round, weights: await postedWeights(publicClient, contracts.rounds, roundId, round) };
  }

  /**
   * The blob name (sha256 hex, no 0x) the aggregator posted for a round's encoded aggregate (`AggregatePosted`'s
   * `aggregateData`), searched from the round's opening block; undefined before it was posted.
   */
  async aggregateData(roundId: bigint): Promise<string | undefined> {
    const { publicClient, contracts } = this.init;
    const events = await publicClient.getContractEvents({
      address: contracts.rounds,
      abi: trainingRoundsAbi,
      eventName: "AggregatePosted",
      args: { roundId },
      fromBlock: await this.openBlockOf(roundId),
    });
    return events[0]?.args.aggregateData?.slice(2).toLowerCase();
  }

  /**
   * The operator that takes over the round if its aggregator misses (`RoundDraws.backup`, drawn with it);
   * undefined when there is none, or once it took over.
   */
  async backupOf(roundId: bigint): Promise<string | undefined> {
    const draws = await readDraws(this.init.publicClient, this.init.contracts.rounds, roundId);
    return draws.backup === zeroAddress ? undefined : draws.backup.toLowerCase();
  }

  /** What the selection of an Open round past its commit deadline needs next (lock, wait, or select). */
  nextSelectionStep(roundId: bigint, nowS: bigint): Promise<SelectionStep> {
    return nextSelectionStep(this.init.publicClient, this.init.contracts.rounds, roundId, nowS);
  }

  /** The `drawSamples` arguments once a posted round's sample seed block is mined (undefined: none due). */
  nextDrawArgs(roundId: bigint): Promise<readonly [bigint, Hex] | undefined> {
    return nextDrawArgs(this.init.publicClient, this.init.contracts.rounds, roundId);
  }

  /** A round's aggregation tree, from its trainers, commitments and selection seed (`roundTreeFromChain`). */
  readTree(
    roundId: bigint,
    round: Parameters<typeof roundTreeFromChain>[3],
    maxFanIn: number,
  ): Promise<RoundTree> {
    return roundTreeFromChain(this.init.publicClient, this.init.contracts.rounds, roundId, round, maxFanIn);
  }

  /**
   * The block `roundId` opened in (roundOpenBlock), read once per round: the event searches of every tick of a
   * challenged aggregator start there, and it never changes once the round is open.
   */
  private async openBlockOf(roundId: bigint): Promise<bigint> {
    const known = this.openBlocks.get(roundId);
    if (known !== undefined) return known;
    const openBlock = await roundOpenBlock(this.init.publicClient, this.init.contracts.rounds, roundId);
    // A round not opened yet reads 0: not kept, so its real block is read once it opens.
    if (openBlock !== 0n) {
      this.openBlocks.set(roundId, openBlock);
      dropOldRounds(this.openBlocks, roundId);
    }
    return openBlock;
  }

  /** Challenges of a round still awaiting their answer (round-challenges.ts). */
  async pendingChallenges(roundId: bigint): Promise<PendingChallenge[]> {
    const { publicClient, contracts } = this.init;
    return readPendingChallenges(publicClient, contracts.rounds, roundId, await this.openBlockOf(roundId));
  }

  /** Every answer posted in a round: the chunk and the statement its proof was checked against. */
  async answeredStatements(roundId: bigint): Promise<AnsweredStatement[]> {
    const { publicClient, contracts } = this.init;
    return readAnsweredStatements(publicClient, contracts.rounds, roundId, await this.openBlockOf(roundId));
  }

  /** The libp2p peer an operator bound on chain. */
  async peerOf(operator: Address): Promise<PeerId> {
    const bytes = await this.init.publicClient.readContract({
      address: this.init.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [operator],
    });
    const peerId = peerIdFromChainBytes(bytes);
    if (peerId === null)
      throw new MeshError("PEER_UNREACHABLE", `operator ${operator} has no valid bound peer ID`);
    return peerIdFromString(peerId);
  }

  /**
   * Checks (eth_estimateGas), then sends, one TrainingRounds call; transactions of this node are serialised
   * (one nonce sequence). Returns false when the call would revert (another node was first, or not due yet).
   */
  sendIfValid<F extends RoundsWrite>(functionName: F, args: RoundsWriteArgs<F>): Promise<boolean> {
    return this.trySend(functionName, args).then((outcome) => outcome.sent);
  }

  /** As `sendIfValid`, with the contract's or the transport's reason when nothing was sent (for the operator). */
  trySend<F extends RoundsWrite>(
    functionName: F,
    args: RoundsWriteArgs<F>,
    /** How long to ride out an unreachable chain (ms; default CHAIN_WRITE_RETRY_BUDGET_MS): up to a deadline. */
    retryBudgetMs?: number,
  ): Promise<SendOutcome> {
    return this.enqueueOutcome(functionName, () => this.send(functionName, args, retryBudgetMs));
  }

  /**
   * Sends a reward-bearing report the front-running-proof way: simulates it (nothing is spent on a report
   * that would fail now, e.g. because another node was first), commits keccak(me, salt, report), and once
   * that is mined reveals it (`revealReport`), which runs the report with this node as its reporter. A
   * copier that sends the revealed report first gets no share; this node's reveal then fails and costs gas
   * only. Returns false when the report would fail or another node's report landed first.
   */
  report<F extends RoundsReport>(functionName: F, args: RoundsWriteArgs<F>): Promise<boolean> {
    return this.enqueue(functionName, () => this.commitAndReveal(functionName, args));
  }

  private async commitAndReveal<F extends RoundsReport>(
    functionName: F,
    args: RoundsWriteArgs<F>,
  ): Promise<boolean> {
    if (!(await this.wouldSucceed(functionName, args))) return false;
    // `args` is typed from the ABI for `functionName` by RoundsWriteArgs; the generic call cannot see that.
    const report = encodeFunctionData({
      abi: trainingRoundsAbi as Abi,
      functionName: functionName as string,
      args: args as readonly unknown[],
    });
    const salt = bytesToHex(randomBytes(32));
    const commitHash = keccak256(
      encodeAbiParameters(
        [{ type: "address" }, { type: "bytes32" }, { type: "bytes32" }],
        [this.init.wallet.account.address, salt, keccak256(report)],
      ),
    );
    // A copier that front-runs this very commitment (same hash) only commits it for us: it still names this
    // node, so go on to the reveal whenever the commitment is on chain, whoever sent it.
    await this.send("commitReport", [commitHash]).catch(async (error: unknown) => {
      if ((await this.reportCommitBlock(commitHash)) === 0n) throw error;
    });
    return this.reveal(salt, report);
  }

  /**
   * Sends `revealReport`, simulated and gas-estimated against the pending block: a call at "latest" runs in the
   * commitment's own block (block.number = the commit block), where the reveal is refused by design (at least
   * one block later); the transaction itself is mined in a later block.
   */
  private async reveal(salt: Hex, report: Hex): Promise<boolean> {
    const { publicClient, wallet, contracts } = this.init;
    const call = {
      account: wallet.account,
      address: contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "revealReport",
      args: [salt, report],
    } as const;
    await this.transact("revealReport", async () => {
      const { request } = await publicClient.simulateContract({ ...call, blockTag: "pending" });
      const gas = await publicClient.estimateContractGas({ ...call, blockTag: "pending" });
      return wallet.writeContract({ ...request, gas });
    });
    return true;
  }

  private reportCommitBlock(commitHash: Hex): Promise<bigint> {
    return this.init.publicClient.readContract({
      address: this.init.contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "reportCommitBlock",
      args: [commitHash],
    });
  }

  /**
   * Challenges `chunk` of a round's aggregate with the round's bond (`challengeBondOf`: at least emission / 8): approves it when the allowance
   * is short, then simulates and sends (false when the chunk is challenged already or the window closed).
   */
  challenge(roundId: bigint, chunk: number): Promise<boolean> {
    return this.enqueue("challenge", async () => {
      if (!(await this.challengeOpen(roundId, chunk))) return false;
      const { publicClient, wallet, contracts } = this.init;
      const [bond, token] = await Promise.all([
        publicClient.readContract({
          address: contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "challengeBondOf",
          args: [roundId],
        }),
        publicClient.readContract({
          address: contracts.rounds,
          abi: trainingRoundsAbi,
          functionName: "token",
        }),
      ]);
      if (bond > 0n)
        await ensureAllowance(
          { publicClient, walletClient: wallet, contracts: { ...contracts, token } },
          { spender: contracts.rounds, amountWei: bond },
        );
      return this.commitAndReveal("challenge", [roundId, BigInt(chunk)]);
    });
  }

  /** Whether `chunk` of a proven round can still be challenged (nobody did, the window is open). */
  private async challengeOpen(roundId: bigint, chunk: number): Promise<boolean> {
    const { publicClient, contracts } = this.init;
    const [round, existing, block] = await Promise.all([
      this.readRound(roundId),
      publicClient.readContract({
        address: contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getChallenge",
        args: [roundId, BigInt(chunk)],
      }),
      publicClient.getBlock(),
    ]);
    return existing.status === ChallengeStatus.None && block.timestamp <= round.challengeDeadline;
  }

  /** Runs one transaction of this node after the ones queued before it (one nonce sequence); false on failure. */
  private enqueue(functionName: string, run: () => Promise<boolean>): Promise<boolean> {
    return this.enqueueOutcome(functionName, run).then((outcome) => outcome.sent);
  }

  /**
   * The slowest of this wallet's recent transactions, from queued to mined (ms; 0 before any): the wait behind
   * its other transactions, the send and the receipt. An aggregator's post margin counts it (post-margin.ts).
   */
  get slowTxMs(): number {
    return Math.max(0, ...this.txQueue.sentMs);
  }

  private enqueueOutcome(functionName: string, run: () => Promise<boolean>): Promise<SendOutcome> {
    const queued = performance.now();
    const times = this.txQueue.sentMs;
    const guarded = async (): Promise<SendOutcome> => {
      try {
        if (!(await run())) return { sent: false, reason: "the call would revert now" };
        times.push(performance.now() - queued);
        if (times.length > TX_TIMES_KEPT) times.shift();
        return { sent: true };
      } catch (error) {
        this.init.log.debug({ err: error, functionName }, "chain call skipped");
        return { sent: false, reason: error instanceof Error ? error.message : String(error) };
      }
    };
    const next = this.txQueue.tail.then(guarded, guarded);
    this.txQueue.tail = next.catch(() => undefined);
    return next;
  }

  /** Checks (eth_estimateGas), sends and waits for one write; throws what the estimate or the chain says. */
  private async send<F extends RoundsWrite>(
    functionName: F,
    args: RoundsWriteArgs<F>,
    retryBudgetMs?: number,
  ): Promise<boolean> {
    const { publicClient, wallet, contracts } = this.init;
    const call = {
      account: wallet.account,
      address: contracts.rounds,
      abi: trainingRoundsAbi,
      functionName,
      args,
    } as Parameters<typeof publicClient.simulateContract>[0];
    await this.transact(
      functionName,
      async () => {
        // One round trip checks and prices the call: eth_estimateGas reverts with the contract's error as the
        // eth_call of a simulation does (viem decodes it with the ABI either way), so no simulation before it.
        // With a margin: other nodes' transactions mined first can make this one dearer (GAS_MARGIN_PERCENT).
        const gas = withGasMargin(
          await publicClient.estimateContractGas(
            call as Parameters<typeof publicClient.estimateContractGas>[0],
          ),
        );
        return wallet.writeContract({ ...call, gas } as Parameters<typeof wallet.writeContract>[0]);
      },
      retryBudgetMs,
    );
    return true;
  }

  /**
   * Sends one transaction (`submit` simulates, signs and sends it) and waits for its receipt, riding out an RPC
   * outage (transport-retry.ts): until a hash exists every attempt simulates again, so a call whose phase passed
   * during the outage ends with the contract's revert; once the hash exists the node only waits for that
   * transaction's receipt and never sends a second one, which would take the next nonce for a duplicate.
   */
  private async transact(
    action: string,
    submit: () => Promise<Hex>,
    budgetMs?: number,
  ): Promise<TransactionReceipt> {
    const retry = {
      ...(budgetMs === undefined ? {} : { budgetMs }),
      rpcUrl: this.rpcUrl,
      signal: this.init.signal?.(),
      onRetry: (attempt: number) =>
        this.init.log.debug({ action, attempt }, "chain unreachable; retrying the transaction"),
    };
    try {
      const hash = await withTransportRetry(submit, retry);
      const receipt = await withTransportRetry(
        () =>
          this.init.publicClient.waitForTransactionReceipt({
            hash,
            ...(this.init.receiptTimeoutMs === undefined ? {} : { timeout: this.init.receiptTimeoutMs }),
          }),
        retry,
      );
      if (receipt.status !== "success") throw new TransactionFailedError(action, hash);
      return receipt;
    } catch (error) {
      throw toChainError(action, error, this.rpcUrl);
    }
  }

  /** The endpoint this node's client uses (named in a ChainUnreachableError). */
  private get rpcUrl(): string {
    return (this.init.publicClient.transport as { url?: string }).url ?? "the configured RPC endpoint";
  }

  /** Whether a TrainingRounds call would succeed now (an eth_call as this node's account; no transaction). */
  async wouldSucceed<F extends RoundsWrite>(functionName: F, args: RoundsWriteArgs<F>): Promise<boolean> {
    const { publicClient, wallet, contracts } = this.init;
    try {
      await publicClient.simulateContract({
        account: wallet.account,
        address: contracts.rounds,
        abi: trainingRoundsAbi,
        functionName,
        args,
      } as Parameters<typeof publicClient.simulateContract>[0]);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves once every transaction queued so far has settled. */
  async settled(): Promise<void> {
    await this.txQueue.tail.catch(() => undefined);
  }
}
