/**
 * A two-level round proven at every level with real Groth16 proofs on a Hardhat chain (docs/protocol.md §7,
 * issue #21): two group tasks linked to a parent task; in each group round three trainers commit real
 * updates and the group's leader (its round's aggregator) posts their weighted mean and proves the sampled
 * chunk. The honest group's round finalizes and its leader commits the group aggregate into the parent round
 * (`commitPartial`); the other leader posts a biased partial, cannot prove it, is slashed, and its partial is
 * refused by the parent. The parent's aggregator then proves its aggregate over the partials with the same
 * circuit: the mean of the group means, bit for bit what the TypeScript aggregator computes. The honest
 * leader's partial is committed by the node's own leader (node/protocol/round/partial-commit.ts): it waits
 * while its group round is challengeable, keeps it pending across a restart (its round store) and commits once
 * after it finalizes; the lying leader's node and a trainer's node send nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import pino from "pino";
import { network } from "hardhat";
import { keccak256 } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  ChallengeStatus,
  RoundState,
  stakeRegistryAbi,
  trainingRoundsAbi,
} from "../../node/chain/contracts.ts";
import {
  commitPartial,
  createTask,
  fundTask,
  linkTask,
  openRound,
  setAggregatorOptIn,
} from "../../node/chain/actions/index.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { drawSamplesWhenDue, lockAndSelect } from "../../node/chain/draws.ts";
import {
  aggregateFixedPoint,
  chunkCount,
  commitEncoded,
  encodeChunkProofCalldata,
  encodeFixedPoint,
  proveChunk,
} from "../../node/proofs/index.ts";
import { Rng } from "../../node/core/rng.ts";
import { groth16VerifierChoice } from "../../node/proofs/deploy.ts";
import { groupIndexOf } from "../../node/protocol/group-tasks.ts";
import { PartialLeader } from "../../node/protocol/round/partial-commit.ts";
import { partialUpdateBytes } from "../../node/protocol/round/partial-update.ts";
import { commitUpdateBytes } from "../../node/protocol/update.ts";
import { RoundsGateway } from "../../node/protocol/round/rounds-gateway.ts";
import { RoundStore } from "../../node/protocol/round-store.ts";
import { fundStakeAndOpenRound } from "../../scripts/support/round-fixture.ts";
import type { RoundFixtureChain } from "../../scripts/support/round-fixture.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";
import { drawSeedThat } from "../contracts/support/draw-seed.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const wallets = (await viem.getWalletClients()) as unknown as Wallet[];
const [deployer, honestLeader, lyingLeader, otherLeader, t1, t2, t3, watcher] = wallets as [
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
];
const trainers = [t1, t2, t3];
/** Each group's trainers (docs §7: a group round takes only the members the epoch's seed draws into it). */
const trainerSets = [trainers, wallets.slice(8, 11), wallets.slice(11, 14)];
const leaders = [honestLeader, lyingLeader, otherLeader];
const PARAMETERS = 200;
const NUM_CHUNKS = chunkCount(PARAMETERS);
/** Every trainer's committed sample count: at least any weight its leader posts. */
const SAMPLES = 300n;

describe("a two-level round proven at every level (group tasks and partials)", function () {
  this.timeout(600_000);
  let chain: RoundFixtureChain;
  let rounds: Address;
  let registry: Address;
  const rng = new Rng(42);
  const updates = trainers.map(() =>
    encodeFixedPoint(mapFloat32({ length: PARAMETERS }, () => rng.normal() * 0.05)),
  );

  /** Gas of the last group round's commits, by commit index (a partial's commit is compared with them). */
  const commitGas: bigint[] = [];
  const client = (wallet: Wallet) => ({ publicClient, walletClient: wallet, contracts: chain.contracts });
  const draws = () => ({ publicClient, walletClient: watcher, rounds, mine: () => networkHelpers.mine() });

  async function write(wallet: Wallet, functionName: string, args: readonly unknown[]): Promise<bigint> {
    const hash = await wallet.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: functionName as "commitUpdate",
      args: args as [bigint, Hex, bigint],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status, functionName).to.equal("success");
    return receipt.gasUsed;
  }

  async function revertName(wallet: Wallet, functionName: string, args: readonly unknown[]): Promise<string> {
    try {
      await publicClient.simulateContract({
        account: wallet.account,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: functionName as "commitUpdate",
        args: args as [bigint, Hex, bigint],
      });
    } catch (error) {
      const text = String(error);
      const match = /reverted with the following reason:\s*\n?\s*(\w+)|Error: (\w+)\(/.exec(text);
      return match?.[1] ?? match?.[2] ?? text;
    }
    return "no revert";
  }

  const getRound = (roundId: bigint) =>
    publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });

  const slashable = (account: Address) =>
    publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "slashableStake",
      args: [account],
    });

  /** Makes `leader` the only aggregator candidate of `taskId` (stake-weighted among its candidates). */
  async function onlyCandidate(taskId: bigint, leader: Wallet): Promise<void> {
    for (const w of leaders) await setAggregatorOptIn(client(w), { taskId, optIn: w === leader });
  }

  /** The first sampled (pending) chunk of a posted round, once its samples are drawn. */
  async function sampledChunk(roundId: bigint): Promise<bigint> {
    await drawSamplesWhenDue(draws(), roundId);
    for (let i = 0n; i < BigInt(NUM_CHUNKS); i++) {
      const ch = await publicClient.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "getChallenge",
        args: [roundId, i],
      });
      if (ch.status === ChallengeStatus.Pending) return i;
    }
    throw new Error("no sampled chunk");
  }

  /**
   * Runs a round of `taskId` led by `leader` over `inputs` (committed by `committers`) with `weights`: the
   * leader posts their weighted mean (biased by `bias` units when it lies) and answers the sampled chunk with
   * a real proof of the honest mean. Returns the round and the posted aggregate.
   */
  async function provenRound(
    taskId: bigint,
    leader: Wallet,
    committers: readonly Wallet[],
    inputs: readonly Uint16Array[],
    weights: readonly number[],
    bias = 0,
  ): Promise<{ roundId: bigint; aggregate: Uint16Array }> {
    await onlyCandidate(taskId, leader);
    const { roundId } = await openRound(client(deployer), { taskId });
    return proveOpenRound(roundId, leader, committers, inputs, weights, bias, true);
  }

  async function proveOpenRound(
    roundId: bigint,
    leader: Wallet,
    committers: readonly Wallet[],
    inputs: readonly Uint16Array[],
    weights: readonly number[],
    bias: number,
    commit: boolean,
  ): Promise<{ roundId: bigint; aggregate: Uint16Array }> {
    if (commit) {
      for (const [i, trainer] of committers.entries())
        commitGas[i] = await write(trainer, "commitUpdate", [
          roundId,
          (await commitEncoded(inputs[i]!)).root,
          SAMPLES,
        ]);
    }
    const round = await getRound(roundId);
    await networkHelpers.time.increaseTo(round.commitDeadline + 1n);
    await lockAndSelect(draws(), roundId);
    expect((await getRound(roundId)).aggregator.toLowerCase()).to.equal(leader.account.address.toLowerCase());
    const honest = aggregateFixedPoint(inputs, [...weights]).aggregate;
    const posted = honest.map((v) => Math.min(65_535, Math.max(0, v + bias)));
    const postedCommitment = await commitEncoded(posted);
    await write(leader, "postAggregate", [
      roundId,
      postedCommitment.root,
      keccak256(postedCommitment.root),
      weights.map(BigInt),
    ]);
    const chunk = await sampledChunk(roundId);
    const proof = await proveChunk(roundId, Number(chunk), inputs, [...weights]);
    await write(leader, "answerChallenge", [
      roundId,
      chunk,
      encodeChunkProofCalldata(proof, postedCommitment),
    ]);
    return { roundId, aggregate: posted };
  }

  async function finalize(roundId: bigint): Promise<void> {
    const round = await getRound(roundId);
    const last =
      round.challengeDeadline > round.disputeDeadline ? round.challengeDeadline : round.disputeDeadline;
    await networkHelpers.time.increaseTo(last + 1n);
    await write(watcher, "finalizeRound", [roundId]);
    expect((await getRound(roundId)).state).to.equal(RoundState.Finalized);
  }

  /** A node's partial leader for `wallet` in `groupTaskId` under `parentTaskId`, on this chain (partial-commit.ts). */
  function partialLeader(
    wallet: Wallet,
    groupTaskId: bigint,
    parentTaskId: bigint,
    store?: RoundStore,
  ): PartialLeader {
    const log = pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" });
    const chainGateway = new RoundsGateway({
      publicClient,
      wallet,
      contracts: { rounds, registry },
      taskId: groupTaskId,
      log,
    });
    return new PartialLeader({ chain: chainGateway, me: wallet.account.address, parentTaskId, log, store });
  }

  /** Runs one leader pass at the chain's head. */
  async function leaderTick(leader: PartialLeader): Promise<void> {
    const block = await publicClient.getBlock();
    await leader.tick(block.number, block.timestamp);
  }

  before(async () => {
    const deployment = await deployProtocol({
      publicClient,
      walletClient: deployer,
      verifier: await groth16VerifierChoice(),
    });
    expect(deployment.verifierKind).to.equal("groth16");
    rounds = deployment.contracts.TrainingRounds.address as Address;
    registry = deployment.contracts.StakeRegistry.address as Address;
    chain = { publicClient, treasury: deployer, contracts: protocolAddresses(deployment) };
  });

  it("the honest partial is proven in the parent; the lying leader is slashed and its partial refused", async () => {
    const task = {
      modelRef: ("0x" + "11".repeat(32)) as Hex,
      parameters: PARAMETERS,
      rewardPerRoundWei: 100n * 10n ** 18n,
      commitWindowS: 60n,
      aggregateWindowS: 60n,
      challengeWindowS: 120n,
      answerWindowS: 600n,
      roundIntervalS: 0n,
    };
    // The parent task (1): its commit window holds its groups' whole rounds.
    const { taskId: parentTask } = await fundStakeAndOpenRound(chain, {
      operators: [...leaders, ...trainerSets.flat(), watcher],
      tokensWei: 1_000n * 10n ** 18n,
      stakeWei: 500n * 10n ** 18n,
      task: { ...task, commitWindowS: 20_000n },
      fundWei: 1_000n * 10n ** 18n,
      open: false,
    });
    const groups: bigint[] = [];
    for (let g = 0; g < 3; g++) {
      const { taskId } = await createTask(client(deployer), task);
      await fundTask(client(deployer), { taskId, amountWei: 1_000n * 10n ** 18n });
      await linkTask(client(deployer), { childTaskId: taskId, parentTaskId: parentTask });
      groups.push(taskId);
    }
    const { roundId: parentRound } = await openRound(client(deployer), { taskId: parentTask });
    // The group epoch's seed, drawn as the chain draws it, with its seed block's prevrandao chosen (as
    // vm.prevrandao in Solidity tests) so that trainer set g falls in group g.
    const inGroups = (seed: Hex) =>
      trainerSets.every((set, g) =>
        set.every((w) => groupIndexOf(w.account.address, parentTask, groups.length, seed) === g),
      );
    // 9 operators in 3 groups: 1 seed in 19,683 fits; 2^20 values searched miss on no day (e^-53).
    expect(inGroups((await drawSeedThat(client(deployer), inGroups, 2 ** 20)).seed)).to.equal(true);

    const weights = [100, 101, 102];
    const groupA = await provenRound(groups[0]!, honestLeader, trainers, updates, weights);
    // The node's leader (partial-commit.ts): nothing before its group round finalizes, then the partial, once.
    const storeDir = await mkdtemp(join(tmpdir(), "vain-partial-leader-"));
    const beforeRestart = partialLeader(honestLeader, groups[0]!, parentTask, new RoundStore(storeDir));
    beforeRestart.led(groupA.roundId);
    await leaderTick(beforeRestart);
    expect(beforeRestart.waiting, "waits while the group round is challengeable").to.deep.equal([
      groupA.roundId,
    ]);
    // The leader's node restarts: its pending partial comes back from its round store.
    await beforeRestart.saved();
    const honestNode = partialLeader(honestLeader, groups[0]!, parentTask, new RoundStore(storeDir));
    await leaderTick(honestNode);
    expect(honestNode.waiting, "restored after a restart").to.deep.equal([groupA.roundId]);
    expect((await getRound(parentRound)).trainers).to.deep.equal([]);
    // A trainer of the group (not its aggregator) has no partial to commit.
    const trainerNode = partialLeader(t1, groups[0]!, parentTask);
    trainerNode.led(groupA.roundId);
    await finalize(groupA.roundId);
    await leaderTick(trainerNode);
    expect(trainerNode.waiting).to.deep.equal([]);
    // The lying leader's group: a biased partial it cannot prove. Slashed; its round fails.
    const before = await slashable(lyingLeader.account.address);
    const groupB = await provenRound(groups[1]!, lyingLeader, trainerSets[1]!, updates, weights, 40);
    expect(await slashable(lyingLeader.account.address)).to.equal(before / 2n);
    expect((await getRound(groupB.roundId)).state).to.equal(RoundState.Failed);
    expect(await revertName(lyingLeader, "commitPartial", [parentRound, groupB.roundId])).to.equal(
      "WrongState",
    );
    // The lying leader's node gives its failed round up without a transaction.
    const lyingNode = partialLeader(lyingLeader, groups[1]!, parentTask);
    lyingNode.led(groupB.roundId);
    const lyingNonce = await publicClient.getTransactionCount({ address: lyingLeader.account.address });
    await leaderTick(lyingNode);
    expect(lyingNode.waiting).to.deep.equal([]);
    expect(await publicClient.getTransactionCount({ address: lyingLeader.account.address })).to.equal(
      lyingNonce,
    );
    // A third group with other weights.
    const weightsC = [50, 0, 200];
    const groupC = await provenRound(groups[2]!, otherLeader, trainerSets[2]!, updates, weightsC);
    await finalize(groupC.roundId);

    // Trainers cannot commit into the parent; leaders commit their finalized group's partial.
    expect(await revertName(t1, "commitUpdate", [parentRound, ("0x" + "01".repeat(32)) as Hex, 1n])).to.equal(
      "PartialsOnly",
    );
    // The honest node's leader commits its partial (groupA finalized above) on its next pass, and only once.
    await leaderTick(honestNode);
    await leaderTick(honestNode);
    expect(honestNode.waiting).to.deep.equal([]);
    await rm(storeDir, { recursive: true, force: true });
    const [committedA] = await publicClient.getContractEvents({
      address: rounds,
      abi: trainingRoundsAbi,
      eventName: "PartialCommitted",
      args: { roundId: parentRound },
      fromBlock: 0n,
    });
    expect([
      committedA!.args.groupRoundId,
      committedA!.args.groupWeight,
      committedA!.args.shift,
    ]).to.deep.equal([groupA.roundId, 303n, 0]);
    const gas: bigint[] = [
      (await publicClient.getTransactionReceipt({ hash: committedA!.transactionHash })).gasUsed,
    ];
    const done = await commitPartial(client(otherLeader), {
      roundId: parentRound,
      groupRoundId: groupC.roundId,
    });
    expect([done.groupWeight, done.shift]).to.deep.equal([250n, 0]);
    gas.push((await publicClient.getTransactionReceipt({ hash: done.transactionHash })).gasUsed);
    // A trainer's commit at the same index plus the group's weight sum, the once-only mark and the group count that
    // closes the parent's commit phase once every group is in (two storage words, ~44k gas for the first group
    // of a round, ~27k after): flat in N.
    console.log(
      `      commitPartial gas ${gas.join(", ")}; commitUpdate at the same index ${commitGas.slice(0, 2).join(", ")}`,
    );
    for (const [i, g] of gas.entries())
      expect(g - commitGas[i]! < 100_000n, `commitPartial gas ${g}`).to.equal(true);
    const parent = await getRound(parentRound);
    expect(parent.trainers.map((t) => t.toLowerCase())).to.deep.equal(
      [honestLeader, otherLeader].map((w) => w.account.address.toLowerCase()),
    );
    expect(parent.commitments).to.deep.equal([
      (await getRound(groupA.roundId)).aggregateCommitment,
      (await getRound(groupC.roundId)).aggregateCommitment,
    ]);
    expect(parent.sampleCounts).to.deep.equal([303n, 250n]);
    // What each leader delivers to the parent's aggregator (partial-update.ts) checks, as any trainer's update
    // does, against the commitment the parent round recorded for it.
    for (const [i, group] of [groupA, groupC].entries()) {
      const checked = await commitUpdateBytes(partialUpdateBytes(group.aggregate), PARAMETERS);
      expect(checked.commitment.root).to.equal(parent.commitments[i]);
    }

    // The parent round: its aggregator proves the weighted mean of the partials with the same circuit.
    await onlyCandidate(parentTask, honestLeader);
    const top = await proveOpenRound(
      parentRound,
      honestLeader,
      [],
      [groupA.aggregate, groupC.aggregate],
      [303, 250],
      0,
      false,
    );
    await finalize(top.roundId);
    const parentTaskNow = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [parentTask],
    });
    expect(parentTaskNow.modelRef).to.equal(
      (await getRound(parentRound)).modelRef,
      "the parent's model advanced",
    );
  });
});
