/**
 * Rounds of any size (issue #21): the gas of a trainer's commit, the aggregator's weights post and a trainer's
 * claim at 16, 256 and 1,000 trainers, on Hardhat's simulated chain with WeightClaimsHarness (the commit
 * accumulator as TrainingRounds keeps it plus RoundWeightClaims). The tree and every opening come from
 * node/proofs/weight-tree.ts, so this also checks the TypeScript builder against the contract byte for byte.
 * Prints the table the README's gas section quotes; fails if any of the three grows by more than a claim's
 * extra tree levels (~1.2k gas per doubling).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, getContract, keccak256, parseAbi } from "viem";
import type { Address, Hex } from "viem";

import { buildWeightTree, verifyWeightOpening, weightOpening } from "../../node/proofs/weight-tree.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [, trainerWallet, otherWallet] = await viem.getWalletClients();
const deployed = await viem.deployContract("WeightClaimsHarness");
/** The harness's ABI, written out: test contracts get no generated ABI (node/chain/abis holds the protocol's). */
const harnessAbi = parseAbi([
  "struct Sibling { bytes32 hash; uint256 sum; }",
  "function commit(uint256 roundId, bytes32 commitment, uint64 sampleCount)",
  "function seed(uint256 roundId, uint256 n, uint256 salt)",
  "function trainerCount(uint256 roundId) view returns (uint256)",
  "function postWeights(uint256 roundId, bytes32 root, uint256 totalWeight)",
  "function close(uint256 roundId, uint256 pool, uint64 claimDeadline)",
  "function claim(uint256 roundId, uint256 index, uint256 weight, Sibling[] path) returns (uint256)",
  "function credited(address account) view returns (uint256)",
]);
const harness = getContract({
  address: deployed.address,
  abi: harnessAbi,
  client: { public: publicClient, wallet: trainerWallet! },
});

/** Seeded trainers as the harness derives them (`seed`: keccak(salt, i)). */
function seededTrainer(salt: bigint, i: number): Address {
  const hash = keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [salt, BigInt(i)]));
  return getAddress(`0x${hash.slice(-40)}`);
}

async function gasOf(hash: Promise<Hex>): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).to.equal("success");
  return receipt.gasUsed;
}

interface Row {
  trainers: number;
  commitGas: bigint;
  postGas: bigint;
  claimGas: bigint;
  depth: number;
}

/** One round of `n` trainers: n - 2 seeded, then two real wallets commit; measures the last commit. */
async function measure(roundId: bigint, n: number): Promise<Row> {
  const salt = roundId;
  for (let done = 0; done < n - 2; done += 200)
    await gasOf(harness.write.seed([roundId, BigInt(Math.min(200, n - 2 - done)), salt]));
  await gasOf(
    harness.write.commit([roundId, `0x${"0a".repeat(32)}`, 100n], { account: otherWallet!.account }),
  );
  const commitGas = await gasOf(
    harness.write.commit([roundId, `0x${"0b".repeat(32)}`, 100n], { account: trainerWallet!.account }),
  );
  const trainers = [
    ...Array.from({ length: n - 2 }, (_, i) => seededTrainer(salt, i)),
    getAddress(otherWallet!.account.address),
    getAddress(trainerWallet!.account.address),
  ];
  expect(await harness.read.trainerCount([roundId])).to.equal(BigInt(n));
  // Weights as a robust rule leaves them: most accepted, every seventh rejected (0); the measured claimant (the
  // last, deepest index) accepted.
  const weights = trainers.map((_, i) => (i % 7 === 3 && i !== n - 1 ? 0n : BigInt(50 + (i % 51))));
  const tree = buildWeightTree(roundId, trainers, weights);
  const postGas = await gasOf(harness.write.postWeights([roundId, tree.root, tree.totalWeight]));
  const latest = await publicClient.getBlock();
  await gasOf(harness.write.close([roundId, 10n ** 21n, latest.timestamp + 3600n]));
  const index = n - 1;
  const path = weightOpening(tree, index);
  expect(verifyWeightOpening(tree, index, trainers[index]!, weights[index]!, path)).to.equal(true);
  const claimGas = await gasOf(
    harness.write.claim([roundId, BigInt(index), weights[index]!, path], { account: trainerWallet!.account }),
  );
  const share = (10n ** 21n * weights[index]!) / tree.totalWeight;
  const credited = await harness.read.credited([trainerWallet!.account.address]);
  expect(credited >= share, `credited ${credited} < share ${share}`).to.equal(true);
  return { trainers: n, commitGas, postGas, claimGas, depth: path.length };
}

describe("weight sum tree claims: gas flat per trainer", () => {
  it("commit, post and claim at 16, 256 and 1,000 trainers", async () => {
    // Warm-up round: the claimant's balance and the credited total are already non-zero in every measured
    // claim (a trainer's first credit ever pays ~20k more for the zero-to-non-zero store, whatever the size).
    await measure(100n, 2);
    const rows: Row[] = [];
    for (const [i, n] of [16, 256, 1000].entries()) rows.push(await measure(BigInt(i + 1), n));
    process.stdout.write(
      "\n| trainers | commit gas | post gas | claim gas (tree depth) |\n|---|---|---|---|\n" +
        rows
          .map((r) => `| ${r.trainers} | ${r.commitGas} | ${r.postGas} | ${r.claimGas} (${r.depth}) |`)
          .join("\n") +
        "\n",
    );
    const [small, , large] = rows as [Row, Row, Row];
    // Commit and post do not depend on the round's size at all (storage slots differ only in their key).
    expect(Number(large.commitGas - small.commitGas)).to.be.lessThan(500);
    expect(Number(large.postGas - small.postGas)).to.be.lessThan(500);
    // A claim pays ~1.2k per tree level (64 calldata bytes and one keccak): log2, not linear.
    expect(Number(large.claimGas - small.claimGas)).to.be.lessThan(2_000 * (large.depth - small.depth));
    await networkHelpers.mine();
  });
});
