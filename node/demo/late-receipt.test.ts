/**
 * A trainer whose commit transaction is mined after it stopped waiting for the receipt still delivers its update
 * (issue #21): at 256 nodes two trainers' commits landed unseen, every retry was refused `AlreadyCommitted`, they
 * took that for a failed commit and never delivered, and the aggregator waited for them past its deadline. The
 * trainer now asks the chain whether the round holds its commitment before it gives up (`committedOnChain`).
 *
 * 3 real nodes on a real chain, no clock guesses: the test holds the chain (automining and interval mining off)
 * before the late trainer sends its commit, so the transaction sits unmined until that trainer's receipt wait
 * (2 s here, viem's 180 s by default) has ended in a failed commit; then it lets the chain mine. The commit is
 * in, the retries are refused, and the trainer's update must still be weighted in the posted aggregate.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";

import { openRound } from "../chain/actions/open-round.ts";
import { LOCAL_BLOCK_INTERVAL_MS } from "../chain/constants.ts";
import { RoundState, trainingRoundsAbi } from "../chain/contracts.ts";
import { devRpc } from "../chain/dev-rpc.ts";
import { advancePast, setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";

const PORT = 18931;
const NODES = 3;
/** The trainer whose commit is mined late. */
const LATE = 2;
/** Its receipt wait (ms): ends, with the chain held, in a commit it takes for failed. */
const LATE_RECEIPT_TIMEOUT_MS = 2_000;

interface LogRecord {
  readonly node?: number;
  readonly msg?: string;
  readonly err?: { readonly message?: string };
}

describe("a commit mined after its trainer stopped waiting", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;
  const records: LogRecord[] = [];
  let releaseTraining: () => void = () => undefined;
  const trainingHeld = new Promise<void>((resolve) => (releaseTraining = resolve));

  before(async () => {
    const log = pino(
      { level: "warn" },
      { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) },
    );
    net = await startLocalVainNetwork({
      nodes: NODES,
      port: PORT,
      trainers: NODES,
      maxTrainersPerRound: NODES,
      pollIntervalMs: 300,
      spec: { train: { epochs: 1, batchSize: 32, learningRate: 0.1 } },
      // The late trainer's training returns only once the test holds the chain: its commit is sent into it.
      trainingGates: { [LATE]: () => trainingHeld },
      receiptTimeoutMs: { [LATE]: LATE_RECEIPT_TIMEOUT_MS },
      log,
    });
  });

  after(async () => {
    releaseTraining();
    if (net !== undefined) await letChainMine(net).catch(() => undefined);
    await net?.stop();
  });

  it("is found on chain, and the trainer delivers its update", async () => {
    await setAggregators(net, [0]);
    const on = { address: net.contracts.rounds, abi: trainingRoundsAbi } as const;
    const read = (roundId: bigint) =>
      net.publicClient.readContract({ ...on, functionName: "getRound", args: [roundId] });
    const { roundId } = await openRound(
      { publicClient: net.publicClient, walletClient: net.treasury, contracts: net.contracts },
      { taskId: net.taskId },
    );
    await waitFor("the other two commits", 300_000, async () =>
      (await read(roundId)).trainers.length === NODES - 1 ? true : undefined,
    );
    // Hold the chain, then let the late trainer commit into it.
    await devRpc(net.chain.rpcUrl, "evm_setAutomine", [false]);
    await devRpc(net.chain.rpcUrl, "evm_setIntervalMining", [0]);
    releaseTraining();
    const gaveUp = await waitFor(`node ${LATE}'s receipt wait to end in a failed commit`, 300_000, async () =>
      records.find((r) => r.node === LATE && r.msg === "training/commit failed"),
    );
    assert.match(gaveUp.err?.message ?? "", /not accepted in round/);
    const late = net.nodes[LATE]!.account.address.toLowerCase();
    assert.ok(
      !(await read(roundId)).trainers.some((t) => t.toLowerCase() === late),
      "the premise: its commit is not mined yet",
    );

    await letChainMine(net);
    const committed = await waitFor("its commit, mined late", 120_000, async () => {
      const round = await read(roundId);
      return round.trainers.length === NODES ? round : undefined;
    });
    await advancePast(net, committed.commitDeadline);
    const posted = await waitFor("the aggregate", 300_000, async () => {
      const round = await read(roundId);
      return round.state === RoundState.Challenging || round.state === RoundState.Finalized
        ? round
        : undefined;
    });
    const index = posted.trainers.findIndex((t) => t.toLowerCase() === late);
    assert.ok(index >= 0);
    assert.ok(
      posted.weights[index]! > 0n,
      `the late committer's update was weighted: ${posted.weights.join(",")}`,
    );
  });
});

/** The chain mines again: on every transaction and at its usual interval (as hardhat-process.ts starts it). */
async function letChainMine(net: LocalVainNetwork): Promise<void> {
  await devRpc(net.chain.rpcUrl, "evm_setAutomine", [true]);
  await devRpc(net.chain.rpcUrl, "evm_setIntervalMining", [LOCAL_BLOCK_INTERVAL_MS]);
}
