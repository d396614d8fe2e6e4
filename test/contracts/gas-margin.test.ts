/**
 * A node's round transaction is sent with GAS_MARGIN_PERCENT above its estimate (rounds-gateway.ts `send`): an
 * estimate holds for the state it was made on, and commits mined in between move the cost. A round's sample
 * counts are packed four to a storage slot, so a commit estimated as the fourth trainer (into a used slot) and
 * mined as the fifth (opening a slot) runs out of gas at its estimate: 40 of 64 commits of bench:round --scale 64
 * did on their first try (2026-12-06). On Hardhat's simulated chain: that commit fails at its bare estimate and
 * lands with the margin.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Account, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import { withGasMargin } from "../../node/chain/constants.ts";
import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { fundStakeAndOpenRound } from "../../scripts/support/round-fixture.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const [deployer, ...operators] = (await viem.getWalletClients()) as unknown as Wallet[];

describe("round transactions get a gas margin", () => {
  it("a commit estimated a trainer early runs out of gas at its estimate and lands with the margin", async () => {
    const deployment = await deployProtocol({ publicClient, walletClient: deployer! });
    const contracts = protocolAddresses(deployment);
    const trainers = operators.slice(0, 5);
    const { roundId } = await fundStakeAndOpenRound(
      { publicClient, treasury: deployer!, contracts },
      {
        operators: trainers,
        tokensWei: 1_000n * 10n ** 18n,
        stakeWei: 500n * 10n ** 18n,
        task: { modelRef: ("0x" + "11".repeat(32)) as Hex, parameters: 200, rewardPerRoundWei: 10n ** 18n },
        fundWei: 10n ** 20n,
      },
    );
    const commitOf = (wallet: Wallet, k: number) =>
      ({
        account: wallet.account,
        address: contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "commitUpdate",
        args: [roundId!, `0x${k.toString(16).padStart(64, "0")}` as Hex, 100n],
      }) as const;
    const commit = async (wallet: Wallet, k: number, gas?: bigint) =>
      wallet
        .writeContract({ ...commitOf(wallet, k), ...(gas === undefined ? {} : { gas }) })
        .then((hash) => publicClient.waitForTransactionReceipt({ hash }))
        .then(
          (receipt) => receipt.status,
          (error: unknown) => `refused: ${String(error).split("\n")[0]}`,
        );
    for (const [k, wallet] of trainers.slice(0, 3).entries())
      expect(await commit(wallet, k + 1)).to.equal("success");
    const [fourth, fifth] = trainers.slice(3) as [Wallet, Wallet];
    // Estimated as the fourth trainer (its sample count into the first slot's last place) ...
    const estimate = await publicClient.estimateContractGas(commitOf(fifth, 5));
    expect(await commit(fourth, 4)).to.equal("success");
    // ... and mined as the fifth, opening the second slot.
    expect(await commit(fifth, 5, estimate)).to.not.equal(
      "success",
      "the premise: the bare estimate falls short",
    );
    expect(await commit(fifth, 5, withGasMargin(estimate))).to.equal("success");
    const round = await publicClient.readContract({
      address: contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId!],
    });
    expect(round.trainers.length).to.equal(5);
  });
});
