/**
 * A node's round transaction costs one check, not two (rounds-gateway.ts `send`): eth_estimateGas both refuses
 * a call that would revert, with the contract's error, and prices one that would not, so the node sends no
 * eth_call simulation before it (the gas margin of b49d125 had made it simulate, then estimate, then send). On
 * Hardhat's simulated chain through a transport that counts the JSON-RPC methods the gateway asks for: a commit
 * lands after one estimate and no eth_call; the same commit again is refused `AlreadyCommitted`, by the
 * estimate, and nothing is sent.
 */
import { expect } from "chai";
import { network } from "hardhat";
import pino from "pino";
import { createPublicClient, createWalletClient, custom } from "viem";
import type { Account, Chain, EIP1193RequestFn, Hex, PublicClient, Transport, WalletClient } from "viem";

import { trainingRoundsAbi } from "../../node/chain/contracts.ts";
import { deployProtocol } from "../../node/chain/deploy.ts";
import { protocolAddresses } from "../../node/chain/operator.ts";
import { RoundsGateway } from "../../node/protocol/round/rounds-gateway.ts";
import { fundStakeAndOpenRound } from "../../scripts/support/round-fixture.ts";

type Wallet = WalletClient<Transport, Chain, Account>;

const { viem, provider } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient<Transport, Chain>;
const [deployer, trainer] = (await viem.getWalletClients()) as unknown as [Wallet, Wallet];

describe("a round transaction's round trips", () => {
  it("commits after one estimate and no simulation; a refused commit sends nothing", async () => {
    const deployment = await deployProtocol({ publicClient, walletClient: deployer });
    const contracts = protocolAddresses(deployment);
    const { roundId } = await fundStakeAndOpenRound(
      { publicClient, treasury: deployer, contracts },
      {
        operators: [trainer],
        tokensWei: 1_000n * 10n ** 18n,
        stakeWei: 500n * 10n ** 18n,
        task: { modelRef: ("0x" + "11".repeat(32)) as Hex, parameters: 200, rewardPerRoundWei: 10n ** 18n },
        fundWei: 10n ** 20n,
      },
    );
    const asked = new Map<string, number>();
    // No transport retries: Hardhat's in-process provider throws reverts as plain errors, which viem's custom
    // transport wraps as unknown (code -1) and retries 3 times; over HTTP (the node's transport) a revert comes
    // as JSON-RPC error 3 and is not retried. The counts are then the node's own requests.
    const counting = custom(
      {
        request: ((args: { method: string; params?: unknown }) => {
          asked.set(args.method, (asked.get(args.method) ?? 0) + 1);
          return provider.request(args as Parameters<typeof provider.request>[0]);
        }) as EIP1193RequestFn,
      },
      { retryCount: 0 },
    );
    const chain = publicClient.chain;
    const gateway = new RoundsGateway({
      publicClient: createPublicClient({ chain, transport: counting, pollingInterval: 50 }),
      wallet: createWalletClient({ account: trainer.account, chain, transport: counting }),
      contracts,
      taskId: 1n,
      log: pino({ level: "silent" }),
    });
    const root = ("0x" + "ab".repeat(32)) as Hex;
    expect(await gateway.trySend("commitUpdate", [roundId!, root, 100n])).to.deep.equal({ sent: true });
    expect([
      asked.get("eth_call") ?? 0,
      asked.get("eth_estimateGas"),
      asked.get("eth_sendTransaction"),
    ]).to.deep.equal([0, 1, 1]);
    const round = await publicClient.readContract({
      address: contracts.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId!],
    });
    expect(round.commitments).to.deep.equal([root]);
    asked.clear();
    const again = await gateway.trySend("commitUpdate", [roundId!, root, 100n]);
    expect(again.sent).to.equal(false);
    expect(again.sent ? "" : again.reason).to.contain("AlreadyCommitted");
    expect([
      asked.get("eth_call") ?? 0,
      asked.get("eth_estimateGas"),
      asked.get("eth_sendTransaction") ?? 0,
    ]).to.deep.equal([0, 1, 0]);
  });
});
