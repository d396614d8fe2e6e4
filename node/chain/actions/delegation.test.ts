/**
 * Delegation on a real network (issue #24): a real `hardhat node`, 3 real nodes training MNIST with real
 * Groth16 proofs. Two token holders delegate to node 1 (10% commission); node 1 trains and earns, then
 * equivocates and is slashed. The delegators' rewards and remaining stake match the contract's formulas to
 * the wei, computed here from the stakes and shares read at the block before each credit and slash.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";
import { createWalletClient, http, parseEther } from "viem";
import type { Address, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import type { AdversarialBehaviour } from "../../adversary/index.ts";
import { stakeRegistryAbi, vainTokenAbi } from "../contracts.ts";
import { advanceChainTime, setAggregators, startLocalVainNetwork } from "../../demo/network.ts";
import type { LocalVainNetwork } from "../../demo/network.ts";
import { runRound } from "../../demo/rounds.ts";
import {
  claimDelegationRewards,
  delegate,
  readDelegations,
  readOperators,
  sendEther,
  setCommission,
  transferTokens,
  undelegate,
} from "./index.ts";
import type { ChainWriteClient } from "./index.ts";

const PORT = 18770;
const REWARD = parseEther("100");
const OPERATOR = 1;
const COMMISSION_BPS = 1_000n;
const SHARE_OFFSET = 10n ** 6n;
const PRECISION = 10n ** 36n;

describe("delegation on a live network (chain process + 3 nodes + zk)", { timeout: 900_000 }, () => {
  let net: LocalVainNetwork;
  const switches: { -readonly [K in keyof AdversarialBehaviour]: AdversarialBehaviour[K] }[] = Array.from(
    { length: 3 },
    () => ({}),
  );
  const alice: LocalAccount = privateKeyToAccount(generatePrivateKey());
  const bob: LocalAccount = privateKeyToAccount(generatePrivateKey());

  before(async () => {
    net = await startLocalVainNetwork({
      nodes: 3,
      port: PORT,
      rewardPerRound: REWARD,
      log: pino({ level: process.env["VAIN_TEST_LOG"] ?? "silent" }, pino.destination(2)),
      behaviours: Object.fromEntries(switches.map((s, i) => [i, s])),
      spec: { train: { epochs: 1, batchSize: 32, learningRate: 0.1 } },
    });
  });

  after(async () => {
    await net?.stop();
  });

  const operator = (): Address => net.nodes[OPERATOR]!.account.address;
  const treasury = (): ChainWriteClient => ({
    publicClient: net.publicClient,
    walletClient: net.treasury,
    contracts: net.contracts,
  });
  const clientOf = (account: LocalAccount): ChainWriteClient => ({
    publicClient: net.publicClient,
    walletClient: createWalletClient({
      account,
      chain: net.publicClient.chain,
      transport: http(net.chain.rpcUrl),
    }),
    contracts: net.contracts,
  });
  const pool = (blockNumber: bigint) =>
    net.publicClient.readContract({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "poolOf",
      args: [operator()],
      blockNumber,
    });
  const sharesOf = async (who: Address) =>
    (
      await net.publicClient.readContract({
        address: net.contracts.registry,
        abi: stakeRegistryAbi,
        functionName: "positionOf",
        args: [operator(), who],
      })
    ).shares;

  it("delegators earn through the operator's node exactly by the formula", async () => {
    for (const who of [alice, bob]) {
      await sendEther(treasury(), { to: who.address, amountWei: parseEther("1") });
      await transferTokens(treasury(), { to: who.address, amountWei: parseEther("1000") });
    }
    const opClient: ChainWriteClient = {
      publicClient: net.publicClient,
      walletClient: net.nodes[OPERATOR]!.wallet as ChainWriteClient["walletClient"],
      contracts: net.contracts,
    };
    const set = await setCommission(opClient, { bps: COMMISSION_BPS });
    assert.equal(set.pendingBps, COMMISSION_BPS, "a raise waits");
    await advanceChainTime(net, set.effectiveAt - (await net.publicClient.getBlock()).timestamp);
    await delegate(clientOf(alice), { operator: operator(), amountWei: parseEther("300") });
    await delegate(clientOf(bob), { operator: operator(), amountWei: parseEther("200"), usePermit: false });
    const directory = await readOperators(net);
    const entry = directory.find((o) => o.operator === operator());
    assert.equal(entry?.delegatedStakeWei, parseEther("500"));
    assert.equal(entry?.commissionBps, COMMISSION_BPS);

    await setAggregators(net, [0]);
    const report = await runRound(net, 1);
    assert.equal(report.state, "finalized");
    const [split] = await net.publicClient.getContractEvents({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      eventName: "RewardsSplit",
      args: { operator: operator() },
      fromBlock: 0n,
    });
    assert.ok(split !== undefined, "the operator's reward was split");
    const amount = split.args.amount!;
    const before = split.blockNumber - 1n;
    const self = await net.publicClient.readContract({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "selfStake",
      args: [operator()],
      blockNumber: before,
    });
    const p = await pool(before);
    const commission = (amount * COMMISSION_BPS) / 10_000n;
    const toDelegators = ((amount - commission) * p.activeAmount) / (self + p.activeAmount);
    assert.equal(split.args.commission, commission, "commission");
    assert.equal(split.args.toDelegators, toDelegators, "delegators' part");
    assert.equal(report.rewards.get(operator()), amount - toDelegators, "the operator is credited the rest");
    const perShare = (toDelegators * PRECISION) / p.activeShares;
    for (const who of [alice, bob]) {
      const expected = ((await sharesOf(who.address)) * perShare) / PRECISION;
      const [position] = await readDelegations(net, { delegator: who.address });
      assert.equal(position?.rewardsWei, expected, "rewards to the wei");
    }
    const balance = () =>
      net.publicClient.readContract({
        address: net.contracts.token,
        abi: vainTokenAbi,
        functionName: "balanceOf",
        args: [alice.address],
      });
    const held = await balance();
    const claimed = await claimDelegationRewards(clientOf(alice), { operator: operator() });
    assert.equal((await balance()) - held, claimed.amountWei, "claimed what was owed");
  });

  it("a slash of the operator hits active and unbonding delegation pro rata, to the wei", async () => {
    await undelegate(clientOf(bob), { operator: operator(), amountWei: parseEther("100") });
    switches[OPERATOR]!.equivocate = true;
    const report = await runRound(net, 2);
    switches[OPERATOR]!.equivocate = false;
    assert.ok((report.slashed.get(operator()) ?? 0n) > 0n, "the equivocating operator is slashed");
    const [slashed] = await net.publicClient.getContractEvents({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      eventName: "Slashed",
      args: { operator: operator() },
      fromBlock: 0n,
    });
    const [hit] = await net.publicClient.getContractEvents({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      eventName: "DelegationSlashed",
      args: { operator: operator() },
      fromBlock: 0n,
    });
    assert.ok(slashed !== undefined && hit !== undefined, "the slash reached the pool");
    const before = slashed.blockNumber - 1n;
    const total = await net.publicClient.readContract({
      address: net.contracts.registry,
      abi: stakeRegistryAbi,
      functionName: "slashableStake",
      args: [operator()],
      blockNumber: before,
    });
    const p = await pool(before);
    const amount = slashed.args.amount!;
    const fromActive = (amount * p.activeAmount) / total;
    const fromUnbonding = (amount * p.unbondingAmount) / total;
    assert.equal(hit.args.fromActive, fromActive, "active delegation loses its share");
    assert.equal(hit.args.fromUnbonding, fromUnbonding, "unbonding delegation loses its share");
    const after = await pool(await net.publicClient.getBlockNumber());
    for (const who of [alice, bob]) {
      const position = await net.publicClient.readContract({
        address: net.contracts.registry,
        abi: stakeRegistryAbi,
        functionName: "positionOf",
        args: [operator(), who.address],
      });
      const [mine] = await readDelegations(net, { delegator: who.address });
      const active = (position.shares * (after.activeAmount + 1n)) / (after.activeShares + SHARE_OFFSET);
      const unbonding =
        (position.unbondingShares * (after.unbondingAmount + 1n)) / (after.unbondingShares + SHARE_OFFSET);
      assert.equal(mine?.activeWei, active, "active value to the wei");
      assert.equal(mine?.unbondingWei, unbonding, "unbonding value to the wei");
      assert.equal(mine?.slashes.length, 1, "the delegator sees the slash");
    }
  });
});
