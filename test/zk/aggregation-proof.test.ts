/**
 * Real Groth16 proofs of aggregate chunks, verified on a Hardhat chain through TrainingRounds:
 * a correct answer is accepted; a proof for another chunk, another round (replay) or other weights is
 * rejected; an aggregator that posted a wrong aggregate cannot answer and is slashed. The on-chain
 * Poseidon that computes the one public input equals circomlibjs (and so the circuit).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { concatHex, keccak256, parseEther, parseEventLogs } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  ChallengeStatus,
  aggregationVerifierAbi,
  RoundState,
  stakeRegistryAbi,
  trainingRoundsAbi,
} from "../../node/chain/contracts.ts";
import { openRound as openRoundAction } from "../../node/chain/actions/index.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { commitAndSelect, fundStakeAndOpenRound } from "../../scripts/support/round-fixture.ts";
import type { RoundFixtureChain } from "../../scripts/support/round-fixture.ts";
import { drawSamplesWhenDue } from "../../node/chain/draws.ts";
import {
  FIELD_ORDER,
  aggregateFixedPoint,
  buildChunkWitness,
  chunkCount,
  chunkValues,
  commitEncoded,
  encodeChunkProofCalldata,
  decodeAnswerStatement,
  encodeTrainerOpening,
  encodeFixedPoint,
  fieldToBytes32,
  getPoseidon,
  proveChunk,
  statementHash,
  statementInputs,
  verifyChunkProof,
} from "../../node/proofs/index.ts";
import type { UpdateCommitment } from "../../node/proofs/index.ts";
import { Rng } from "../../node/core/rng.ts";
import { groth16VerifierChoice } from "../../node/proofs/deploy.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const wallets = (await viem.getWalletClients()) as unknown as Wallet[];
const [deployer, aggregatorWallet, t1, t2, t3, watcher] = wallets as [
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
  Wallet,
];
const trainers = [t1, t2, t3];

async function send(hash: Promise<Hex>): Promise<void> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).to.equal("success");
}

describe("zk proofs of aggregation on chain", function () {
  this.timeout(300_000);
  let rounds: Address;
  /** The deployed protocol, for the shared round fixture. */
  let fixtureChain: RoundFixtureChain;
  let registry: Address;
  const rng = new Rng(21);
  const updates = trainers.map(() =>
    encodeFixedPoint(mapFloat32({ length: 200 }, () => rng.normal() * 0.05)),
  );
  let commitments: UpdateCommitment[];

  before(async () => {
    const deployment = await deployProtocol({
      publicClient,
      walletClient: deployer,
      verifier: await groth16VerifierChoice(),
    });
    expect(deployment.verifierKind).to.equal("groth16");
    rounds = deployment.contracts.TrainingRounds.address as Address;
    registry = deployment.contracts.StakeRegistry.address as Address;
    fixtureChain = { publicClient, treasury: deployer, contracts: protocolAddresses(deployment) };
    await fundStakeAndOpenRound(fixtureChain, {
      operators: [aggregatorWallet, ...trainers, watcher],
      tokensWei: parseEther("1000"),
      stakeWei: parseEther("500"),
      aggregators: [aggregatorWallet],
      task: {
        modelRef: ("0x" + "11".repeat(32)) as Hex,
        parameters: 200,
        rewardPerRoundWei: parseEther("100"),
        commitWindowS: 60n,
        aggregateWindowS: 60n,
        challengeWindowS: 600n,
        answerWindowS: 600n,
        roundIntervalS: 0n,
      },
      fundWei: parseEther("1000"),
      // Each test opens its own round.
      open: false,
    });
    commitments = await Promise.all(updates.map((u) => commitEncoded(u)));
  });

  it("computes the statement hash on chain exactly as circomlibjs (and the circuit) do", async () => {
    const poseidonAddress = await publicClient.readContract({
      address: await publicClient.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "verifier",
      }),
      abi: aggregationVerifierAbi,
      functionName: "poseidon",
    });
    const poseidon = await getPoseidon();
    const field = FIELD_ORDER;
    const cases: bigint[][] = [
      Array.from({ length: 11 }, () => 0n),
      Array.from({ length: 11 }, () => field - 1n),
      Array.from({ length: 11 }, (_, i) => BigInt(i + 1) * 0x1234567890abcdefn ** 3n),
    ];
    for (const inputs of cases) {
      const { data } = await publicClient.call({
        to: poseidonAddress,
        data: concatHex([0n, ...inputs].map(fieldToBytes32)),
      });
      const expected = poseidon.F.toObject(poseidon(inputs)) as bigint;
      expect(BigInt((data ?? "0x").slice(0, 66))).to.equal(expected);
    }
    const statement = {
      roundId: 7n,
      chunkIndex: 3,
      trainerChunkHashes: [11n, 12n],
      aggregateChunkHash: 13n,
      weights: [5, 6],
    };
    const { data } = await publicClient.call({
      to: poseidonAddress,
      data: concatHex([0n, ...(await statementInputs(statement))].map(fieldToBytes32)),
    });
    expect(BigInt((data ?? "0x").slice(0, 66))).to.equal(await statementHash(statement));
  });

  async function openRound(): Promise<bigint> {
    const { roundId } = await openRoundAction(
      { publicClient, walletClient: deployer, contracts: fixtureChain.contracts },
      { taskId: 1n },
    );
    await commitAndSelect(fixtureChain, {
      roundId,
      commits: trainers.map((trainer, i) => ({
        trainer,
        root: commitments[i]!.root,
        samples: 100n + BigInt(i),
      })),
      advanceTime: (seconds) => networkHelpers.time.increase(seconds),
      secondsPastCommit: 61,
      draws: drawDriver(),
    });
    return roundId;
  }

  async function slashableStake(account: Address): Promise<bigint> {
    return publicClient.readContract({
      address: registry,
      abi: stakeRegistryAbi,
      functionName: "slashableStake",
      args: [account],
    });
  }

  /** Locks/selects and draws as the watcher, mining the seed blocks on this in-process chain. */
  function drawDriver() {
    return { publicClient, walletClient: watcher, rounds, mine: () => networkHelpers.mine() };
  }

  /** Draws the posted round's samples (once their seed block is mined) and returns the first pending one. */
  async function pendingChunk(roundId: bigint, numChunks: number): Promise<bigint> {
    await drawSamplesWhenDue(drawDriver(), roundId);
    for (let i = 0n; i < BigInt(numChunks); i++) {
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

  /**
   * Opens a round, posts (as a proven round) an aggregate biased by `bias` fixed-point units instead of the
   * true weighted mean, and returns the chunk the chain sampled.
   */
  async function postBiasedAggregate(weights: number[], bias: number) {
    const roundId = await openRound();
    const { aggregate } = aggregateFixedPoint(updates, weights);
    const cheated = aggregate.map((v) => Math.min(65535, Math.max(0, v + bias)));
    const cheatedCommitment = await commitEncoded(cheated);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postAggregate",
        args: [roundId, cheatedCommitment.root, keccak256(cheatedCommitment.root), weights.map(BigInt)],
      }),
    );
    const chunk = await pendingChunk(roundId, chunkCount(200));
    return { roundId, cheated, cheatedCommitment, chunk };
  }

  it("accepts a correct proof and rejects proofs for another chunk, round or weights", async () => {
    const weights = [100, 0, 102]; // trainer 2 rejected by robust aggregation
    const roundId = await openRound();
    const { aggregate } = aggregateFixedPoint(updates, weights);
    const aggCommitment = await commitEncoded(aggregate);
    const numChunks = chunkCount(200);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postAggregate",
        args: [roundId, aggCommitment.root, ("0x" + "22".repeat(32)) as Hex, weights.map(BigInt)],
      }),
    );
    const chunk = await pendingChunk(roundId, numChunks);

    const proof = await proveChunk(roundId, Number(chunk), updates, weights);
    expect(await verifyChunkProof(proof.proof, proof.statement)).to.equal(true);
    // The circuit's aggregate chunk is the TypeScript aggregator's, bit for bit.
    expect(Array.from(proof.aggregateChunk)).to.deep.equal(Array.from(chunkValues(aggregate, Number(chunk))));
    const calldata = encodeChunkProofCalldata(proof, aggCommitment);

    const round = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
    const verifierAddress = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "verifier",
    });
    const check = (r: bigint, c: bigint, w: readonly bigint[]) =>
      publicClient.readContract({
        address: verifierAddress,
        abi: aggregationVerifierAbi,
        functionName: "verifyChunk",
        args: [r, c, BigInt(numChunks), w, round.aggregateCommitment, calldata],
      });
    const [valid, statement] = await check(roundId, chunk, round.weights);
    expect(valid).to.equal(true);
    // The optimistic statement: H (the proof's public signal), then the 11 inputs opened on chain.
    const expectedStatement = concatHex(
      [await statementHash(proof.statement), ...(await statementInputs(proof.statement))].map(fieldToBytes32),
    );
    expect(statement).to.equal(expectedStatement);
    const mismatch = (bytes: Hex, evidence: Hex = "0x") =>
      publicClient.readContract({
        address: verifierAddress,
        abi: aggregationVerifierAbi,
        functionName: "statementMismatch",
        args: [bytes, round.commitments, BigInt(numChunks), evidence],
      });
    expect(await mismatch(statement)).to.equal(false);
    // The trainers' claimed chunk hashes are true: no opening disproves them. Trainer 1 (weight 0) claims
    // nothing; trainer 2's opening does not open trainer 0's commitment; a path one level short (an inner
    // node passed off as a leaf) is refused.
    const c = Number(chunk);
    for (const evidence of [
      encodeTrainerOpening(0, commitments[0]!, c),
      encodeTrainerOpening(1, commitments[1]!, c),
      encodeTrainerOpening(2, commitments[2]!, c),
      encodeTrainerOpening(0, commitments[2]!, c),
      encodeTrainerOpening(0, commitments[0]!, c).slice(0, -64) as Hex,
    ]) {
      expect(await mismatch(statement, evidence)).to.equal(false);
    }
    // Another chunk: the Merkle openings fail at once.
    expect((await check(roundId, (chunk + 1n) % BigInt(numChunks), round.weights))[0]).to.equal(false);
    // Weights that open another set of trainers: the layout fails at once.
    expect((await check(roundId, chunk, [100n, 1n, 102n]))[0]).to.equal(false);
    // A replay in another round, or other weights for the same trainers: the openings and the pairing
    // (against the supplied H) pass, but the statement is false, so any watcher's dispute fails the round.
    for (const [r, w] of [
      [roundId + 1n, round.weights],
      [roundId, [101n, 0n, 102n]],
    ] as const) {
      const [accepted, replayed] = await check(r, chunk, w);
      expect(accepted).to.equal(true);
      expect(await mismatch(replayed)).to.equal(true);
    }

    const hash = await aggregatorWallet.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "answerChallenge",
      args: [roundId, chunk, calldata],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    const ch = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getChallenge",
      args: [roundId, chunk],
    });
    expect(ch.status).to.equal(2); // answered
    const answered = parseEventLogs({
      abi: trainingRoundsAbi,
      logs: receipt.logs,
      eventName: "ChallengeAnswered",
    });
    expect(answered[0]?.args.statement).to.equal(expectedStatement);
    // The true statement cannot be disputed.
    await expectRevertName(
      publicClient.simulateContract({
        account: watcher.account,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "disputeStatement",
        args: [roundId, chunk, expectedStatement, "0x"],
      }),
      "StatementCorrect",
    );
    await networkHelpers.time.increase(700);
    await send(
      watcher.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "finalizeRound",
        args: [roundId],
      }),
    );
  });

  it("closes a round with all-zero weights at once: nothing to prove, nobody slashed or paid", async () => {
    const roundId = await openRound();
    const zero = await commitEncoded(aggregateFixedPoint(updates, [1, 1, 1]).aggregate.map(() => 32_768));
    const before = await slashableStake(aggregatorWallet.account.address);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "postAggregate",
        args: [roundId, zero.root, ("0x" + "33".repeat(32)) as Hex, [0n, 0n, 0n]],
      }),
    );
    const round = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
    expect(round.state).to.equal(RoundState.Failed);
    expect(round.pendingChallenges).to.equal(0);
    expect(round.proven).to.equal(true, "the task's rule, even with nothing to prove");
    const after = await slashableStake(aggregatorWallet.account.address);
    expect(after).to.equal(before);
  });

  it("slashes an aggregator that posted a wrong aggregate: it cannot prove the sampled chunk", async () => {
    const weights = [100, 101, 102];
    const { roundId, cheatedCommitment, chunk } = await postBiasedAggregate(weights, 40);
    // The honest proof opens the honest aggregate chunk, which is not in the posted commitment.
    const proof = await proveChunk(roundId, Number(chunk), updates, weights);
    const calldata = encodeChunkProofCalldata(proof, cheatedCommitment);
    const before = await slashableStake(aggregatorWallet.account.address);
    await send(
      aggregatorWallet.writeContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "answerChallenge",
        args: [roundId, chunk, calldata],
      }),
    );
    const after = await slashableStake(aggregatorWallet.account.address);
    expect(after).to.equal(before / 2n);
    const round = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
    expect(round.state).to.equal(5);
  });

  it("accepts a proof of a false statement optimistically, and a dispute slashes the aggregator", async () => {
    const weights = [100, 101, 102];
    const { roundId, cheated, cheatedCommitment, chunk } = await postBiasedAggregate(weights, 40);
    // A real proof that the cheated chunk averages fake trainer chunks (every trainer = the cheated
    // values), whose public input H commits to the fake chunk hashes; the answer opens the real trainer
    // chunk hashes against the real commitments and supplies that H. Pairing and openings both pass.
    const fake = await proveChunk(roundId, Number(chunk), [cheated, cheated, cheated], weights);
    const honest = await buildChunkWitness(roundId, Number(chunk), updates, weights);
    const lying = {
      ...fake,
      statement: { ...fake.statement, trainerChunkHashes: honest.statement.trainerChunkHashes },
    };
    const calldata = encodeChunkProofCalldata(lying, cheatedCommitment);
    const hash = await aggregatorWallet.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "answerChallenge",
      args: [roundId, chunk, calldata],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    const answered = parseEventLogs({
      abi: trainingRoundsAbi,
      logs: receipt.logs,
      eventName: "ChallengeAnswered",
    });
    const statement = answered[0]?.args.statement;
    if (statement === undefined) throw new Error("no ChallengeAnswered event");
    expect(BigInt(statement.slice(0, 66))).to.equal(await statementHash(fake.statement)); // the false H
    const before = await slashableStake(aggregatorWallet.account.address);
    const disputeHash = await watcher.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "disputeStatement",
      args: [roundId, chunk, statement, "0x"],
    });
    const disputeReceipt = await publicClient.waitForTransactionReceipt({ hash: disputeHash });
    expect(disputeReceipt.status).to.equal("success");
    const after = await slashableStake(aggregatorWallet.account.address);
    expect(after).to.equal(before / 2n);
    const round = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });
    expect(round.state).to.equal(5);
  });
  it("accepts a proof over misquoted trainer chunks optimistically, and the trainer's opening slashes", async () => {
    const weights = [100, 101, 102];
    const { roundId, cheated, cheatedCommitment, chunk } = await postBiasedAggregate(weights, -40);
    // A real proof that the cheated chunk averages made-up trainer chunks, claiming their hashes: the
    // statement's Poseidon hash is consistent, so only the trainers' commitments can show it false.
    const fake = await proveChunk(roundId, Number(chunk), [cheated, cheated, cheated], weights);
    const hash = await aggregatorWallet.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "answerChallenge",
      args: [roundId, chunk, encodeChunkProofCalldata(fake, cheatedCommitment)],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).to.equal("success");
    const [answered] = parseEventLogs({
      abi: trainingRoundsAbi,
      logs: receipt.logs,
      eventName: "ChallengeAnswered",
    });
    const statement = answered?.args.statement;
    if (statement === undefined) throw new Error("no ChallengeAnswered event");
    const claims = decodeAnswerStatement(statement);
    expect(claims.trainerChunkHashes[1]).to.not.equal(commitments[1]!.chunkHashes[Number(chunk)]);
    expect(claims.weights.slice(0, 3)).to.deep.equal(weights);
    const dispute = (evidence: Hex) =>
      publicClient.simulateContract({
        account: trainers[1]!.account,
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "disputeStatement",
        args: [roundId, chunk, statement, evidence],
      });
    await expectRevertName(dispute("0x"), "StatementCorrect"); // the Poseidon part holds
    const before = await slashableStake(aggregatorWallet.account.address);
    // Trainer 1 holds its update: its opening shows the chunk hash it really committed.
    const { request } = await dispute(encodeTrainerOpening(1, commitments[1]!, Number(chunk)));
    const disputed = await publicClient.waitForTransactionReceipt({
      hash: await trainers[1]!.writeContract(request),
    });
    expect(disputed.status).to.equal("success");
    const disputes = parseEventLogs({
      abi: trainingRoundsAbi,
      logs: disputed.logs,
      eventName: "StatementDisputed",
    });
    expect(disputes[0]?.args.reporter.toLowerCase()).to.equal(trainers[1]!.account.address.toLowerCase());
    const after = await slashableStake(aggregatorWallet.account.address);
    expect(after).to.equal(before / 2n);
  });
});

/** Asserts that `call` reverts with the custom error `name`. */
async function expectRevertName(call: Promise<unknown>, name: string): Promise<void> {
  try {
    await call;
  } catch (error) {
    expect(String(error)).to.contain(name);
    return;
  }
  expect.fail(`expected a ${name} revert`);
}
