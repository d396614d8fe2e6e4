/**
 * A trainer that finds its round full (`RoundFull`: its stake beats none of the round's trainers) retries on its
 * next tick by resending the update it already trained and compressed, not by training again (issue #21). A
 * retrain would redo the work on every tick of the commit window and advance the compressor's error-feedback
 * residual and the local optimizer for updates that were never committed. 3 real nodes, equal stakes, a round
 * capped at 2 trainers: the last committer is turned away on every tick (stakes count as of the round's opening,
 * so its retries cannot win in a round this small; in a round above 16 trainers each block draws another 16
 * slots to compare, and a retry can), and each retry resends the update it trained once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";
import type { Hex } from "viem";

import { openRound } from "../chain/actions/open-round.ts";
import { trainingRoundsAbi } from "../chain/contracts.ts";
import { setAggregators, startLocalVainNetwork, waitFor } from "./network.ts";
import type { LocalVainNetwork } from "./network.ts";

const PORT = 18897;
const NODES = 3;
/** Refused commits of the turned-away trainer the test waits for before it lets the trainer in. */
const REFUSALS = 3;

/** The nodes' warnings as parsed records: the refused commits are read from them. */
interface LogRecord {
  readonly node?: number;
  readonly msg?: string;
  readonly commitment?: Hex;
  readonly err?: { readonly message?: string };
}

describe("a trainer turned away by a full round resends its update", { timeout: 600_000 }, () => {
  let net: LocalVainNetwork;
  const trainings = Array.from({ length: NODES }, () => 0);
  const records: LogRecord[] = [];

  before(async () => {
    const log = pino(
      { level: "warn" },
      { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) },
    );
    net = await startLocalVainNetwork({
      nodes: NODES,
      port: PORT,
      trainers: NODES,
      maxTrainersPerRound: NODES - 1,
      pollIntervalMs: 300,
      spec: { train: { epochs: 1, batchSize: 32, learningRate: 0.1 } },
      // Each node's training runs, counted as they finish (the gate lets every run through at once).
      trainingGates: Object.fromEntries(
        trainings.map((_, i) => [i, async () => void (trainings[i]! += 1)] as const),
      ),
      log,
    });
  });

  after(async () => {
    await net?.stop();
  });

  it("trains once and resends the same commitment on every refused retry", async () => {
    await setAggregators(net, [0]);
    const on = { address: net.contracts.rounds, abi: trainingRoundsAbi } as const;
    const { roundId } = await openRound(
      { publicClient: net.publicClient, walletClient: net.treasury, contracts: net.contracts },
      { taskId: net.taskId },
    );
    const full = await waitFor("a full round", 300_000, async () => {
      const round = await net.publicClient.readContract({ ...on, functionName: "getRound", args: [roundId] });
      return round.trainers.length === NODES - 1 ? round : undefined;
    });
    const inRound = new Set(full.trainers.map((t) => t.toLowerCase()));
    const loser = net.nodes.find((n) => !inRound.has(n.account.address.toLowerCase()))!;
    const refused = () => records.filter((r) => r.node === loser.index && r.msg === "training/commit failed");
    await waitFor(`${REFUSALS} refused commits of node ${loser.index}`, 120_000, async () =>
      refused().length >= REFUSALS ? true : undefined,
    );
    assert.equal(trainings[loser.index], 1, "the refused trainer trained once, not once per retry");
    const tried = new Set(refused().map((r) => r.commitment));
    assert.equal(tried.size, 1, "every retry sent the same commitment");
    assert.match(String([...tried][0]), /^0x[0-9a-f]{64}$/, "the refused commit names its commitment");
    // The operator is told why: the contract's decoded revert, not only "not accepted".
    for (const record of refused())
      assert.match(
        record.err?.message ?? "",
        /not accepted in round \d+: commitUpdate failed: the round already has its 2 trainers .* \(RoundFull\)/,
      );
  });
});
