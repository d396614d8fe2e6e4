/**
 * A proven round above the flat fan-in, proven by chained proofs through TrainingRounds (#18 "every round of a
 * proven task is proven, at any size", #21): 9 trainers in 3 links of K = 4, real Groth16 link proofs (the
 * committed circuits/artifacts/link key), the real AggregationVerifier with its LinkAggregationVerifier, on a
 * Hardhat chain. Each attack as the aggregator would try it:
 * - it refuses to post a link root: it cannot post its aggregate at all (no "unproven when large" escape);
 * - it lies in one link of 3 (one trainer's update swapped): its answer for that cell carries a statement a
 *   watcher's trainer opening disputes, and it is slashed;
 * - it answers a challenged cell with another cell's proof: refused, and it is slashed.
 * An honest round answers its sampled and bonded cells and finalizes; prints the answer transaction's gas.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { erc20Abi, parseEther, parseEventLogs } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  ChallengeStatus,
  RoundState,
  stakeRegistryAbi,
  trainingRoundsAbi,
} from "../../node/chain/contracts.ts";
import { openRound as openRoundAction } from "../../node/chain/actions/index.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { drawSamplesWhenDue } from "../../node/chain/draws.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { Rng } from "../../node/core/rng.ts";
import { commitEncoded } from "../../node/proofs/commitment.ts";
import type { UpdateCommitment } from "../../node/proofs/commitment.ts";
import { groth16VerifierChoice } from "../../node/proofs/deploy.ts";
import { aggregateFixedPoint, encodeFixedPoint } from "../../node/proofs/fixed-point.ts";
import {
  LINK_SHAPE,
  buildLinkTree,
  buildRoundChains,
  encodeLinkProofCalldata,
  proveLink,
} from "../../node/proofs/link-proof.ts";
import type { LinkTree } from "../../node/proofs/link-proof.ts";
import type { ChainLink } from "../../node/proofs/chain-witness.ts";
import { encodeTrainerOpening } from "../../node/proofs/prover.ts";
import { commitAndSelect, fundStakeAndOpenRound } from "../../scripts/support/round-fixture.ts";
import type { RoundFixtureChain } from "../../scripts/support/round-fixture.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const wallets = (await viem.getWalletClients()) as unknown as Wallet[];
const TRAINERS = 9;
const NUM_CHUNKS = 2;
const LINKS = 3;
const deployer = wallets[0]!;
const aggregatorWallet = wallets[1]!;
const watcher = wallets[2]!;
const trainers = wallets.slice(3, 3 + TRAINERS);
/** The bound on the answer transaction (#18). */
const ANSWER_GAS_BUDGET = 300_000n;

async function send(hash: Promise<Hex>): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).to.equal("success");
  return receipt.gasUsed;
}

describe("chained proofs through TrainingRounds: a 9-trainer proven round (real K = 4 link proofs)", function () {
  this.timeout(600_000);
  let rounds: Address;
  /** The deployed protocol, for the shared round fixture. */
  let fixtureChain: RoundFixtureChain;
  let registry: Address;
  const rng = new Rng(18);
  const updates = trainers.map(() =>
    encodeFixedPoint(mapFloat32({ length: NUM_CHUNKS * LINK_SHAPE.chunkSize }, () => rng.normal() * 0.05)),
  );
  // Trainer 6 was rejected by robust aggregation (weight 0): its slot proves the padding chunk.
  const weights = updates.map((_, i) => (i === 6 ? 0 : 10 + 7 * i));
  let commitments: UpdateCommitment[];

  before(async () => {
    const deployment = await deployProtocol({
      publicClient,
      walletClient: deployer,
      verifier: await groth16VerifierChoice({ chained: true }),
    });
    rounds = deployment.contracts.TrainingRounds.address as Address;
    registry = deployment.contracts.StakeRegistry.address as Address;
    fixtureChain = { publicClient, treasury: deployer, contracts: protocolAddresses(deployment) };
    await fundStakeAndOpenRound(fixtureChain, {
      operators: [aggregatorWallet, watcher, ...trainers],
      tokensWei: parseEther("1000"),
      stakeWei: parseEther("500"),
      aggregators: [aggregatorWallet],
      task: {
        modelRef: ("0x" + "11".repeat(32)) as Hex,
        parameters: NUM_CHUNKS * LINK_SHAPE.chunkSize,
        rewardPerRoundWei: parseEther("100"),
        commitWindowS: 60n,
        aggregateWindowS: 60n,
        challengeWindowS: 600n,
        answerWindowS: 600n,
        roundIntervalS: 0n,
      },
      fundWei: parseEther("1000"),
      open: false,
    });
    commitments = await Promise.all(updates.map((u) => commitEncoded(u)));
  });

  function drawDriver() {
    return { publicClient, walletClient: watcher, rounds, mine: () => networkHelpers.mine() };
  }

  async function openRound(): Promise<bigint> {
    const { roundId } = await openRoundAction(
      { publicClient, walletClient: deployer, contracts: fixtureChain.contracts },
      { taskId: 1n },
    );
    await commitAndSelect(fixtureChain, {
      roundId,
      commits: trainers.map((trainer, i) => ({ trainer, root: commitments[i]!.root, samples: 100n })),
      advanceTime: (seconds) => networkHelpers.time.increase(seconds),
      secondsPastCommit: 61,
      draws: drawDriver(),
    });
    return roundId;
  }

  interface Posted {
    readonly roundId: bigint;
    readonly chains: ChainLink[][];
    readonly tree: LinkTree;
    readonly aggregate: UpdateCommitment;
  }

  /** What an aggregator that averaged `used` posts: the link root, then the aggregate and the weights. */
  async function post(roundId: bigint, used: readonly Uint16Array[]): Promise<Posted> {
    const chains = await buildRoundChains(roundId, NUM_CHUNKS, used, weights);
    const tree = buildLinkTree(chains.map((chain) => chain.map((link) => link.statement)));
    const aggregate = await commitEncoded(aggregateFixedPoint(used, weights).aggregate);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postLinkRoot",
        args: [roundId, tree.root],
      }),
    );
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postAggregate",
        args: [roundId, aggregate.root, aggregate.root, weights.map(BigInt)],
      }),
    );
    await drawSamplesWhenDue(drawDriver(), roundId);
    return { roundId, chains, tree, aggregate };
  }

  async function challengeCell(roundId: bigint, cell: number): Promise<void> {
    const status = await challengeStatus(roundId, cell);
    if (status !== ChallengeStatus.None) return; // sampled already
    const bond = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "challengeBondOf",
      args: [roundId],
    });
    const token = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "token",
    });
    await send(
      watcher.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [rounds, bond] }),
    );
    await send(
      watcher.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "challenge",
        args: [roundId, BigInt(cell)],
      }),
    );
  }

  async function challengeStatus(roundId: bigint, cell: number): Promise<number> {
    const ch = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getChallenge",
      args: [roundId, BigInt(cell)],
    });
    return ch.status;
  }

  async function pendingCells(roundId: bigint): Promise<number[]> {
    const cells: number[] = [];
    for (let cell = 0; cell < NUM_CHUNKS * LINKS; cell++) {
      if ((await challengeStatus(roundId, cell)) === ChallengeStatus.Pending) cells.push(cell);
    }
    return cells;
  }

  /** The answer bytes for `cell` from the posted chain (its proof of that link, openings in its tree). */
  async function answerFor(posted: Posted, cell: number): Promise<Hex> {
    const chunk = Math.floor(cell / LINKS);
    const proof = await proveLink(posted.chains[chunk]![cell % LINKS]!);
    return encodeLinkProofCalldata(proof, {
      tree: posted.tree,
      aggregateCommitment: posted.aggregate,
      chunkIndex: chunk,
    });
  }

  async function answer(roundId: bigint, cell: number, calldata: Hex) {
    const hash = await aggregatorWallet.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "answerChallenge",
      args: [roundId, BigInt(cell), calldata],
    });
    return publicClient.waitForTransactionReceipt({ hash });
  }

  async function roundState(roundId: bigint): Promise<number> {
    const round = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
    return round.state;
  }

  async function slashable(account: Address): Promise<bigint> {
    return publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "slashableStake",
      args: [account],
    });
  }

  it("refuses the aggregate of a 9-trainer proven round without a link root", async () => {
    const roundId = await openRound();
    const aggregate = await commitEncoded(aggregateFixedPoint(updates, weights).aggregate);
    let reverted = "";
    try {
      await publicClient.simulateContract({
        account: aggregatorWallet.account,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postAggregate",
        args: [roundId, aggregate.root, aggregate.root, weights.map(BigInt)],
      });
    } catch (error) {
      reverted = String(error);
    }
    expect(reverted).to.contain("LinkRootMissing");
    // Leave the round posted honestly so the next tests open their own.
    const posted = await post(roundId, updates);
    for (const cell of await pendingCells(roundId)) {
      const receipt = await answer(roundId, cell, await answerFor(posted, cell));
      expect(receipt.status).to.equal("success");
      expect(receipt.gasUsed <= ANSWER_GAS_BUDGET).to.equal(true); // every honest answer, sampled or bonded
    }
    await networkHelpers.time.increase(2_000);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "finalizeRound",
        args: [roundId],
      }),
    );
  });

  it("an honest chained round answers its sampled and bonded cells with link proofs and finalizes", async () => {
    const roundId = await openRound();
    const posted = await post(roundId, updates);
    await challengeCell(roundId, 1 * LINKS + 2); // chunk 1, the last link: the most openings
    const cells = await pendingCells(roundId);
    expect(cells).to.include(1 * LINKS + 2);
    for (const cell of cells) {
      const receipt = await answer(roundId, cell, await answerFor(posted, cell));
      expect(receipt.status).to.equal("success");
      console.log(
        `      answerChallenge gas, cell ${cell} (link ${cell % LINKS} of ${LINKS}): ${receipt.gasUsed}`,
      );
      expect(receipt.gasUsed <= ANSWER_GAS_BUDGET).to.equal(true);
    }
    await networkHelpers.time.increase(2_000);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "finalizeRound",
        args: [roundId],
      }),
    );
    expect(await roundState(roundId)).to.equal(RoundState.Finalized);
  });

  it("an aggregator lying in one link of 3 is disputed through that link's trainers and slashed", async () => {
    const roundId = await openRound();
    // Trainer 5 (link 1, slot 1) swapped for trainer 0's update: links 0 and 2 are honest, link 1 lies.
    const forged = updates.map((u, i) => (i === 5 ? updates[0]! : u));
    const posted = await post(roundId, forged);
    const cell = 1 * LINKS + 1;
    await challengeCell(roundId, cell);
    const receipt = await answer(roundId, cell, await answerFor(posted, cell));
    expect(receipt.status).to.equal("success"); // the proof is sound: the lie is which update it averaged
    const [answered] = parseEventLogs({
      abi: trainingRoundsAbi,
      logs: receipt.logs,
      eventName: "ChallengeAnswered",
    });
    const before = await slashable(aggregatorWallet.account.address);
    await send(
      watcher.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "disputeStatement",
        args: [roundId, BigInt(cell), answered!.args.statement, encodeTrainerOpening(1, commitments[5]!, 1)],
      }),
    );
    expect((await slashable(aggregatorWallet.account.address)) < before).to.equal(true);
    expect(await roundState(roundId)).to.equal(RoundState.Failed);
  });

  it("an answer with another cell's proof is refused and slashes the aggregator", async () => {
    const roundId = await openRound();
    const posted = await post(roundId, updates);
    const cell = 0 * LINKS + 2;
    await challengeCell(roundId, cell);
    const before = await slashable(aggregatorWallet.account.address);
    const receipt = await answer(roundId, cell, await answerFor(posted, 0 * LINKS + 1)); // link 1's for link 2
    // Not an honest answer: it pays for the slash too (the gas table's max for answerChallenge).
    console.log(`      answerChallenge gas, a refused answer that slashes: ${receipt.gasUsed}`);
    const failed = parseEventLogs({
      abi: trainingRoundsAbi,
      logs: receipt.logs,
      eventName: "ChallengeFailed",
    });
    expect(failed.length).to.equal(1);
    expect((await slashable(aggregatorWallet.account.address)) < before).to.equal(true);
    expect(await roundState(roundId)).to.equal(RoundState.Failed);
  });
});
