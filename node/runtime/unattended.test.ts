/**
 * The README walkthrough, run as an operator would, and left alone: a real `hardhat node`, then only the
 * `vain-node` binary (deploy, init with a shard each, fund, stake, bind, task create, start) for three nodes
 * with the configs `init` writes. Nobody calls `round open`: the nodes open rounds themselves (keeper), select
 * an aggregator, train, aggregate, prove and finalize, round after round, on a chain whose clock `deploy` set
 * moving. Passes when two rounds finalized, each opened by one of the nodes. The last node's operator also turns
 * on personalization (`--personalize-steps`, issue #22): it fine-tunes each new global model on its own rows and
 * keeps the result in its data directory, and the others do not.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { parseEventLogs } from "viem";
import type { Address } from "viem";

import { startHardhatNode, runNodeScript } from "../chain/hardhat-process.ts";
import type { HardhatNodeProcess } from "../chain/hardhat-process.ts";
import { connectChain } from "../chain/clients.ts";
import { RoundState, trainingRoundsAbi } from "../chain/contracts.ts";
import { readDeployment } from "../chain/deployment.ts";
import { PERSONAL_MODEL_FILE } from "../training/personalization.ts";
import { spawnTied } from "./tied-spawn.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHAIN_PORT = 18751;
const NODES = 3;
const PASSWORD = "unattended-test";
/** Rounds that must finalize with nobody opening them. */
const ROUNDS = 2;
/** The last node's personalization: a few fine-tuning steps, so it costs the round little CPU. */
const PERSONALIZE_STEPS = 5;
const PERSONALIZED = NODES - 1;

interface NodeProcess {
  readonly index: number;
  readonly dataDir: string;
  address?: Address;
  child?: ChildProcess;
  output: string;
}

describe(
  "unattended: default nodes train round after round with nobody opening rounds",
  { timeout: 900_000 },
  () => {
    let chain: HardhatNodeProcess;
    let dir: string;
    let env: Record<string, string>;
    const nodes: NodeProcess[] = [];

    async function cli(args: readonly string[]): Promise<string> {
      const result = await runNodeScript(["node/bin/vain-node.js", ...args], env);
      assert.equal(result.code, 0, `vain-node ${args.join(" ")}: ${result.stderr}`);
      return result.stdout;
    }

    function start(node: NodeProcess, bootstrap: readonly string[]): Promise<string[]> {
      const args = [join(ROOT, "node/bin/vain-node.js"), "start", "--data-dir", node.dataDir];
      for (const address of bootstrap) args.push("--bootstrap", address);
      if (node.index === PERSONALIZED) args.push("--personalize-steps", String(PERSONALIZE_STEPS));
      const child = spawnTied(join(ROOT, "node_modules/.bin/node"), args, {
        cwd: ROOT,
        env: { ...process.env, ...env, FORCE_COLOR: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      node.child = child;
      return new Promise((resolve, reject) => {
        child.stdout?.on("data", (chunk: Buffer) => {
          node.output += chunk.toString();
          const line = node.output.split("\n").find((l) => l.includes('"msg":"node running"'));
          if (line !== undefined) resolve((JSON.parse(line) as { addresses: string[] }).addresses);
        });
        child.stderr?.on("data", (chunk: Buffer) => (node.output += chunk.toString()));
        child.once("exit", (code) =>
          reject(new Error(`node ${node.index} exited with ${code}:\n${node.output}`)),
        );
      });
    }

    // A cancelled run may never reach `after`: never leave node processes holding ports.
    process.once("exit", () => {
      for (const node of nodes) node.child?.kill("SIGKILL");
    });

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "vain-unattended-"));
      chain = await startHardhatNode(CHAIN_PORT);
      const deployment = join(dir, "deployment.json");
      env = {
        VAIN_RPC_URL: chain.rpcUrl,
        VAIN_DEPLOYMENT: deployment,
        VAIN_PASSWORD: PASSWORD,
        VAIN_PRIVATE_KEY: "",
        VAIN_DATA_DIR: "",
      };
      // As the README: deploy (which sets the local chain mining every second), then per node init, fund,
      // stake, bind; then a task with the default (local) windows.
      await cli(["deploy", "--rpc", chain.rpcUrl, "--out", deployment]);
      for (let index = 0; index < NODES; index++) {
        const node: NodeProcess = { index, dataDir: join(dir, `node${index}`), output: "" };
        const init = JSON.parse(
          await cli([
            "init",
            "--data-dir",
            node.dataDir,
            "--shard",
            String(index),
            "--shards",
            String(NODES),
            "--json",
          ]),
        ) as { address: Address };
        node.address = init.address;
        await cli(["fund", node.dataDir, "500"]);
        await cli(["stake", "200", "--data-dir", node.dataDir]);
        await cli(["bind", "--data-dir", node.dataDir]);
        nodes.push(node);
      }
      await cli([
        "task",
        "create",
        "--data-dir",
        nodes[0]!.dataDir,
        "--reward-per-round",
        "10",
        "--fund",
        "100",
      ]);
      assert.equal((await readDeployment(deployment)).chainId, 31337);
      const [first, ...others] = nodes;
      const addresses = await start(first!, []);
      await Promise.all(others.map((node) => start(node, addresses)));
    });

    after(async () => {
      for (const node of nodes) {
        const child = node.child;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        child.kill("SIGKILL");
      }
      await chain?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it(`finalizes ${ROUNDS} rounds that the nodes opened themselves`, async () => {
      const deployment = await readDeployment(join(dir, "deployment.json"));
      const rounds = deployment.contracts.TrainingRounds.address as Address;
      const { publicClient } = await connectChain(chain.rpcUrl);
      const finalized = async (): Promise<bigint[]> => {
        const [, count] = await publicClient.readContract({
          address: rounds,
          abi: trainingRoundsAbi,
          functionName: "counts",
        });
        const done: bigint[] = [];
        for (let id = 1n; id <= count; id++) {
          const round = await publicClient.readContract({
            address: rounds,
            abi: trainingRoundsAbi,
            functionName: "getRound",
            args: [id],
          });
          if (round.state === RoundState.Finalized) done.push(id);
        }
        return done;
      };
      // Waits on chain state (the chain's clock moves by itself); the timeout only bounds a broken run.
      const deadline = Date.now() + 780_000;
      let done: bigint[] = [];
      while ((done = await finalized()).length < ROUNDS) {
        if (Date.now() > deadline) {
          assert.fail(
            `only ${done.length} round(s) finalized\n${nodes.map((n) => `--- node ${n.index}\n${n.output.slice(-4000)}`).join("\n")}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      // Who opened them: a node's operator each time, never the deployer or the test.
      const logs = await publicClient.getContractEvents({
        address: rounds,
        abi: trainingRoundsAbi,
        eventName: "RoundOpened",
        fromBlock: BigInt(deployment.deploymentBlock),
      });
      const operators = new Set(nodes.map((n) => n.address!.toLowerCase()));
      for (const id of done.slice(0, ROUNDS)) {
        const opened = logs.find((l) => l.args.roundId === id);
        assert.ok(opened !== undefined, `RoundOpened for round ${id}`);
        const tx = await publicClient.getTransaction({ hash: opened.transactionHash });
        assert.ok(operators.has(tx.from.toLowerCase()), `round ${id} opened by ${tx.from}, not by a node`);
        const receipt = await publicClient.getTransactionReceipt({ hash: opened.transactionHash });
        assert.equal(
          parseEventLogs({ abi: trainingRoundsAbi, logs: receipt.logs, eventName: "RoundOpened" }).length,
          1,
        );
      }
      for (const node of nodes) assert.equal(node.child?.exitCode, null, `node ${node.index} still running`);
      // No monopoly on aggregation: a node whose update a finalized round accepted earns the standing to
      // volunteer (reputation 0.6), whoever aggregated. Before, only a round's aggregator credited anyone, so the
      // first node drawn became the only candidate and was drawn every round after, for good (the soak's spared
      // node aggregated none of 50 rounds), and an operator that opts in by hand held the duty alone. A node may
      // still stay out for a reason of its own (speed, proofs, disk); not for lack of reputation.
      const { taskId: task } = await publicClient.readContract({
        address: rounds,
        abi: trainingRoundsAbi,
        functionName: "getRound",
        args: [done[0]!],
      });
      const candidatesBy = Date.now() + 120_000;
      for (;;) {
        const candidates = new Set(
          (
            await publicClient.readContract({
              address: rounds,
              abi: trainingRoundsAbi,
              functionName: "aggregatorCandidates",
              args: [task],
            })
          ).map((a) => a.toLowerCase()),
        );
        const heldBack = nodes.filter((n) => {
          if (candidates.has(n.address!.toLowerCase())) return false;
          const decided = n.output.split("\n").filter((l) => l.includes('"msg":"aggregator opt-in decided"'));
          const last = decided.at(-1);
          return last === undefined || /"reason":"reputation /.test(last);
        });
        if (heldBack.length === 0) break;
        if (Date.now() > candidatesBy)
          assert.fail(
            `nodes ${heldBack.map((n) => n.index).join(", ")} kept out of aggregation by reputation after ${done.length} finalized rounds (candidates: ${[...candidates].join(", ")})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      // Personalization follows the new global models; waits on the node's log, bounded only for a broken run.
      const personal = nodes[PERSONALIZED]!;
      const ready = /"msg":"personalized model ready/;
      const until = Date.now() + 120_000;
      while (!ready.test(personal.output)) {
        if (Date.now() > until)
          assert.fail(`node ${PERSONALIZED} personalized no model\n${personal.output.slice(-4000)}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const line = JSON.parse(personal.output.split("\n").find((l) => ready.test(l))!) as {
        steps: number;
        heldOutRows: number;
        globalAccuracy: number;
        personalAccuracy: number;
      };
      assert.equal(line.steps, PERSONALIZE_STEPS);
      assert.ok(line.heldOutRows > 0 && line.globalAccuracy >= 0 && line.personalAccuracy >= 0);
      await access(join(personal.dataDir, PERSONAL_MODEL_FILE));
      for (const node of nodes.filter((n) => n.index !== PERSONALIZED))
        assert.doesNotMatch(node.output, ready, `node ${node.index} did not ask for personalization`);
      // A finalized round's model was trained from before the next round opened (trainer.ts head start), so
      // some node committed the moment a round opened instead of spending its commit window training.
      assert.ok(
        nodes.some((n) => n.output.includes("committing the update trained before the round opened")),
        `no node committed a head-start update\n${nodes.map((n) => `--- node ${n.index}\n${n.output.slice(-3000)}`).join("\n")}`,
      );
    });
  },
);
