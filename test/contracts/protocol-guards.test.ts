/**
 * The protocol's guards, driven with viem on Hardhat's simulated network: staking with an EIP-2612 permit (and
 * refusing a bad or expired one), a token that re-enters the stake registry, and a deployer that is not the slasher.
 */
import { expect } from "chai";
import { parseAbi, parseEther, zeroAddress } from "viem";
import type { Hex } from "viem";

import { stakeRegistryAbi } from "../../node/chain/contracts.ts";
import {
  deployerWallet,
  expectRejected,
  networkHelpers,
  publicClient,
  send,
  t1Wallet,
  t2Wallet,
  useProtocol,
  viem,
} from "./support/protocol-fixture.ts";

const reentrantTokenAbi = parseAbi([
  "function approve(address spender, uint256 value) returns (bool)",
  "function arm(address target, bytes payload)",
  "function reentered() view returns (bool)",
  "function lastRevert() view returns (bytes)",
  "function balanceOf(address) view returns (uint256)",
]);

describe("vAIn protocol guards", function () {
  this.timeout(120_000);
  const p = useProtocol();

  it("stakes with a permit in one transaction", async () => {
    await send(p.stakeWithPermit(t1Wallet, parseEther("150")));
    const stake = await publicClient.readContract({
      address: p.registry,
      abi: stakeRegistryAbi,
      functionName: "activeStake",
      args: [t1Wallet.account.address],
    });
    expect(stake).to.equal(parseEther("150"));
  });

  it("rejects permits with a bad signature or an expired deadline", async () => {
    // Signed by someone else: the permit fails, no allowance exists, and the permit's own error surfaces.
    await expectRejected(p.stakeWithPermit(t1Wallet, parseEther("150"), t2Wallet), /ERC2612InvalidSigner/);
    await expectRejected(
      p.stakeWithPermit(t1Wallet, parseEther("150"), t1Wallet, 0n - 10n),
      /ERC2612ExpiredSignature/,
    );
  });

  it("cannot be re-entered through a malicious token", async () => {
    const malicious = await viem.deployContract("ReentrantToken");
    const victim = await viem.deployContract("StakeRegistry", [
      malicious.address,
      deployerWallet.account.address,
      1n,
      86_400n,
      0n,
    ]);
    const m = { address: malicious.address, abi: reentrantTokenAbi } as const;
    const v = { address: victim.address, abi: stakeRegistryAbi } as const;
    // Staking opens once the (fixed-once) slasher is set; nothing is slashed here.
    await send(deployerWallet.writeContract({ ...v, functionName: "setSlasher", args: [malicious.address] }));
    await send(
      deployerWallet.writeContract({ ...m, functionName: "approve", args: [victim.address, 1000n] }),
    );
    await send(deployerWallet.writeContract({ ...v, functionName: "stake", args: [1000n] }));
    await send(deployerWallet.writeContract({ ...v, functionName: "requestUnstake", args: [1000n] }));
    await networkHelpers.time.increase(86_400);
    // During withdraw's token transfer the token calls withdraw() again.
    await send(
      deployerWallet.writeContract({ ...m, functionName: "arm", args: [victim.address, "0x3ccfd60b"] }),
    );
    await send(deployerWallet.writeContract({ ...v, functionName: "withdraw" }));
    expect(await publicClient.readContract({ ...m, functionName: "reentered" })).to.equal(true);
    const revertData = await publicClient.readContract({ ...m, functionName: "lastRevert" });
    expect(revertData.slice(0, 10)).to.equal("0x3ee5aeb5"); // ReentrancyGuardReentrantCall()
    expect(
      await publicClient.readContract({ ...m, functionName: "balanceOf", args: [victim.address] }),
    ).to.equal(0n);
  });

  it("pays nothing to anyone when the deployer is not the slasher", async () => {
    expect(
      await publicClient.readContract({
        address: p.registry,
        abi: stakeRegistryAbi,
        functionName: "slasher",
      }),
    ).to.equal(p.rounds);
    await expectRejected(
      deployerWallet.writeContract({
        address: p.registry,
        abi: stakeRegistryAbi,
        functionName: "slash",
        args: [t1Wallet.account.address, 1n, 1, ("0x" + "00".repeat(32)) as Hex, zeroAddress],
      }),
      /NotSlasher/,
    );
  });
});
