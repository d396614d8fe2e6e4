/** The operator's event log on a real status source and a real pino logger: news once, history never. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import pino from "pino";

import { sampleStatus } from "../../test/support/status-api.ts";
import { MemoryStatusSource } from "../api/memory-source.ts";
import type { RoundStatus } from "../api/status.ts";
import { EventLog } from "./event-log.ts";

const ME = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const PEER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

describe("operator event log", () => {
  it("says selection, finalization, failure, slashes and rewards once, and nothing about replayed history", () => {
    const lines: { level: number; msg: string; reason?: string }[] = [];
    const log = pino(
      { level: "info" },
      { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
    );
    const source = new MemoryStatusSource(sampleStatus());
    const events = new EventLog({ source, operator: ME, log });
    events.start();
    const round = (roundId: string, phase: RoundStatus["phase"], aggregator?: string): RoundStatus => ({
      roundId,
      taskId: "1",
      phase,
      deadlines: {},
      trainers: 3,
      ...(aggregator === undefined ? {} : { aggregator: aggregator as `0x${string}` }),
    });
    // Replayed by the first poll: an old round this node aggregated, an old slash, an old reward.
    source.setRound(round("1", "finalized", ME));
    source.addSlash({ operator: ME, amount: "1", reason: "old", txHash: "0x01", blockNumber: "1" });
    events.reward(1n, 5n);
    assert.equal(lines.length, 0, "history is not news");
    events.live();

    source.setRound(round("2", "committing"));
    source.setRound(round("2", "aggregating", ME));
    source.setRound(round("2", "challenging", ME));
    source.setRound(round("2", "finalized", ME));
    source.setRound(round("2", "finalized", ME));
    source.setRound(round("3", "failed", PEER));
    source.addSlash({
      operator: ME,
      amount: "50000000000000000000",
      reason: "wrong aggregate",
      txHash: "0x02",
      blockNumber: "9",
    });
    source.addSlash({
      operator: PEER,
      amount: "1000000000000000000",
      reason: "missed aggregation",
      txHash: "0x03",
      blockNumber: "9",
    });
    events.reward(2n, 10n ** 19n);
    assert.deepEqual(
      lines.map((l) => l.msg),
      [
        "selected as aggregator of round 2",
        "round 2 finalized",
        "round 3 failed (no valid aggregate: the model is unchanged)",
        "this operator was slashed 50.0 VAIN: wrong aggregate",
        `operator ${PEER} slashed 1.0 VAIN: missed aggregation`,
        "reward credited: 10.0 VAIN for round 2 (claim with vain-node claim)",
      ],
    );
    assert.equal(lines[3]!.level, 50, "own slash is an error");
    assert.equal(lines[2]!.level, 40, "a failed round is a warning");
    events.stop();
  });
});
