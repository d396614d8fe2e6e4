/**
 * Two nodes draw a group epoch's seed at once on a chain with a mempool (Hardhat's simulated chain with automining
 * off, blocks mined by the test): the second finds the first one's arm pending and sends nothing, and both end with
 * the one seed (docs/protocol.md §7). Without the pending check the second node's arm, sent into the same block,
 * reverts: on a chain with 12 s blocks every node that found the seed missing within a block of the first did so.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";

import { drawGroupSeed } from "../../node/chain/actions/draw-group-seed.ts";
import { groupEpochAt, readGroupSeedDraw } from "../../node/chain/actions/read-group-seed.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";

type Wallet = WalletClient<Transport, Chain, Account>;
type DevRequest = (args: { method: string; params?: unknown[] }) => Promise<unknown>;

const { viem } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const [deployer, first, second] = (await viem.getWalletClients()) as unknown as [Wallet, Wallet, Wallet];
const request = publicClient.request as DevRequest;

/** Transactions `wallet` has sent, mined or pending. */
const sent = (wallet: Wallet) =>
  publicClient.getTransactionCount({ address: wallet.account.address, blockTag: "pending" });

/** Waits until `probe` holds, checking every 50 ms. */
async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("group seed draw: a step another node has in the mempool is not sent again", () => {
  it("a second drawer neither arms nor fixes while the first one's step is pending, and both get the one seed", async () => {
    const contracts = protocolAddresses(await deployProtocol({ publicClient, walletClient: deployer }));
    const client = (wallet: Wallet) => ({ publicClient, walletClient: wallet, contracts });
    const epoch = groupEpochAt((await publicClient.getBlock()).timestamp);
    const draw = (blockTag: "latest" | "pending") => readGroupSeedDraw(client(first), { epoch, blockTag });
    const mine = () => request({ method: "evm_mine" });
    await request({ method: "evm_setAutomine", params: [false] });
    try {
      const before = await sent(second);
      // The first node arms: its transaction waits in the mempool until the test mines.
      const firstDraw = drawGroupSeed(client(first), { spreadMs: 0 });
      await until(async () => (await draw("pending")).seedBlock !== 0n);
      expect((await draw("latest")).seedBlock).to.equal(0n, "the arm is not mined yet");
      // The second node finds the seed missing at the head, at once (no spread): it must see the pending arm.
      const stopSecond = new AbortController();
      const arming = drawGroupSeed(client(second), { spreadMs: 0, signal: stopSecond.signal });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await sent(second)).to.equal(before, "the second node sent an arm into the first one's block");
      stopSecond.abort();
      await arming.then(
        () => expect.fail("the second draw ended without a seed block"),
        (error: unknown) => expect((error as Error).name).to.equal("AbortError"),
      );
      // The arm, then blocks past the seed block: the first node, which named it, sends its fix at once.
      await mine();
      const { seedBlock } = await draw("latest");
      while ((await publicClient.getBlockNumber({ cacheTime: 0 })) <= seedBlock) await mine();
      await until(async () => (await draw("pending")).seed !== undefined);
      expect((await draw("latest")).seed).to.equal(undefined, "the fix is not mined yet");
      // A second node now finds the seed block mined and the seed unfixed at the head: the fix is pending.
      const fixing = drawGroupSeed(client(second), { spreadMs: 0 });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await sent(second)).to.equal(before, "the second node sent a fix into the first one's block");
      await mine();
      const [a, b] = await Promise.all([firstDraw, fixing]);
      expect(b.seed).to.equal(a.seed);
      expect(a.epoch).to.equal(epoch);
      expect(await sent(second)).to.equal(before, "the second node sent a draw step");
      expect(await sent(first)).to.equal(2, "the first node: one arm, one fix");
    } finally {
      await request({ method: "evm_setAutomine", params: [true] });
    }
  });
});
