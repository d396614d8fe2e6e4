/**
 * `vain-node start` runs again in its new group when a new group epoch's draw moves it (docs/protocol.md §7
 * "Group membership", group-regroup.ts, the start command's run loop), as an operator runs it: a real node process
 * configured with a parent task of two groups, on a real chain. The task is unfunded, so no round opens and the
 * node holds no duty: a day's jump of the chain clock slashes nobody. The next epoch's seed is drawn as the chain
 * draws it, its seed block's prevrandao chosen so the rule puts the node in the other group (node/demo/group-draw.ts).
 * The same process then stops its node and starts a new one on the new group task: same data directory, same
 * ports, running again.
 */
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";

import type { Address } from "viem";

import { accountFromPrivateKey, HARDHAT_DEV_PRIVATE_KEY } from "../chain/accounts.ts";
import { connectChain } from "../chain/clients.ts";
import { protocolAddresses } from "../chain/operator.ts";
import { drawTreeMembers } from "../demo/group-draw.ts";
import { DEFAULT_WINDOWS, startNetwork } from "../../scripts/bench/soak/network.ts";
import type { SoakNetwork } from "../../scripts/bench/soak/network.ts";

const CHAIN_PORT = 18977;
const PARENT_TASK = 1n;
const GROUP_TASKS = [2n, 3n];
/** The regroup watch reads the epoch once a minute (GROUP_EPOCH_CHECK_INTERVAL_MS); a restart takes seconds. */
const REGROUP_TIMEOUT_MS = 300_000;

/** The trained task of every "training in the group" line of a node's output, in order. */
function trainedTasks(output: string): bigint[] {
  const tasks: bigint[] = [];
  for (const line of output.split("\n")) {
    if (!line.includes("training in the group this epoch's seed drew")) continue;
    tasks.push(BigInt((JSON.parse(line) as { trainedTaskId: string }).trainedTaskId));
  }
  return tasks;
}

describe("vain-node start runs again in the group a new epoch draws", { timeout: 600_000 }, () => {
  let net: SoakNetwork;

  before(async () => {
    net = await startNetwork({
      nodes: 1,
      chainPort: CHAIN_PORT,
      windows: DEFAULT_WINDOWS,
      rounds: 0,
      groups: GROUP_TASKS.length,
      unfunded: true,
    });
  });

  after(async () => {
    await net?.stop(process.env["VAIN_TEST_KEEP_LOGS"] === "1");
  });

  it("moves the node to its new group task: the same process, a new node on the same data directory", async () => {
    const node = net.nodes[0]!;
    const first = trainedTasks(node.output);
    assert.equal(first.length, 1, `the node said which group it trains in\n${node.output.slice(-3000)}`);
    const other = GROUP_TASKS.find((task) => task !== first[0])!;

    // A day later, the next epoch's seed draws the node into the other group: this epoch's seed is drawn (the node
    // said its group), so `drawTreeMembers` moves the chain to the next epoch before it draws.
    const { publicClient, walletClient } = await connectChain(
      net.chain.rpcUrl,
      accountFromPrivateKey(HARDHAT_DEV_PRIVATE_KEY),
    );
    const into = Number(other - GROUP_TASKS[0]!);
    const [drawn] = await drawTreeMembers(
      {
        publicClient,
        treasury: walletClient!,
        contracts: protocolAddresses(net.deployment),
        rpcUrl: net.chain.rpcUrl,
        addresses: [node.address as Address],
      },
      { root: PARENT_TASK, middles: [], leaves: [GROUP_TASKS] },
      [GROUP_TASKS.map((_, g) => (g === into ? [0] : []))],
    );
    assert.deepEqual(drawn![into], [0], "the seed drew the node into the other group");

    // Wait on the node's own account of it: the regroup, the new run, the new group, running again.
    const deadline = Date.now() + REGROUP_TIMEOUT_MS;
    while (!node.output.includes("running again, in the group task this epoch's seed drew")) {
      assert.ok(
        Date.now() < deadline,
        `no regroup within ${REGROUP_TIMEOUT_MS} ms\n${node.output.slice(-4000)}`,
      );
      assert.ok(node.running, `the node process exited\n${node.output.slice(-4000)}`);
      await delay(1_000);
    }
    const sinceRegroup = (): string =>
      node.output.slice(node.output.lastIndexOf("running again, in the group"));
    while (!sinceRegroup().includes('"msg":"node running"')) {
      assert.ok(Date.now() < deadline, `the new node did not start\n${node.output.slice(-4000)}`);
      assert.ok(node.running, `the node process exited\n${node.output.slice(-4000)}`);
      await delay(1_000);
    }
    assert.deepEqual(trainedTasks(node.output).at(-1), other, "the new node trains in the other group");
    assert.ok(node.running, "the same process runs on");
  });
});
