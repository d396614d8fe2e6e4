/**
 * A trainer whose commit landed after it stopped waiting for the receipt (a loaded chain) must not take the
 * refusal of its retry for a failed commit (issue #21: at 256 nodes two trainers did, and never delivered their
 * committed updates). On Hardhat's simulated chain: the retry of a landed commit is refused `AlreadyCommitted`,
 * and `committedOnChain` (what the trainer asks before it gives up) finds the commit in; another commitment, or
 * a trainer that never committed, is not.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Account, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { committedOnChain } from "../../node/protocol/round/unsent-commit.ts";
import type { ReadRoundCommits } from "../../node/protocol/round/unsent-commit.ts";
import { fundStakeAndOpenRound } from "../../scripts/support/round-fixture.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const [deployer, trainer, other] = (await viem.getWalletClients()) as unknown as [Wallet, Wallet, Wallet];

describe("a commit that landed unseen is found on chain", () => {
  it("refuses the retry, and committedOnChain finds the commit", async () => {
    const deployment = await deployProtocol({ publicClient, walletClient: deployer });
    const contracts = protocolAddresses(deployment);
    const { roundId } = await fundStakeAndOpenRound(
      { publicClient, treasury: deployer, contracts },
      {
        operators: [trainer, other],
        tokensWei: 1_000n * 10n ** 18n,
        stakeWei: 500n * 10n ** 18n,
        task: { modelRef: ("0x" + "11".repeat(32)) as Hex, parameters: 200, rewardPerRoundWei: 10n ** 18n },
        fundWei: 10n ** 20n,
      },
    );
    const id = roundId!;
    const root = ("0x" + "ab".repeat(32)) as Hex;
    const hash = await trainer.writeContract({
      address: contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "commitUpdate",
      args: [id, root, 100n],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    // The retry a trainer sends when it missed the receipt: refused, because the first one is in.
    const retry = await publicClient
      .simulateContract({
        account: trainer.account,
        address: contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "commitUpdate",
        args: [id, root, 100n],
      })
      .then(
        () => "accepted",
        (error: unknown) => String(error),
      );
    expect(retry).to.contain("AlreadyCommitted");
    const read: ReadRoundCommits = (r) =>
      publicClient.readContract({
        address: contracts.rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [r],
      });
    const me = trainer.account.address.toLowerCase();
    expect(await committedOnChain(read, id, me, root)).to.equal(true);
    expect(
      await committedOnChain(
        read,
        id,
        me.toUpperCase().replace("0X", "0x"),
        root.toUpperCase().replace("0X", "0x") as Hex,
      ),
    ).to.equal(true);
    expect(await committedOnChain(read, id, me, ("0x" + "cd".repeat(32)) as Hex)).to.equal(
      false,
      "another update",
    );
    expect(await committedOnChain(read, id, other.account.address, root)).to.equal(false, "never committed");
    expect(await committedOnChain(read, id + 1n, me, root)).to.equal(false, "no such round");
  });
});
