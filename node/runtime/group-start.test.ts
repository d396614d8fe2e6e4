/**
 * `vain-node start` on a parent task with group tasks, as an operator runs it (docs/protocol.md §7, issue #21):
 * real processes set up by the CLI (`task create --groups 2`), each configured with the parent task. Each node
 * trains in its group and runs the parent task beside it (task-participants.ts): it volunteers to aggregate both,
 * a group round's leader commits its partial into the parent's round and delivers it, and the parent's round is
 * aggregated and finalized by the nodes alone, nobody slashed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { createPublicClient, http } from "viem";
import type { Address, Hex } from "viem";

import { RoundState, stakeRegistryAbi, trainingRoundsAbi } from "../chain/contracts.ts";
import type { ChainReadClient } from "../chain/actions/client.ts";
import { currentGroupSeed, groupIndexOf } from "../protocol/group-tasks.ts";
import { DEFAULT_WINDOWS, startNetwork } from "../../scripts/bench/soak/network.ts";
import type { SoakNetwork } from "../../scripts/bench/soak/network.ts";

const CHAIN_PORT = 18967;
const NODES = 4;
const PARENT_TASK = 1n;
const GROUPS = 2;
/** Keys are random: a set-up whose operators all hash into one group (1 in 8 with 4 nodes) is made again. */
const MAX_SETUPS = 4;
/** A parent round holds a whole group round in its commit window: a few minutes at the local defaults, more at load. */
const PARENT_ROUND_TIMEOUT_MS = 480_000;

describe("vain-node start on a parent task with groups", { timeout: 720_000 }, () => {
  let net: SoakNetwork;
  let seed: Hex;
  const logs: string[] = [];

  before(async () => {
    for (let setup = 1; ; setup++) {
      net = await start();
      // The nodes drew the group epoch's seed at start (or found it drawn).
      seed = (await currentGroupSeed(readClient()))!.seed;
      const groups = new Set(net.nodes.map((n) => groupIndexOf(n.address!, PARENT_TASK, GROUPS, seed)));
      if (groups.size === GROUPS || setup === MAX_SETUPS) break;
      await net.stop();
    }
  });

  const readClient = (): ChainReadClient =>
    ({
      publicClient: createPublicClient({ transport: http(net.chain.rpcUrl) }),
      contracts: {
        token: net.deployment.contracts.VainToken.address as Address,
        registry: net.deployment.contracts.StakeRegistry.address as Address,
        rounds: net.deployment.contracts.TrainingRounds.address as Address,
      },
    }) as unknown as ChainReadClient;

  const start = (): Promise<SoakNetwork> =>
    startNetwork({
      nodes: NODES,
      chainPort: CHAIN_PORT,
      windows: DEFAULT_WINDOWS,
      rounds: 10,
      groups: GROUPS,
      log: (line) => void logs.push(line),
    });

  after(async () => {
    // VAIN_TEST_KEEP_LOGS=1 keeps the run directory (each node's log) for a failure's post-mortem.
    await net?.stop(process.env["VAIN_TEST_KEEP_LOGS"] === "1");
  });

  it("trains in the groups and aggregates the parent's rounds over their partials, nobody slashed", async () => {
    const client = createPublicClient({ transport: http(net.chain.rpcUrl) });
    const rounds = net.deployment.contracts.TrainingRounds.address as Address;
    const registry = net.deployment.contracts.StakeRegistry.address as Address;
    const read = (roundId: bigint) =>
      client.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [roundId],
      });
    const dump = () =>
      net.nodes.map((n) => `--- node ${n.index}\n${n.output.slice(-3000)}`).join("\n") +
      `\n${logs.join("\n")}`;

    // Wait on chain state: a finalized round of the parent task, whose trainers are group leaders.
    const deadline = Date.now() + PARENT_ROUND_TIMEOUT_MS;
    let parentRound: Awaited<ReturnType<typeof read>> | undefined;
    let parentRoundId = 0n;
    while (parentRound === undefined) {
      assert.ok(Date.now() < deadline, `no parent round finalized in time\n${dump()}`);
      const [, roundCount] = await client.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "counts",
      });
      for (let id = 1n; id <= roundCount; id++) {
        const round = await read(id);
        if (
          round.taskId === PARENT_TASK &&
          round.state === RoundState.Finalized &&
          round.trainers.length > 0
        ) {
          parentRound = round;
          parentRoundId = id;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }

    // Its trainers are leaders of finalized group rounds, its aggregator one of the nodes.
    const operators = new Set(net.nodes.map((n) => n.address!.toLowerCase()));
    assert.ok(operators.has(parentRound.aggregator.toLowerCase()), "a node aggregated the parent round");
    assert.ok(parentRound.posted, `parent round ${parentRoundId} was posted`);
    for (const leader of parentRound.trainers)
      assert.ok(operators.has(leader.toLowerCase()), "leaders are nodes");

    // Every node runs the parent task beside its group's (its round state is kept apart) and volunteers for both
    // or for neither: the `auto` opt-in is one decision (a fresh node's reputation may be below the bar), applied
    // to each task the node runs, since candidates are per task.
    const candidatesOf = async (taskId: bigint) =>
      new Set(
        (
          await client.readContract({
            address: rounds,
            abi: trainingRoundsAbi,
            functionName: "aggregatorCandidates",
            args: [taskId],
          })
        ).map((c) => c.toLowerCase()),
      );
    const parentVolunteers = await candidatesOf(PARENT_TASK);
    for (const node of net.nodes) {
      // `task create --groups` creates the parent, then group i as task parent + 1 + i.
      const groupTask = PARENT_TASK + 1n + BigInt(groupIndexOf(node.address!, PARENT_TASK, GROUPS, seed));
      const me = node.address!.toLowerCase();
      assert.equal(
        parentVolunteers.has(me),
        (await candidatesOf(groupTask)).has(me),
        `node ${node.index} volunteers for the parent as for its group task ${groupTask}`,
      );
      assert.ok(
        existsSync(join(node.dataDir, `task-${PARENT_TASK}`)),
        `node ${node.index} runs the parent task`,
      );
    }

    // Its status API counts the parent's rounds as its own: the aggregator's history has the parent round, recorded
    // by its parent participant (with the proof it answered), and every row and the current round are of a task the
    // node runs. Before, the history took each round's figures from the trained task's participant only.
    const aggregatorNode = net.nodes.find(
      (n) => n.address!.toLowerCase() === parentRound.aggregator.toLowerCase(),
    )!;
    const groupTaskOf = (address: Address) =>
      PARENT_TASK + 1n + BigInt(groupIndexOf(address, PARENT_TASK, GROUPS, seed));
    const ownTasks = new Set([PARENT_TASK.toString(), groupTaskOf(aggregatorNode.address!).toString()]);
    type Status = {
      round: { taskId: string } | null;
      history: { roundId: string; taskId?: string; proofMs?: number }[];
    };
    let status: Status | undefined;
    const historyDeadline = Date.now() + 60_000;
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${aggregatorNode.apiPort}/api/status`);
      status = (await response.json()) as Status;
      if (status.history.some((row) => row.roundId === parentRoundId.toString())) break;
      assert.ok(
        Date.now() < historyDeadline,
        `parent round ${parentRoundId} not in the aggregator's history`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const parentRow = status.history.find((row) => row.roundId === parentRoundId.toString())!;
    assert.equal(parentRow.taskId, PARENT_TASK.toString());
    assert.ok(
      (parentRow.proofMs ?? 0) > 0,
      `the parent round's row has the aggregator's proof time: ${JSON.stringify(parentRow)}\n${aggregatorNode.output
        .split("\n")
        .filter((line) => /challenge|answer/.test(line))
        .slice(-10)
        .join("\n")}`,
    );
    for (const row of status.history)
      assert.ok(ownTasks.has(row.taskId ?? ""), `round ${row.roundId} is of its tasks`);
    assert.ok(
      status.round !== null && ownTasks.has(status.round.taskId),
      "its current round is of its tasks",
    );

    const slashes = await client.getContractEvents({
      address: registry,
      abi: stakeRegistryAbi,
      eventName: "Slashed",
      fromBlock: 0n,
    });
    assert.deepEqual(
      slashes.map((s) => s.args),
      [],
      `nobody slashed\n${dump()}`,
    );
    for (const node of net.nodes) assert.deepEqual(node.crashes, [], `node ${node.index} never crashed`);
  });
});
