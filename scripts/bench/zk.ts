/**
 * `npm run bench:zk`: the aggregation circuit's cost and on-chain verification gas with real proofs.
 * Reports constraints per parameter per trainer (K = 8, 64-value chunks), witness and proving time of the
 * default chunk, the verifier call's gas, the whole challenge-answer transaction's gas, proof calldata
 * size, and the estimate for proving every chunk of a 100k-parameter model versus sampled challenges.
 * Also the gas of the on-chain Poseidon that computes the one public input (the price of hashing on chain,
 * now paid only by a dispute: `statementMismatch`), and, for comparison, circomlibjs' generated Poseidon
 * contracts (2 and 5 inputs) measured in the same run. Baseline in the same run: the answer as it was with the
 * statement hash recomputed on chain = the optimistic answer + the `statementMismatch` call's Poseidon work.
 *
 * Fan-in variants (the same templates at K = 4, 8, 16 and C = 64, 32): witness and proving time are measured
 * for K = 8, C = 64 with the committed artifacts and for every variant with a dev zkey in
 * circuits/build/variants (`npm run zk:setup -- --variant K,C`: a dev setup, not a ceremony, never committed);
 * a variant without one is compiled for its constraint count and its proving time estimated from the measured
 * throughput, and its metric names say "est.".
 */
import { readFile, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { network } from "hardhat";
import { concatHex, encodeFunctionData, hexToBytes, parseEther, parseEventLogs } from "viem";
import type { Abi, Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import {
  ChallengeStatus,
  aggregationVerifierAbi,
  groth16VerifierAbi,
  trainingRoundsAbi,
} from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { drawSamplesWhenDue } from "../../node/chain/draws.ts";
import {
  CHUNK_SIZE,
  PROOF_TRAINERS,
  aggregateFixedPoint,
  buildChunkWitness,
  chunkCount,
  commitEncoded,
  encodeChunkProofCalldata,
  encodeFixedPoint,
  encodeTrainerOpening,
  fieldToBytes32,
  proofPoints,
  proveChunk,
  publicSignals,
  statementInputs,
} from "../../node/proofs/index.ts";
import { poseidonContract } from "circomlibjs";
import { groth16VerifierChoice } from "../../node/proofs/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { commitAndSelect, fundStakeAndOpenRound } from "../support/round-fixture.ts";
import { Rng } from "../../node/core/rng.ts";
import { isQuick, printTable, runBenchmark, writeResults } from "./common.ts";
import type { Row } from "./common.ts";
import { VARIANT_SHAPES, variantFigures, variantKeys, variantRows } from "./zk-variants.ts";
import type { VariantFigures } from "./zk-variants.ts";
import { mapFloat32 } from "../../node/core/vectors.ts";

type Wallet = WalletClient<Transport, Chain, Account>;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Parameters of the benchmark's model: about the MNIST MLP's 101,770 (depth-11 Merkle paths). */
const MODEL_SIZE = 100_000;

/** Intrinsic calldata gas of `bytes` (EIP-2028: 16 per non-zero byte, 4 per zero byte). */
function calldataGas(bytes: Uint8Array): number {
  return bytes.reduce((gas, byte) => gas + (byte === 0 ? 4 : 16), 0);
}

/** Constraints of the committed circuit, recorded by scripts/zk-setup.ts in the artifact manifest. */
async function constraintCount(): Promise<number> {
  const manifest = JSON.parse(await readFile(`${ROOT}circuits/artifacts/manifest.json`, "utf8")) as {
    constraints?: number;
  };
  return manifest.constraints ?? -1;
}

runBenchmark(async () => {
  const quick = isQuick();
  const proofs = quick ? 1 : 3;
  const rng = new Rng(3);
  const size = CHUNK_SIZE * 4;
  const updates = Array.from({ length: PROOF_TRAINERS }, () =>
    encodeFixedPoint(mapFloat32({ length: size }, () => rng.normal() * 0.05)),
  );
  const weights = updates.map((_, i) => 100 + i);

  const witnessStarted = performance.now();
  await buildChunkWitness(1n, 0, updates, weights);
  const witnessSeconds = (performance.now() - witnessStarted) / 1000;
  const proveTimes: number[] = [];
  let last = await proveChunk(1n, 0, updates, weights);
  proveTimes.push(last.proveMs / 1000);
  for (let i = 1; i < proofs; i++) {
    last = await proveChunk(1n, i, updates, weights);
    proveTimes.push(last.proveMs / 1000);
  }
  const proveSeconds = proveTimes.reduce((a, b) => a + b, 0) / proveTimes.length;
  const constraints = await constraintCount();

  // On-chain: deploy with the real verifier, run one round and answer its sampled chunk.
  const { viem, networkHelpers } = await network.create();
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
  const wallets = (await viem.getWalletClients()) as unknown as Wallet[];
  const deployer = wallets[0]!;
  const aggregator = wallets[1]!;
  const trainers = wallets.slice(2, 2 + PROOF_TRAINERS);
  const deployment = await deployProtocol({
    publicClient,
    walletClient: deployer,
    verifier: await groth16VerifierChoice(),
  });
  const rounds = deployment.contracts.TrainingRounds.address as Address;
  const send = async (hash: Promise<Hex>) => publicClient.waitForTransactionReceipt({ hash: await hash });
  const fixtureChain = { publicClient, treasury: deployer, contracts: protocolAddresses(deployment) };
  await fundStakeAndOpenRound(fixtureChain, {
    operators: [aggregator, ...trainers],
    tokensWei: parseEther("1000"),
    stakeWei: parseEther("500"),
    aggregators: [aggregator],
    task: {
      modelRef: ("0x" + "11".repeat(32)) as Hex,
      parameters: MODEL_SIZE,
      rewardPerRoundWei: parseEther("10"),
      commitWindowS: 60n,
      aggregateWindowS: 60n,
      challengeWindowS: 600n,
      answerWindowS: 600n,
      roundIntervalS: 0n,
    },
    fundWei: parseEther("100"),
  });
  // A 100k-parameter-sized commitment tree, so Merkle paths have the depth of a real model (11).
  const modelSize = MODEL_SIZE;
  const big = updates.map((u) => {
    const out = new Uint16Array(modelSize).fill(32768);
    out.set(u);
    return out;
  });
  const commitments = await Promise.all(big.map((u) => commitEncoded(u)));
  const drawDriver = { publicClient, walletClient: deployer, rounds, mine: () => networkHelpers.mine() };
  await commitAndSelect(fixtureChain, {
    roundId: 1n,
    commits: trainers.map((trainer, i) => ({
      trainer,
      root: commitments[i]!.root,
      samples: BigInt(weights[i]!),
    })),
    advanceTime: (seconds) => networkHelpers.time.increase(seconds),
    secondsPastCommit: 61,
    draws: drawDriver,
  });
  const { aggregate } = aggregateFixedPoint(big, weights);
  const aggCommitment = await commitEncoded(aggregate);
  const numChunks = chunkCount(modelSize);
  await send(
    aggregator.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "postAggregate",
      args: [1n, aggCommitment.root, ("0x" + "22".repeat(32)) as Hex, weights.map(BigInt)],
    }),
  );
  await drawSamplesWhenDue(drawDriver, 1n);
  let sampled = 0;
  for (let i = 0; i < numChunks; i++) {
    const ch = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "getChallenge",
      args: [1n, BigInt(i)],
    });
    if (ch.status === ChallengeStatus.Pending) {
      sampled = i;
      break;
    }
  }
  const chunkProof = await proveChunk(1n, sampled, big, weights);
  const calldata = encodeChunkProofCalldata(chunkProof, aggCommitment);
  const receipt = await send(
    aggregator.writeContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "answerChallenge",
      args: [1n, BigInt(sampled), calldata],
    }),
  );
  const answered = await publicClient.readContract({
    address: rounds,
    abi: trainingRoundsAbi,
    functionName: "getChallenge",
    args: [1n, BigInt(sampled)],
  });
  if (answered.status !== ChallengeStatus.Answered) throw new Error("the challenge answer was not accepted");
  const groth16Address = await publicClient.readContract({
    address: deployment.contracts.AggregationVerifier.address as Address,
    abi: aggregationVerifierAbi,
    functionName: "groth16",
  });
  const { a, b, c } = proofPoints(chunkProof.proof);
  const signals = (await publicSignals(chunkProof.statement)) as unknown as readonly bigint[];
  const verifyGas =
    (await publicClient.estimateGas({
      to: groth16Address,
      data: encodeFunctionData({
        abi: groth16VerifierAbi,
        functionName: "verifyProof",
        args: [a, b, c, signals as never],
      }),
    })) - 21_000n;
  // The statement hash on chain: our generated Poseidon(11) segments, and circomlibjs' contracts.
  const poseidonAddress = await publicClient.readContract({
    address: deployment.contracts.AggregationVerifier.address as Address,
    abi: aggregationVerifierAbi,
    functionName: "poseidon",
  });
  const poseidonCalldata = concatHex(
    [0n, ...(await statementInputs(chunkProof.statement))].map(fieldToBytes32),
  );
  const poseidonGas =
    (await publicClient.estimateGas({ to: poseidonAddress, data: poseidonCalldata })) - 21_000n;
  // What a dispute pays: the statement's Poseidon through the verifier (a true statement: no mismatch).
  const answeredLogs = parseEventLogs({
    abi: trainingRoundsAbi,
    logs: receipt.logs,
    eventName: "ChallengeAnswered",
  });
  const statement = answeredLogs[0]?.args.statement;
  if (statement === undefined) throw new Error("the answer emitted no statement");
  const roundCommitments = commitments.map((c) => c.root);
  const disputeCheckGas = async (evidence: Hex): Promise<bigint> =>
    (await publicClient.estimateGas({
      to: deployment.contracts.AggregationVerifier.address as Address,
      data: encodeFunctionData({
        abi: aggregationVerifierAbi,
        functionName: "statementMismatch",
        args: [statement, roundCommitments, BigInt(numChunks), evidence],
      }),
    })) - 21_000n;
  const mismatchGas = await disputeCheckGas("0x");
  // A trainer's opening: what a dispute of a misquoted chunk hash checks. The baseline (the previous design,
  // derived from measured parts): the same answer with every weighted trainer's hash opened on chain, i.e.
  // per trainer its 11 sibling words of calldata plus the path's execution, measured as the difference
  // between a full opening and one cut a word short (refused before the path is walked).
  const opening = encodeTrainerOpening(0, commitments[0]!, sampled);
  const openingCheckGas = await disputeCheckGas(opening);
  const cutOpening = opening.slice(0, -64) as Hex;
  const pathExecutionGas =
    Number(openingCheckGas - (await disputeCheckGas(cutOpening))) -
    calldataGas(hexToBytes(`0x${opening.slice(-64)}`));
  const siblingsGas = calldataGas(hexToBytes(`0x${opening.slice(2 + 128)}`));
  const weightedTrainers = weights.filter((w) => w > 0).length;
  const strictAnswerGas = Number(receipt.gasUsed) + weightedTrainers * (siblingsGas + pathExecutionGas);
  const circomlibjsGas: Record<number, number> = {};
  for (const n of [2, 5]) {
    const abi = poseidonContract.generateABI(n) as Abi;
    const hash = await deployer.deployContract({
      abi,
      bytecode: poseidonContract.createCode(n) as Hex,
      args: [],
    });
    const address = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    const data = encodeFunctionData({
      abi,
      functionName: "poseidon",
      args: [Array.from({ length: n }, (_, i) => BigInt(i + 1))],
    } as never);
    circomlibjsGas[n] = Number((await publicClient.estimateGas({ to: address, data })) - 21_000n);
  }
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();

  // Fan-in variants of the same templates: measured where a zkey exists, else estimated from throughput.
  const throughput = constraints / proveSeconds;
  const variants: VariantFigures[] = [];
  for (const shape of VARIANT_SHAPES)
    variants.push(await variantFigures(shape, constraints, throughput, quick ? 1 : proofs));
  const zkeyBytes = (await stat(`${ROOT}circuits/artifacts/aggregate.zkey`)).size;
  const wasmBytes = (await stat(`${ROOT}circuits/artifacts/aggregate.wasm`)).size;
  const chunks100k = Math.ceil(100_000 / CHUNK_SIZE);
  const detection = (f: number, s: number) => 1 - (1 - f) ** s;
  const table: Row[] = [
    { metric: "constraints (K=8, C=64)", value: constraints },
    { metric: "constraints per parameter per trainer", value: constraints / (CHUNK_SIZE * PROOF_TRAINERS) },
    { metric: "witness seconds", value: witnessSeconds },
    { metric: "prove seconds (default chunk, mean)", value: proveSeconds },
    { metric: "proving throughput (constraints/s)", value: constraints / proveSeconds },
    { metric: "verifier call gas (Groth16 verifyProof, 1 public input)", value: Number(verifyGas) },
    { metric: "statement hash on chain: Poseidon(11) segments gas", value: Number(poseidonGas) },
    { metric: "dispute check, Poseidon: statementMismatch call gas", value: Number(mismatchGas) },
    {
      metric: "dispute check, a trainer's opening: statementMismatch call gas",
      value: Number(openingCheckGas),
    },
    { metric: "circomlibjs Poseidon contract gas, 2 inputs", value: circomlibjsGas[2]! },
    { metric: "circomlibjs Poseidon contract gas, 5 inputs", value: circomlibjsGas[5]! },
    {
      metric: "answerChallenge tx gas (aggregate opened, trainer hashes and H optimistic)",
      value: Number(receipt.gasUsed),
    },
    {
      metric: `baseline (derived): trainer hashes opened on chain (${weightedTrainers} depth-11 paths)`,
      value: strictAnswerGas,
    },
    {
      metric: "baseline: answer with H recomputed on chain (answer + Poseidon)",
      value: Number(receipt.gasUsed + mismatchGas),
    },
    { metric: "proof calldata bytes", value: (calldata.length - 2) / 2 },
    { metric: "zkey MB", value: zkeyBytes / 2 ** 20 },
    { metric: "wasm MB", value: wasmBytes / 2 ** 20 },
    { metric: "whole 100k model: chunks", value: chunks100k },
    { metric: "whole 100k model: prove minutes", value: (chunks100k * proveSeconds) / 60 },
    { metric: "sampled design: prove seconds per round, 1 sample", value: proveSeconds },
    { metric: "sampled design: prove seconds per round, 8 samples", value: 8 * proveSeconds },
    { metric: "detection, 1 corrupted chunk, 1 sample", value: detection(1 / chunks100k, 1) },
    { metric: "detection, 1 corrupted chunk, 8 samples", value: detection(1 / chunks100k, 8) },
    { metric: "detection, 10% corrupted, 1 sample", value: detection(0.1, 1) },
    { metric: "detection, 10% corrupted, 8 samples", value: detection(0.1, 8) },
  ];
  for (const v of variants) table.push(...variantRows(v));
  printTable(table);
  await writeResults(
    "zk",
    {
      constraintsPerParamPerTrainer: constraints / (CHUNK_SIZE * PROOF_TRAINERS),
      constraints,
      proveSeconds,
      witnessSeconds,
      verifyGas: Number(verifyGas),
      statementHashGas: Number(poseidonGas),
      circomlibjsPoseidon2Gas: circomlibjsGas[2]!,
      circomlibjsPoseidon5Gas: circomlibjsGas[5]!,
      answerTxGas: Number(receipt.gasUsed),
      baselineAnswerTxGasPoseidonOnChain: Number(receipt.gasUsed + mismatchGas),
      disputeCheckGas: Number(mismatchGas),
      openingDisputeCheckGas: Number(openingCheckGas),
      baselineAnswerTxGasTrainerPathsOnChain: strictAnswerGas,
      proveThroughputConstraintsPerSec: constraints / proveSeconds,
      proofBytes: (calldata.length - 2) / 2,
      wholeRoundProveMinutes100k: (chunks100k * proveSeconds) / 60,
      zkeyMB: zkeyBytes / 2 ** 20,
      wasmMB: wasmBytes / 2 ** 20,
      ...Object.fromEntries(variants.flatMap(variantKeys)),
    },
    table,
  );
  process.exit(0);
});
