/**
 * The short soak (the full one is `npm run bench:soak`): a real chain behind a TCP proxy and three `vain-node`
 * processes run rounds unattended while a node is SIGKILLed and restarted in one round and the round's
 * aggregator is SIGKILLed, its data directory wiped (keys kept), and restarted while its round is challenged in
 * another (it must pull the updates back from its peers, rebuild its aggregation and answer the sampled
 * challenges). Asserts the soak's goals, so it fails when they are missed: every
 * round after the cold start finalizes, none is stuck, no node crashes, no node is slashed. (An aggregator killed
 * before it posts misses its deadline and is slashed by design: the full soak reports that case.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { DEFAULT_WINDOWS } from "./network.ts";
import { runSoak } from "./run.ts";

const CHAIN_PORT = 18781;
const ROUNDS = 3;

describe("short soak: rounds survive node kills and a wiped aggregator", { timeout: 600_000 }, () => {
  it(`finalizes ${ROUNDS} rounds with a node and the aggregator killed on the way`, async () => {
    const log: string[] = [];
    const result = await runSoak({
      nodes: 3,
      rounds: ROUNDS,
      windows: DEFAULT_WINDOWS,
      chainPort: CHAIN_PORT,
      seed: 7,
      gap: 0,
      budgetMs: 420_000,
      faults: ["kill-30pct", "wipe-aggregator"],
      only: [
        { kind: "kill-30pct", phase: "open" },
        { kind: "wipe-aggregator", phase: "challenging" },
      ],
      log: (line) => log.push(line),
    });
    const report = () =>
      `${log.join("\n")}\n${result.crashes.map((c) => `--- crash of node ${c.node}\n${c.tail}`).join("\n")}`;
    const closed = result.rounds.filter((r) => r.closedAt !== undefined);
    assert.ok(closed.length >= ROUNDS, `only ${closed.length} rounds closed\n${report()}`);
    // The first round is the cold start (nodes loading, first training): every round after it must finalize.
    const judged = closed.filter((r) => !result.warmup.includes(r.id));
    assert.equal(result.faults.length, 2, `both faults injected\n${report()}`);
    assert.deepEqual(
      judged.filter((r) => r.phase !== "finalized").map((r) => Number(r.id)),
      [],
      `rounds that failed\n${report()}`,
    );
    assert.deepEqual(
      result.rounds.filter((r) => r.stuck).map((r) => Number(r.id)),
      [],
      `stuck rounds\n${report()}`,
    );
    assert.equal(result.crashes.length, 0, `node crashes\n${report()}`);
    assert.deepEqual(result.slashes, [], `slashed nodes\n${report()}`);
  });
});
