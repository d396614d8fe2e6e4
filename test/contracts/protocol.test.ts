/**
 * Drives the protocol with viem on Hardhat's simulated network: the full round lifecycle, every slashing path and
 * EIP-712 evidence signed off chain (permits, reentrancy and the slasher role: protocol-guards.test.ts).
 */
import { expect } from "chai";
import { encodeFunctionData, getAddress, keccak256, parseEther, toHex } from "viem";
import type { Address, Hex } from "viem";

import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../../node/chain/contracts.ts";
import {
  aggWallet,
  networkHelpers,
  publicClient,
  send,
  t1Wallet,
  t2Wallet,
  useProtocol,
  watcherWallet,
} from "./support/protocol-fixture.ts";

describe("vAIn protocol with viem", function () {
  this.timeout(120_000);
  const p = useProtocol();

  it("runs a round end to end with a proven sampled chunk and exact rewards", async () => {
    const roundId = await p.openRoundWithCommits();
    expect(getAddress((await p.round(roundId)).aggregator)).to.equal(getAddress(aggWallet.account.address));
    await p.postAggregate(roundId, [100n, 300n]);
    const chunk = await p.pendingChunk(roundId);
    await send(
      aggWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "answerChallenge",
        args: [roundId, chunk, await p.testProof(roundId, chunk)],
      }),
    );
    await networkHelpers.time.increase(200);
    await send(
      watcherWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "finalizeRound",
        args: [roundId],
      }),
    );
    const claimable = async (a: Address) =>
      publicClient.readContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "claimable",
        args: [a],
      });
    expect(await claimable(aggWallet.account.address)).to.equal(parseEther("100"));
    expect(await claimable(t1Wallet.account.address)).to.equal(parseEther("225"));
    expect(await claimable(t2Wallet.account.address)).to.equal(parseEther("675"));
    const before = await publicClient.readContract({
      address: p.token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [t2Wallet.account.address],
    });
    await send(t2Wallet.writeContract({ address: p.rounds, abi: trainingRoundsAbi, functionName: "claim" }));
    const after = await publicClient.readContract({
      address: p.token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [t2Wallet.account.address],
    });
    expect(after - before).to.equal(parseEther("675"));
  });

  it("slashes an aggregator whose proof is wrong", async () => {
    const roundId = await p.openRoundWithCommits();
    await p.postAggregate(roundId, [100n, 300n]);
    const chunk = await p.pendingChunk(roundId);
    const wrong = await p.testProof(roundId + 1n, chunk); // a proof bound to another round
    const stakeBefore = await p.slashableStake(aggWallet.account.address);
    await send(
      aggWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "answerChallenge",
        args: [roundId, chunk, wrong],
      }),
    );
    expect(await p.slashableStake(aggWallet.account.address)).to.equal(stakeBefore / 2n);
    expect((await p.round(roundId)).state).to.equal(5);
    const events = await publicClient.getContractEvents({
      address: p.registry,
      abi: stakeRegistryAbi,
      eventName: "Slashed",
    });
    expect(events.at(-1)?.args.reason).to.equal(1);
  });

  it("slashes an aggregator that leaves a challenge unanswered and pays the challenger", async () => {
    const roundId = await p.openRoundWithCommits();
    await p.postAggregate(roundId, [100n, 300n]);
    const sampled = await p.pendingChunk(roundId);
    const chunk = (sampled + 1n) % 4n;
    // The bond is max(challengeBond, emission / 8): 125 VAIN of this round's 1,000.
    const bond = await publicClient.readContract({
      address: p.rounds,
      abi: trainingRoundsAbi,
      functionName: "challengeBondOf",
      args: [roundId],
    });
    expect(bond).to.equal(parseEther("125"));
    await send(
      watcherWallet.writeContract({
        address: p.token,
        abi: vainTokenAbi,
        functionName: "approve",
        args: [p.rounds, bond],
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
      address: p.rounds,
      abi: trainingRoundsAbi,
      functionName: "reportCommitHash",
      args: [watcherWallet.account.address, salt, report],
    });
    await send(
      watcherWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "commitReport",
        args: [commitHash],
      }),
    );
    await send(
      watcherWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "revealReport",
        args: [salt, report],
      }),
    );
    // Answer deadlines are spaced one window apart: the bonded challenge is due after the sampled one.
    const { answerDeadline } = await publicClient.readContract({
      address: p.rounds,
      abi: trainingRoundsAbi,
      functionName: "getChallenge",
      args: [roundId, chunk],
    });
    await networkHelpers.time.increaseTo(answerDeadline + 1n);
    const before = await publicClient.readContract({
      address: p.token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [watcherWallet.account.address],
    });
    await send(
      watcherWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "resolveUnansweredChallenge",
        args: [roundId, chunk],
      }),
    );
    const after = await publicClient.readContract({
      address: p.token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [watcherWallet.account.address],
    });
    expect(after - before).to.equal(parseEther("50")); // 10% of the 500 slashed
  });

  it("slashes an aggregator that misses its deadline", async () => {
    const roundId = await p.openRoundWithCommits();
    await networkHelpers.time.increase(61);
    await send(
      watcherWallet.writeContract({
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "reportMissedAggregation",
        args: [roundId],
      }),
    );
    expect(await p.slashableStake(aggWallet.account.address)).to.equal(parseEther("500"));
  });

  it("slashes equivocation proven by EIP-712 signatures made off chain", async () => {
    const roundId = await p.openRoundWithCommits();
    const domain = {
      name: "vAIn TrainingRounds",
      version: "1",
      chainId: await publicClient.getChainId(),
      verifyingContract: p.rounds,
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
        address: p.rounds,
        abi: trainingRoundsAbi,
        functionName: "reportEquivocation",
        args: [roundId, true, a, await sign(a), b, await sign(b)],
      }),
    );
    expect(await p.slashableStake(aggWallet.account.address)).to.equal(parseEther("500"));
  });
});
