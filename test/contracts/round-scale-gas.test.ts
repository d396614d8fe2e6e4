/**
 * Rounds as large as the mesh (issue #21) on the real TrainingRounds: N staked operators (each its own key,
 * stake and commitment) commit to an unproven task's round, the aggregator posts, the round finalizes and
 * trainers claim. At 16 trainers the weights go as an array and are paid in the close's loop; at 256 and
 * 1,000 the aggregator posts a weight sum tree root (`postWeightsRoot`, then `postAggregate` with no array)
 * and each trainer claims its share with its opening (`claimTrainerShare`). Prints the gas table docs/scaling.md
 * and the README quote, and fails if commit, finalize or claim grows more than a tree level's worth per
 * doubling, or the post more than its published leaves (2 bytes a trainer). Also measures a commit into a full
 * 1,000-trainer round, which takes the least-staked of 16 drawn slots (RoundsExtension.takeSlot): it was the
 * one path linear in N (a scan of every slot, 8.85M gas at 1,000) until session 8.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { createWalletClient, custom, keccak256, parseEther, parseSignature, toHex } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { PERMIT_TYPES, taskConfig } from "../../node/chain/actions/index.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { lockAndSelect } from "../../node/chain/draws.ts";
import { buildWeightTree, packWeights, weightOpening } from "../../node/proofs/weight-tree.ts";

const { viem, networkHelpers, provider } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer] = await viem.getWalletClients();
const SIZES = [16, 256, 1000] as const;
/** One more than the largest round: the newcomer that takes a full round's least-staked slot. */
const OPERATORS = 1001;
/** Most gas a commit into a full round may cost above a plain commit: 16 sampled stake reads plus the slot swap. */
const EVICTION_GAS_BOUND = 250_000;

async function gasOf(hash: Promise<Hex>): Promise<bigint> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  expect(receipt.status).to.equal("success");
  return receipt.gasUsed;
}

function operatorWallet(i: number) {
  const account = privateKeyToAccount(keccak256(toHex(`round-scale-gas operator ${i}`)));
  return createWalletClient({ account, chain: publicClient.chain, transport: custom(provider) });
}
type Operator = ReturnType<typeof operatorWallet>;

interface Row {
  trainers: number;
  commit: bigint;
  post: bigint;
  finalize: bigint;
  claim: bigint;
}

describe("rounds of 16, 256 and 1,000 trainers on TrainingRounds: gas per trainer", function () {
  this.timeout(900_000);

  it("commit, post, finalize, claim and a full round's eviction stay flat in N", async () => {
    const deployment = await deployProtocol({
      publicClient,
      walletClient: deployer!,
      roundParams: { maxTrainersPerRound: 1000 },
    });
    const token = deployment.contracts.VainToken.address as Address;
    const registry = deployment.contracts.StakeRegistry.address as Address;
    const rounds = deployment.contracts.TrainingRounds.address as Address;
    const onRounds = { address: rounds, abi: trainingRoundsAbi } as const;
    const chainId = await publicClient.getChainId();

    // Operators: tokens from the treasury, then one stakeWithPermit each; the last one stakes more.
    const operators: Operator[] = Array.from({ length: OPERATORS }, (_, i) => operatorWallet(i));
    const stakeOf = (i: number) => (i === OPERATORS - 1 ? parseEther("500") : parseEther("200"));
    for (let i = 0; i < OPERATORS; i += 50) {
      const batch = operators.slice(i, i + 50);
      await Promise.all(batch.map((op) => networkHelpers.setBalance(op.account.address, parseEther("10"))));
      for (const [j, op] of batch.entries())
        await gasOf(
          deployer!.writeContract({
            address: token,
            abi: vainTokenAbi,
            functionName: "transfer",
            args: [op.account.address, stakeOf(i + j)],
          }),
        );
      const deadline = BigInt(await networkHelpers.time.latest()) + 86_400n;
      await Promise.all(
        batch.map(async (op, j) => {
          const value = stakeOf(i + j);
          const signature = await op.signTypedData({
            domain: { name: "vAIn", version: "1", chainId, verifyingContract: token },
            types: PERMIT_TYPES,
            primaryType: "Permit",
            message: { owner: op.account.address, spender: registry, value, nonce: 0n, deadline },
          });
          const { v, r, s } = parseSignature(signature);
          await gasOf(
            op.writeContract({
              address: registry,
              abi: stakeRegistryAbi,
              functionName: "stakeWithPermit",
              args: [value, deadline, Number(v), r, s],
            }),
          );
        }),
      );
    }
    // The deployer aggregates (the only candidate) and funds an unproven task: rounds above 16 are never proven.
    const aggStake = parseEther("1000");
    await gasOf(
      deployer!.writeContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [registry, aggStake],
      }),
    );
    await gasOf(
      deployer!.writeContract({
        address: registry,
        abi: stakeRegistryAbi,
        functionName: "stake",
        args: [aggStake],
      }),
    );
    const config = taskConfig({
      modelRef: `0x${"11".repeat(32)}`,
      parameters: 4 * 64,
      rewardPerRoundWei: parseEther("1000"),
      proven: false,
      rule: "median",
      commitWindowS: 3_600n,
      aggregateWindowS: 600n,
      challengeWindowS: 60n,
      roundIntervalS: 0n,
    });
    await gasOf(deployer!.writeContract({ ...onRounds, functionName: "createTask", args: [config] }));
    await gasOf(
      deployer!.writeContract({ ...onRounds, functionName: "setAggregatorOptIn", args: [1n, true] }),
    );
    await gasOf(
      deployer!.writeContract({
        address: token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [rounds, parseEther("10000")],
      }),
    );
    await gasOf(
      deployer!.writeContract({ ...onRounds, functionName: "fundTask", args: [1n, parseEther("10000")] }),
    );
    await networkHelpers.mine(); // stakes are history before a round opens
    const driver = { publicClient, walletClient: deployer!, rounds, mine: () => networkHelpers.mine() };

    const rows: Row[] = [];
    let evictGas = 0n;
    for (const [r, n] of SIZES.entries()) {
      const roundId = BigInt(r + 1);
      await gasOf(deployer!.writeContract({ ...onRounds, functionName: "openRound", args: [1n] }));
      let commit = 0n;
      for (let i = 0; i < n; i += 50)
        await Promise.all(
          operators.slice(i, Math.min(n, i + 50)).map(async (op, j) => {
            const gas = await gasOf(
              op.writeContract({
                ...onRounds,
                functionName: "commitUpdate",
                args: [roundId, keccak256(toHex(`update ${roundId} ${i + j}`)), 100n],
                // Sent 50 at once: an estimate made before the others land may miss a new packed slot's store.
                gas: 400_000n,
              }),
            );
            if (i + j === n - 1) commit = gas;
          }),
        );
      if (n === 1000) {
        // A newcomer with more stake takes a slot of the full round: the least-staked of EVICTION_SAMPLE drawn
        // slots, so its gas does not grow with the round (a scan of all 1,000 cost 8,850,435, session 7).
        evictGas = await gasOf(
          operators[OPERATORS - 1]!.writeContract({
            ...onRounds,
            functionName: "commitUpdate",
            args: [roundId, keccak256(toHex("newcomer")), 100n],
          }),
        );
      }
      // Just past the commit deadline: 1,000 commits take 1,000 blocks (a second each), and a selection later
      // than an aggregate window after the deadline fails the round.
      const { commitDeadline } = await publicClient.readContract({
        ...onRounds,
        functionName: "getRound",
        args: [roundId],
      });
      const now = BigInt(await networkHelpers.time.latest());
      if (now <= commitDeadline) await networkHelpers.time.increaseTo(commitDeadline + 1n);
      await lockAndSelect(driver, roundId);
      const round = await publicClient.readContract({
        ...onRounds,
        functionName: "getRound",
        args: [roundId],
      });
      expect(round.aggregator.toLowerCase(), `round ${roundId} state ${round.state}`).to.equal(
        deployer!.account.address.toLowerCase(),
      );
      const trainers = [...round.trainers];
      expect(trainers.length).to.equal(n);
      // As a robust rule leaves them: most accepted, every seventh rejected; the last index accepted.
      const weights = trainers.map((_, i) => (i % 7 === 3 && i !== n - 1 ? 0n : BigInt(50 + (i % 51))));
      let post: bigint;
      let tree: ReturnType<typeof buildWeightTree> | undefined;
      if (n <= 16) {
        post = await gasOf(
          deployer!.writeContract({
            ...onRounds,
            functionName: "postAggregate",
            args: [roundId, `0x${"a1".repeat(32)}`, `0x${"d1".repeat(32)}`, weights],
          }),
        );
      } else {
        tree = buildWeightTree(roundId, trainers, weights);
        post = await gasOf(
          deployer!.writeContract({
            ...onRounds,
            functionName: "postWeightsRoot",
            args: [roundId, tree.root, tree.totalWeight, packWeights(weights)],
          }),
        );
        post += await gasOf(
          deployer!.writeContract({
            ...onRounds,
            functionName: "postAggregate",
            args: [roundId, `0x${"a1".repeat(32)}`, `0x${"d1".repeat(32)}`, []],
          }),
        );
      }
      await networkHelpers.time.increase(3_600);
      const finalize = await gasOf(
        deployer!.writeContract({ ...onRounds, functionName: "finalizeRound", args: [roundId] }),
      );
      let claim = 0n;
      if (tree !== undefined) {
        const index = n - 1; // the deepest index: the longest opening
        const claimant = trainers[index]!;
        const before = await publicClient.readContract({
          address: token,
          abi: vainTokenAbi,
          functionName: "balanceOf",
          args: [claimant],
        });
        claim = await gasOf(
          deployer!.writeContract({
            ...onRounds,
            functionName: "claimTrainerShare",
            args: [roundId, BigInt(index), weights[index]!, weightOpening(tree, index)],
          }),
        );
        const after = await publicClient.readContract({
          address: token,
          abi: vainTokenAbi,
          functionName: "balanceOf",
          args: [claimant],
        });
        const [, , pool] = await publicClient.readContract({
          ...onRounds,
          functionName: "weightClaims",
          args: [roundId],
        });
        expect(after - before).to.equal((pool * weights[index]!) / tree.totalWeight);
      }
      rows.push({ trainers: n, commit, post, finalize, claim });
    }
    process.stdout.write(
      "\n| trainers | commit gas (last) | post gas | finalize gas | claim gas |\n|---|---|---|---|---|\n" +
        rows
          .map(
            (r) =>
              `| ${r.trainers} | ${r.commit} | ${r.post} | ${r.finalize} | ${r.claim || "paid in finalize"} |`,
          )
          .join("\n") +
        `\n\ncommit into a full 1,000-trainer round (takes the least-staked of 16 drawn slots): ${evictGas} gas\n`,
    );
    const [, mid, large] = rows as [Row, Row, Row];
    // Flat in N above the array: a 4x larger round costs at most a couple of tree levels more to claim.
    expect(Number(large.commit - mid.commit)).to.be.lessThan(25_000);
    // Posting publishes the leaves (2 bytes a trainer, emitted): at most ~60 gas a trainer, no storage.
    expect(Number(large.post - mid.post)).to.be.lessThan(60 * (large.trainers - mid.trainers));
    expect(Number(large.finalize - mid.finalize)).to.be.lessThan(1_000);
    expect(Number(large.claim - mid.claim)).to.be.lessThan(5_000);
    // The eviction reads 16 stakes (~9k gas each) on top of a commit, whatever N: the sybil fill costs an
    // honest committer at most this, not ~8.8k gas per trainer.
    expect(Number(evictGas)).to.be.lessThan(Number(large.commit) + EVICTION_GAS_BOUND);
  });
});
