/**
 * An aggregator whose disk fills mid-round is not slashed: three real `vain-node start` processes on a real hardhat
 * chain, the aggregator's data directory on a 160 MiB tmpfs. Once the round's candidates are fixed (the selection
 * lock) the tmpfs is filled to its last block, so every later write of the aggregator fails with ENOSPC. It still
 * verifies the updates, posts, proves and answers from memory; the round finalizes and nobody is slashed. While
 * the disk is full it withdraws its aggregator opt-in; once space is freed it offers again. Skipped where this
 * process may not mount a tmpfs (not root).
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import type { Hex } from "viem";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import {
  OPERATOR_GAS_ETH,
  actionClient,
  fundOperator,
  stakeAndBind,
  startLocalNetwork,
  walletFor,
} from "../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../scripts/support/local-network.ts";
import { createTask, fundTask, openRound, sendEther, transferTokens } from "../chain/actions/index.ts";
import { RoundState, stakeRegistryAbi, trainingRoundsAbi } from "../chain/contracts.ts";
import { writeDeployment } from "../chain/deployment.ts";
import { devRpc } from "../chain/dev-rpc.ts";
import { readDraws } from "../chain/draws.ts";
import { createNodeKey } from "../keys/keys.ts";
import { peerIdBytes } from "../p2p/admission/stake-oracle.ts";
import { groth16VerifierChoice } from "../proofs/deploy.ts";
import { modelRef, paramsToBytes } from "../protocol/models.ts";
import { taskSpecSchema } from "../protocol/task-spec.ts";
import { createModel } from "../training/architectures.ts";
import { spawnTied } from "./tied-spawn.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHAIN_PORT = 18647;
const P2P_BASE = 18685;
const NODES = 3;
const AGGREGATOR = 1;
/** Above twice the node's "full" line (20 MiB here, an eighth of the disk), so it starts not full and recovers. */
const TMPFS_MB = 160;
/** Chain seconds per phase; the test moves the clock past each phase once its work is done. */
const WINDOW = 120n;

interface NodeProcess {
  readonly index: number;
  readonly dataDir: string;
  readonly privateKey: Hex;
  child?: ChildProcess;
  output: string;
}

const canMount = process.getuid?.() === 0;

describe("disk full: the aggregator finishes its round from memory", { timeout: 600_000 }, () => {
  let net: LocalNetwork;
  let dir: string;
  let mount: string | undefined;
  const nodes: NodeProcess[] = [];
  const filler = (): string => join(mount!, "filler");

  async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}\n${nodes.map((n) => `--- node ${n.index}\n${n.output.slice(-3000)}`).join("\n")}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function advancePast(timestamp: bigint): Promise<void> {
    const now = (await net.publicClient.getBlock()).timestamp;
    if (now <= timestamp) await devRpc(net.rpcUrl, "evm_increaseTime", [Number(timestamp - now + 1n)]);
    await devRpc(net.rpcUrl, "evm_mine", []);
  }

  const readRound = (roundId: bigint) =>
    net.publicClient.readContract({
      address: net.addresses.rounds,
      abi: trainingRoundsAbi,
      functionName: "getRound",
      args: [roundId],
    });

  const candidates = async (): Promise<string[]> =>
    (
      await net.publicClient.readContract({
        address: net.addresses.rounds,
        abi: trainingRoundsAbi,
        functionName: "aggregatorCandidates",
        args: [1n], // the task the nodes follow (config taskId 1)
      })
    ).map((a) => a.toLowerCase());

  function launch(node: NodeProcess): Promise<void> {
    const child = spawnTied(
      join(ROOT, "node_modules/.bin/node"),
      [join(ROOT, "node/bin/vain-node.js"), "start", "--data-dir", node.dataDir],
      {
        cwd: ROOT,
        env: { ...process.env, VAIN_PRIVATE_KEY: node.privateKey, FORCE_COLOR: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    node.child = child;
    return new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        node.output += chunk.toString();
        if (node.output.includes('"msg":"node running"')) resolve();
      });
      child.stderr?.on("data", (chunk: Buffer) => (node.output += chunk.toString()));
      child.once("exit", (code) =>
        reject(new Error(`node ${node.index} exited with ${code}:\n${node.output}`)),
      );
    });
  }

  process.once("exit", () => {
    for (const node of nodes) node.child?.kill("SIGKILL");
    if (mount !== undefined) spawn("umount", ["-l", mount]);
  });

  before(async () => {
    if (!canMount) return;
    dir = await mkdtemp(join(tmpdir(), "vain-disk-full-"));
    const disk = join(dir, "disk");
    await mkdir(disk);
    await run("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_MB}m,mode=0700`, "tmpfs", disk]);
    mount = disk;
    net = await startLocalNetwork(CHAIN_PORT, {
      verifier: await groth16VerifierChoice(),
      roundParams: { maxTrainersPerRound: 8 },
    });
    const deploymentPath = join(dir, "deployment.json");
    await writeDeployment(deploymentPath, net.deployment);
    const spec = taskSpecSchema.parse({ model: { kind: "mlp", hidden: [32] }, train: { epochs: 1 } });
    const peerIds: string[] = [];
    for (let index = 0; index < NODES; index++) {
      const dataDir = join(index === AGGREGATOR ? disk : dir, `node${index}`);
      await mkdir(dataDir, { recursive: true });
      const { peerId } = await createNodeKey(join(dataDir, "node.key"));
      peerIds.push(peerId);
      const privateKey = generatePrivateKey();
      const account = privateKeyToAccount(privateKey);
      const funded = await fundOperator(net, parseEther("500"));
      await transferTokens(actionClient(net, await walletFor(net, funded)), {
        to: account.address,
        amountWei: parseEther("500"),
      });
      await sendEther(actionClient(net, net.deployer), { to: account.address, amountWei: OPERATOR_GAS_ETH });
      await stakeAndBind(net, account, parseEther("200"), peerIdBytes(peerId));
      await writeFile(
        join(dataDir, "config.json"),
        JSON.stringify({
          rpcUrl: net.rpcUrl,
          deployment: deploymentPath,
          profile: "local-simulation",
          listen: [`/ip4/127.0.0.1/tcp/${P2P_BASE + index}`],
          bootstrap: index === 0 ? [] : [`/ip4/127.0.0.1/tcp/${P2P_BASE}/p2p/${peerIds[0]!}`],
          taskId: 1,
          task: spec,
          data: { kind: "mnist", shard: index, shards: NODES, seed: 3 },
          aggregator: index === AGGREGATOR,
          pollIntervalMs: 300,
          openRounds: false, // the test opens the round itself
          logLevel: "info",
        }),
      );
      nodes.push({ index, dataDir, privateKey, output: "" });
    }
    const model = createModel(spec.model);
    const treasury = actionClient(net, net.deployer);
    const { taskId } = await createTask(treasury, {
      modelRef: modelRef(paramsToBytes(model.init(spec.initSeed))),
      parameters: model.layout.size,
      rewardPerRoundWei: parseEther("100"),
      commitWindowS: WINDOW,
      aggregateWindowS: WINDOW,
      challengeWindowS: WINDOW,
      answerWindowS: WINDOW,
      roundIntervalS: 0n,
    });
    await fundTask(treasury, { taskId, amountWei: parseEther("1000") });
    for (const node of nodes) await launch(node);
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
    await net?.stop();
    if (mount !== undefined) await run("umount", ["-l", mount]).catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("posts, proves and answers on a full disk; nobody is slashed; opt-in withdrawn, then offered again", async (t) => {
    if (!canMount) {
      t.skip("cannot mount a tmpfs here (not root)");
      return;
    }
    const aggregator = nodes[AGGREGATOR]!;
    const address = privateKeyToAccount(aggregator.privateKey).address.toLowerCase();
    await until("the aggregator's opt-in", 120_000, async () =>
      (await candidates()).includes(address) ? true : undefined,
    );
    const { roundId } = await openRound(actionClient(net, net.deployer), { taskId: 1n });
    const committed = await until("all commitments", 180_000, async () => {
      const r = await readRound(roundId);
      return r.trainers.length === NODES ? r : undefined;
    });
    await advancePast(committed.commitDeadline);
    // The candidates are fixed at the lock: from here on the aggregator is drawn whatever its opt-in says.
    await until("the selection lock", 120_000, async () =>
      (await readDraws(net.publicClient, net.addresses.rounds, roundId)).lockBlock !== 0n ? true : undefined,
    );
    const info = await statfs(mount!);
    await run("fallocate", ["-l", String(info.bavail * info.bsize), filler()]);

    const posted = await until("the aggregate", 180_000, async () => {
      const r = await readRound(roundId);
      return r.state >= RoundState.Challenging ? r : undefined;
    });
    assert.equal(posted.state, RoundState.Challenging, "aggregate posted, not failed");
    assert.equal(posted.aggregator.toLowerCase(), address);
    assert.ok(posted.proven, "every update arrived, so the round is provable");
    assert.ok(
      posted.weights.every((w) => w > 0n),
      "every trainer's update was aggregated",
    );
    await until("challenge answers (zk proofs)", 180_000, async () => {
      const draws = await readDraws(net.publicClient, net.addresses.rounds, roundId);
      if (draws.sampleSeedBlock !== 0n && !draws.samplesDrawn) return undefined;
      return (await readRound(roundId)).pendingChallenges === 0 ? true : undefined;
    });
    const answered = await readRound(roundId);
    await advancePast(
      answered.challengeDeadline > answered.disputeDeadline
        ? answered.challengeDeadline
        : answered.disputeDeadline,
    );
    const closed = await until("finalization", 120_000, async () => {
      const r = await readRound(roundId);
      return r.state >= RoundState.Finalized ? r : undefined;
    });
    assert.equal(closed.state, RoundState.Finalized, aggregator.output.slice(-4000));
    const slashes = await net.publicClient.getContractEvents({
      address: net.addresses.registry,
      abi: stakeRegistryAbi,
      eventName: "Slashed",
      fromBlock: 0n,
    });
    assert.deepEqual(slashes, [], "nobody slashed");
    // The node said what happened, with the path and the error code.
    assert.match(aggregator.output, /"msg":"disk full: /);
    assert.match(aggregator.output, /"path":"[^"]+","code":"ENOSPC".*could not write round state/);
    await until("the opt-in withdrawn", 60_000, async () =>
      (await candidates()).includes(address) ? undefined : true,
    );

    await rm(filler());
    await until("the opt-in offered again", 60_000, async () =>
      (await candidates()).includes(address) ? true : undefined,
    );
    assert.match(aggregator.output, /disk space recovered/);
  });
});
