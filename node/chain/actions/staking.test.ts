/**
 * The registry's rules as an operator meets them, on a real `hardhat node` (port 18650): a stake below the
 * minimum says the operator is inactive, a failed approve + stake leaves no allowance behind, a refused
 * permit reports its own error, a second unstake never delays the first, binding needs the minimum stake,
 * and the start-up readiness check names each problem with its fix.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { parseEther } from "viem";
import type { Account, Address, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount, toAccount } from "viem/accounts";

import { fundOperator, startLocalNetwork, walletFor } from "../../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../../scripts/support/local-network.ts";
import { vainTokenAbi } from "../contracts.ts";
import { readOperatorStatus } from "../operator-status.ts";
import { TransactionRevertedError } from "../revert.ts";
import {
  bindPeerId,
  operatorReadinessWarnings,
  readOperatorReadiness,
  requestUnstake,
  stake,
  withdraw,
} from "./index.ts";
import type { ChainWriteClient } from "./index.ts";
import { devRpc } from "../dev-rpc.ts";

const PORT = 18650;

describe("staking rules an operator meets (real hardhat node)", { timeout: 240_000 }, () => {
  let net: LocalNetwork;

  before(async () => {
    net = await startLocalNetwork(PORT);
  });
  after(async () => {
    await net?.stop();
  });

  async function clientFor(account: Account): Promise<ChainWriteClient> {
    const walletClient = await walletFor(net, account as LocalAccount);
    return { publicClient: net.publicClient, walletClient, contracts: net.addresses, rpcUrl: net.rpcUrl };
  }

  async function allowance(owner: Address): Promise<bigint> {
    return net.publicClient.readContract({
      address: net.addresses.token,
      abi: vainTokenAbi,
      functionName: "allowance",
      args: [owner, net.addresses.registry],
    });
  }

  async function rpc(method: string, params: unknown[] = []): Promise<void> {
    await devRpc(net.rpcUrl, method, params);
  }

  /** Moves the chain clock forward by `seconds` and mines a block at the new time. */
  async function advance(seconds: bigint): Promise<void> {
    await rpc("evm_increaseTime", [Number(seconds)]);
    await rpc("evm_mine");
  }

  /** Moves the chain clock to `timestamp` itself: an offset from an older block falls short by the seconds the
   * wall clock moved meanwhile (CI at load 8 missed a release time by that drift). */
  async function advanceTo(timestamp: bigint): Promise<void> {
    const latest = await net.publicClient.getBlock();
    if (timestamp > latest.timestamp) await advance(timestamp - latest.timestamp);
  }

  it("says the operator is inactive when its stake stays below the minimum", async () => {
    const account = await fundOperator(net, parseEther("500"));
    const below = await stake(await clientFor(account), { amountWei: parseEther("40") });
    assert.equal(below.isActive, false);
    assert.equal(below.minStakeWei, parseEther("100"));
    assert.equal(below.activeStakeWei, parseEther("40"));
    const topped = await stake(await clientFor(account), { amountWei: parseEther("60") });
    assert.equal(topped.isActive, true);
  });

  it("--no-permit: a stake that fails after the approval puts the allowance back as it was", async () => {
    const account = await fundOperator(net, parseEther("50"));
    const client = await clientFor(account);
    // A standing allowance of 5 that the failed stake must not change.
    const hash = await client.walletClient.writeContract({
      address: net.addresses.token,
      abi: vainTokenAbi,
      functionName: "approve",
      args: [net.addresses.registry, parseEther("5")],
    });
    await net.publicClient.waitForTransactionReceipt({ hash });
    const failed = await stake(client, { amountWei: parseEther("80"), usePermit: false }).catch(
      (e: unknown) => e,
    );
    assert.ok(failed instanceof TransactionRevertedError, String(failed));
    assert.equal(failed.errorName, "ERC20InsufficientBalance");
    assert.equal(await allowance(account.address), parseEther("5"), "allowance restored");
  });

  it("reports a permit signed by the wrong key as such, without falling back to approve", async () => {
    const account = await fundOperator(net, parseEther("200"));
    const impostor = privateKeyToAccount(generatePrivateKey());
    // An account whose typed-data signer is another key: the token refuses the permit.
    const wrongSigner = toAccount({
      address: account.address,
      signMessage: (args) => account.signMessage(args),
      signTransaction: (tx, options) => account.signTransaction(tx, options),
      signTypedData: (data) => impostor.signTypedData(data as never),
    });
    const failed = await stake(await clientFor(wrongSigner), { amountWei: parseEther("150") }).catch(
      (e: unknown) => e,
    );
    assert.ok(failed instanceof TransactionRevertedError, String(failed));
    assert.equal(failed.errorName, "ERC2612InvalidSigner");
    assert.match(failed.shortMessage, /the permit signature is not the operator's/);
    assert.equal(await allowance(account.address), 0n, "no approve was sent");
  });

  it("a second unstake keeps the first one's release time; withdraw pays each when due", async () => {
    const account = await fundOperator(net, parseEther("300"));
    const client = await clientFor(account);
    await stake(client, { amountWei: parseEther("300") });
    const first = await requestUnstake(client, { amountWei: parseEther("100") });
    await advance(3_600n);
    const second = await requestUnstake(client, { amountWei: parseEther("50") });
    assert.equal(second.releaseTime >= first.releaseTime + 3_600n, true);
    assert.equal(second.unbondingStakeWei, parseEther("150"));
    await advanceTo(first.releaseTime);
    const status = await readOperatorStatus({ ...client, deployment: net.deployment }, account.address, 1n);
    assert.deepEqual(
      status.unbondingRequests.map((r) => [r.amountWei, r.releaseTime]),
      [
        [parseEther("100"), first.releaseTime],
        [parseEther("50"), second.releaseTime],
      ],
    );
    assert.equal(status.withdrawableStakeWei, parseEther("100"), "status: only the first is withdrawable");
    const paidFirst = await withdraw(client);
    assert.equal(paidFirst.amountWei, parseEther("100"), "the first request, on its own time");
    const early = await withdraw(client).catch((e: unknown) => e);
    assert.equal((early as { releaseTime?: bigint }).releaseTime, second.releaseTime);
    await advanceTo(second.releaseTime);
    assert.equal((await withdraw(client)).amountWei, parseEther("50"));
  });

  it("refuses to bind without the minimum stake, and the readiness check names each problem", async () => {
    const account = await fundOperator(net, parseEther("300"));
    const client = await clientFor(account);
    const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    const readiness = () => readOperatorReadiness(client, { operator: account.address, peerId });

    const unstaked = await readiness();
    assert.deepEqual(
      unstaked.warnings.map((w) => w.code),
      ["UNSTAKED", "UNBOUND"],
    );
    assert.match(unstaked.warnings[0]!.message, /vain-node stake 100\.0/);
    await stake(client, { amountWei: parseEther("30") });
    const refused = await bindPeerId(client, { peerId }).catch((e: unknown) => e);
    assert.ok(refused instanceof TransactionRevertedError, String(refused));
    assert.equal(refused.errorName, "InsufficientStakeToBind");
    const below = await readiness();
    assert.deepEqual(
      below.warnings.map((w) => w.code),
      ["BELOW_MIN_STAKE", "UNBOUND"],
    );
    assert.match(below.warnings[0]!.message, /stake 70\.0 VAIN more/);

    await stake(client, { amountWei: parseEther("70") });
    await bindPeerId(client, { peerId });
    const ready = await readiness();
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.warnings, []);

    // Another node's key: bound elsewhere.
    const otherPeer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    const elsewhere = await readOperatorReadiness(client, { operator: account.address, peerId: otherPeer });
    assert.deepEqual(
      elsewhere.warnings.map((w) => w.code),
      ["BOUND_TO_ANOTHER_PEER_ID"],
    );
  });
});

describe("operatorReadinessWarnings", () => {
  const operator = "0x00000000000000000000000000000000000A11cE" as Address;
  const other = "0x0000000000000000000000000000000000000B0B" as Address;
  const facts = {
    operator,
    peerId: "12D3KooWtest",
    activeStakeWei: parseEther("100"),
    unbondingStakeWei: 0n,
    minStakeWei: parseEther("100"),
    boundPeerId: "12D3KooWtest",
    peerIdOperator: operator,
  };

  it("is empty for an active operator bound to this node's peer ID", () => {
    assert.deepEqual(operatorReadinessWarnings(facts), []);
  });

  it("names a peer ID held by another operator, and unbonding stake of an unstaked operator", () => {
    const warnings = operatorReadinessWarnings({
      ...facts,
      activeStakeWei: 0n,
      unbondingStakeWei: parseEther("100"),
      boundPeerId: null,
      peerIdOperator: other,
    });
    assert.deepEqual(
      warnings.map((w) => w.code),
      ["UNSTAKED", "PEER_ID_HELD_BY_ANOTHER_OPERATOR"],
    );
    assert.match(warnings[0]!.message, /100\.0 VAIN is unbonding/);
    assert.match(warnings[1]!.message, new RegExp(other));
  });
});
