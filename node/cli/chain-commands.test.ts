/**
 * The real `vain-node` binary (separate processes) against a real `hardhat node` (port 18601): every chain
 * command end to end with a keystore data dir and with an env key, --json output compared with the chain,
 * exit codes, one-line errors for bad input, and --help examples.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import type { Command } from "commander";
import { parseEther } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import type { HardhatNodeProcess } from "../../test/support/hardhat-node.ts";
import { CLI_PASSWORD, assertUserError, cliJson, startCliChain } from "../../test/support/vain-cli.ts";
import type { CliChain, CliResult } from "../../test/support/vain-cli.ts";
import { taskRuleId } from "../chain/actions/create-task.ts";
import { stakeRegistryAbi, trainingRoundsAbi, vainTokenAbi } from "../chain/contracts.ts";
import type { Deployment } from "../chain/deployment.ts";
import { protocolAddresses } from "../chain/operator.ts";
import { peerIdToChainBytes } from "../chain/peer-id.ts";
import { resolveConfig } from "../config/config.ts";
import { modelRef, paramsToBytes } from "../protocol/models.ts";
import { taskSpecHash } from "../protocol/task-spec-hash.ts";
import { createModel } from "../training/architectures.ts";
import { EXIT_USER_ERROR, buildProgram, main } from "./main.ts";
import { devRpc } from "../chain/dev-rpc.ts";

const PORT = 18601;
/** Nothing listens here (inside the test's port range): a chain that is down. */
const DEAD_RPC = "http://127.0.0.1:18609";
/** An address nobody funds (Hardhat account #9). */
const emptyOperator: Address = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
const ENV_OPERATOR_KEY: Hex = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const PASSWORD = CLI_PASSWORD;

describe("vain-node chain commands against a real hardhat node", { timeout: 300_000 }, () => {
  let chain: HardhatNodeProcess;
  let publicClient: PublicClient<Transport, Chain>;
  let deployerWallet: WalletClient<Transport, Chain, Account>;
  let deployment: Deployment;
  let dir: string;
  let dataDir: string;
  let emptyDir: string;
  let passwordFile: string;
  let deploymentFile: string;
  let operator: Address;
  let nodePeerId: string;

  /**
   * Runs `main` in this process with `env` applied and stderr captured (stdout is left alone: the test
   * runner reports through it). Only for commands that fail before printing a result.
   */
  async function inProcess(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
    const saved = { ...process.env };
    Object.assign(process.env, { VAIN_DEPLOYMENT: deploymentFile, VAIN_RPC_URL: chain.rpcUrl, ...env });
    let stderr = "";
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    }) as typeof process.stderr.write;
    try {
      const code = await main(["node", "vain-node", ...args]);
      return { code, stdout: "", stderr };
    } finally {
      process.stderr.write = write;
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  }

  let harness: CliChain;
  const cli = (args: readonly string[], env: Record<string, string> = {}) => harness.cli(args, env);
  const json = cliJson;
  const userError = assertUserError;

  async function rpc(method: string, params: unknown[] = []): Promise<void> {
    await devRpc(chain.rpcUrl, method, params);
  }

  async function send(hash: Promise<Hex>): Promise<void> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    assert.equal(receipt.status, "success");
  }

  before(async () => {
    harness = await startCliChain(PORT);
    ({ chain, publicClient, deployerWallet, deployment, dir, dataDir, passwordFile, deploymentFile } =
      harness);
    ({ operator, nodePeerId } = harness);
    emptyDir = join(dir, "empty");
    const envOperator = privateKeyToAccount(ENV_OPERATOR_KEY).address;
    await send(
      deployerWallet.writeContract({
        address: protocolAddresses(deployment).token,
        abi: vainTokenAbi,
        functionName: "transfer",
        args: [envOperator, parseEther("1000")],
      }),
    );
  });

  after(async () => {
    await harness?.stop();
  });

  it("prints --help with examples for every chain command", async () => {
    // In-process (no start-up cost per command): each command's output is captured through commander.
    const paths = [
      ["status"],
      ["stake"],
      ["unstake"],
      ["withdraw"],
      ["claim"],
      ["bind"],
      ["aggregator"],
      ["task", "create"],
      ["task", "fund"],
      ["task", "link"],
      ["round", "open"],
    ];
    const program = buildProgram();
    for (const path of paths) {
      let command: Command | undefined = program;
      for (const name of path) command = command?.commands.find((c) => c.name() === name);
      assert.ok(command !== undefined, path.join(" "));
      let help = "";
      command.configureOutput({ writeOut: (text) => (help += text) });
      command.outputHelp();
      assert.match(help, /Examples:\n {2}(VAIN_PASSWORD=\.\.\. )?npx vain-node /, path.join(" "));
      assert.match(help, /--json/, path.join(" "));
    }
  });

  it("shows status read-only from the keystore's address, without a password", async () => {
    const status = json(await cli(["status", "--data-dir", dataDir, "--json"]));
    assert.equal(status["operator"], operator);
    assert.equal(status["tokenBalanceWei"], parseEther("1000").toString());
    assert.equal(status["activeStakeWei"], "0");
    assert.equal(status["isActive"], false);
    assert.equal(status["peerId"], null);
  });

  it("stakes from the keystore with a permit, then with approve + stake", async () => {
    const permit = await cli(["stake", "150", "--data-dir", dataDir, "--password-file", passwordFile]);
    assert.equal(permit.code, 0, permit.stderr);
    assert.match(permit.stdout, /^staked 150\.0 VAIN with a permit \(1 transaction\)/);
    assert.match(permit.stdout, /active stake {2}150\.0 VAIN/);
    assert.equal(permit.stderr, "", "no progress line when stderr is not a terminal");

    const fallback = json(
      await cli(["stake", "10", "--no-permit", "--data-dir", dataDir, "--json"], { VAIN_PASSWORD: PASSWORD }),
    );
    assert.equal(fallback["method"], "approve+stake");
    assert.equal(fallback["amountWei"], parseEther("10").toString());
    assert.equal(fallback["activeStakeWei"], parseEther("160").toString());
    assert.equal((fallback["transactionHashes"] as unknown[]).length, 2);
  });

  it("binds the data dir's node peer ID by default", async () => {
    const bound = json(await cli(["bind", "--data-dir", dataDir, "--password-file", passwordFile, "--json"]));
    assert.equal(bound["peerId"], nodePeerId);
    assert.equal(bound["changed"], true);
    const onChain = await publicClient.readContract({
      address: protocolAddresses(deployment).registry,
      abi: stakeRegistryAbi,
      functionName: "peerIdOf",
      args: [operator],
    });
    assert.equal(onChain, peerIdToChainBytes(nodePeerId));
  });

  it("unstakes, refuses withdraw before the delay (exit 2), withdraws after it", async () => {
    const signer = ["--data-dir", dataDir, "--password-file", passwordFile];
    const unstaked = json(await cli(["unstake", "60", ...signer, "--json"]));
    assert.equal(unstaked["unbondingStakeWei"], parseEther("60").toString());
    const early = await cli(["withdraw", ...signer]);
    userError(
      early,
      /^vain-node: withdraw failed: 60\.0 VAIN is still unbonding until \d{4}-\d\d-\d\dT.*\(in (1d|23h \d+m)\)/,
    );

    await rpc("evm_increaseTime", [24 * 3600]);
    await rpc("evm_mine");
    const withdrawn = json(await cli(["withdraw", ...signer, "--json"]));
    assert.equal(withdrawn["amountWei"], parseEther("60").toString());
    const nothing = await cli(["withdraw", ...signer]);
    userError(nothing, /nothing is unbonding/);
  });

  it("creates and funds a task, opens a round, and reports an empty claim", async () => {
    const signer = ["--data-dir", dataDir, "--password-file", passwordFile];
    const created = json(
      await cli([
        "task",
        "create",
        "--reward-per-round",
        "10",
        "--fund",
        "30",
        "--commit-window",
        "1m",
        ...signer,
        "--json",
      ]),
    );
    assert.equal(created["taskId"], "1");
    assert.equal(
      (created["funded"] as Record<string, unknown>)["rewardPoolWei"],
      parseEther("30").toString(),
    );
    const task = await publicClient.readContract({
      address: protocolAddresses(deployment).rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [1n],
    });
    assert.equal(task.commitWindow, 60n);
    // The chunk count comes from the default spec's model (MLP 784-128-10: 101,770 parameters).
    assert.equal(task.numChunks, Math.ceil(101_770 / 64));
    assert.equal(created["numChunks"], task.numChunks);
    // The model reference is the one every node derives from the spec, not a name no node could produce.
    const model = createModel(resolveConfig({}).task.model);
    const expectedRef = modelRef(paramsToBytes(model.init(resolveConfig({}).task.initSeed)));
    assert.equal(task.modelRef, expectedRef);
    assert.equal(created["modelRef"], expectedRef);
    // The spec's content address is registered: a node with another spec refuses the task (spec-check.test).
    assert.equal(task.specHash, taskSpecHash(resolveConfig({}).task));
    assert.equal(created["specHash"], task.specHash);
    const badSpec = join(dataDir, "bad-spec.json");
    await writeFile(badSpec, JSON.stringify({ model: { kind: "mlp" }, server: { optimizer: "sgd" } }));
    userError(
      await cli(["task", "create", "--spec", badSpec, "--reward-per-round", "1", ...signer]),
      /--spec .*bad-spec\.json is not a valid task spec, nothing was signed: server\.optimizer: Invalid enum value/,
    );
    // The rule is a spec field, checked with the proof mode before anything is signed (task-aggregation.ts).
    assert.equal(task.ruleId, taskRuleId("guarded-mean"), "the default spec's rule");
    assert.equal(task.proven, true, "the default spec's proof mode");
    const medianSpec = join(dataDir, "median-spec.json");
    await writeFile(medianSpec, JSON.stringify({ model: { kind: "mlp" }, aggregation: { rule: "median" } }));
    userError(
      await cli(["task", "create", "--spec", medianSpec, "--reward-per-round", "1", ...signer]),
      /nothing was signed: aggregation\.rule: the zk circuit cannot prove "median"/,
    );
    const unknownRule = join(dataDir, "unknown-rule-spec.json");
    await writeFile(unknownRule, JSON.stringify({ model: { kind: "mlp" }, aggregation: { rule: "mean" } }));
    userError(
      await cli(["task", "create", "--spec", unknownRule, "--reward-per-round", "1", ...signer]),
      /nothing was signed: aggregation\.rule: Invalid enum value/,
    );
    userError(
      await cli(["task", "create", "--model-ref", "mnist-mlp-v1", "--reward-per-round", "1", ...signer]),
      /--model-ref mnist-mlp-v1 is not the initial model of the task spec .*no node could train it/,
    );
    userError(
      await cli(["task", "create", "--reward-per-round", "1", "--aggregate-window", "6s", ...signer]),
      /--aggregate-window 6s is shorter than the 15s an aggregator needs .* could miss it and be slashed/,
    );
    userError(
      await cli(["task", "create", "--reward-per-round", "1", "--fund", "100000", ...signer]),
      /--fund 100000\.0 VAIN is more than the .* this account holds: nothing was created/,
    );
    const [tasksAfter] = await publicClient.readContract({
      address: protocolAddresses(deployment).rounds,
      abi: trainingRoundsAbi,
      functionName: "counts",
    });
    assert.equal(tasksAfter, 1n, "a refused task create creates nothing");
    // A spec's rule and proof mode are what the chain records.
    const fedAvgSpec = join(dataDir, "fedavg-spec.json");
    await writeFile(
      fedAvgSpec,
      JSON.stringify({ model: { kind: "mlp" }, aggregation: { rule: "fedavg", proven: false } }),
    );
    const fedAvgTask = json(
      await cli(["task", "create", "--spec", fedAvgSpec, "--reward-per-round", "1", ...signer, "--json"]),
    );
    assert.equal(fedAvgTask["rule"], "fedavg");
    const second = await publicClient.readContract({
      address: protocolAddresses(deployment).rounds,
      abi: trainingRoundsAbi,
      functionName: "getTask",
      args: [BigInt(fedAvgTask["taskId"] as string)],
    });
    assert.equal(second.ruleId, taskRuleId("fedavg"));
    assert.equal(second.proven, false);

    const funded = await cli(["task", "fund", "1", "5", ...signer]);
    assert.equal(funded.code, 0, funded.stderr);
    assert.match(funded.stdout, /reward pool {2}35\.0 VAIN/);

    const opened = json(await cli(["round", "open", "1", ...signer, "--json"]));
    assert.equal(opened["roundId"], "1");
    assert.equal(opened["emissionWei"], parseEther("10").toString());
    userError(
      await cli(["round", "open", "1", ...signer]),
      /round open failed: round 1 of this task is still active/,
    );
    userError(await cli(["claim", ...signer]), /^vain-node: claim failed: nothing to claim/);
  });

  it("signs with VAIN_PRIVATE_KEY and opts in as aggregator", async () => {
    const env = { VAIN_PRIVATE_KEY: ENV_OPERATOR_KEY };
    const staked = json(await cli(["stake", "100", "--json"], env));
    assert.equal(staked["method"], "permit");
    const opted = json(await cli(["aggregator", "opt-in", "--json"], env));
    assert.equal(opted["optedIn"], true);
    const status = json(await cli(["status", "--json"], env));
    assert.equal(status["aggregatorOptedIn"], true);
    assert.equal(status["isActive"], true);
  });

  it("status --address needs no key and equals the chain's values", async () => {
    const { registry, rounds, token } = protocolAddresses(deployment);
    const result = await cli(["status", "--address", operator, "--data-dir", emptyDir, "--json"]);
    const status = json(result);
    const read = async (
      address: Address,
      abi: typeof stakeRegistryAbi,
      functionName: "activeStake" | "unbondingStake",
    ) => (await publicClient.readContract({ address, abi, functionName, args: [operator] })).toString();
    assert.equal(status["activeStakeWei"], await read(registry, stakeRegistryAbi, "activeStake"));
    assert.equal(status["activeStakeWei"], parseEther("100").toString());
    assert.equal(status["unbondingStakeWei"], await read(registry, stakeRegistryAbi, "unbondingStake"));
    const balance = await publicClient.readContract({
      address: token,
      abi: vainTokenAbi,
      functionName: "balanceOf",
      args: [operator],
    });
    assert.equal(status["tokenBalanceWei"], balance.toString());
    const claimable = await publicClient.readContract({
      address: rounds,
      abi: trainingRoundsAbi,
      functionName: "claimable",
      args: [operator],
    });
    assert.equal(status["claimableWei"], claimable.toString());
    assert.equal(status["peerId"], nodePeerId);
    const network = status["network"] as Record<string, unknown>;
    assert.equal(network["rounds"], "1");
    assert.equal((network["latestRound"] as Record<string, unknown>)["state"], "open");

    const human = await cli(["status", "--address", operator]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /active stake {5}100\.0 VAIN/);
    assert.match(human.stdout, new RegExp(`peer ID {10}${nodePeerId}`));
  });

  it("answers bad input and a down chain with exit 2 and one line, in the binary", async () => {
    const signer = ["--data-dir", dataDir, "--password-file", passwordFile];
    const [amount, down] = await Promise.all([
      cli(["stake", "abc", ...signer]),
      cli(["status", "--address", operator, "--rpc", DEAD_RPC]),
    ]);
    userError(amount, /^vain-node: invalid amount "abc": not a decimal number/);
    userError(down, /^vain-node: cannot reach a chain at http:\/\/127\.0\.0\.1:18609/);
  });

  it("answers every kind of bad input with EXIT_USER_ERROR and one line (in-process)", async () => {
    const signer = ["--data-dir", dataDir, "--password-file", passwordFile];
    const cases: [readonly string[], Record<string, string>, RegExp][] = [
      [["stake", ...signer, "--", "-5"], {}, /invalid amount "-5": must not be negative/],
      [["stake", "0", ...signer], {}, /invalid amount "0": must be greater than zero/],
      [["status", "--address", "0x123"], {}, /invalid address "0x123"/],
      [["stake", "1", "--data-dir", emptyDir], {}, /no operator key: pass --private-key/],
      [["status", "--data-dir", emptyDir], {}, /no operator address: pass --address/],
      [["stake", "1", "--data-dir", dataDir], { VAIN_PASSWORD: "wrong" }, /cannot unlock keystore/],
      [["stake", "1", "--data-dir", dataDir], {}, /no keystore password/],
      [["stake", "1", "--private-key", "0x1234"], {}, /private key must be 0x followed by 64 hex digits/],
      [["aggregator", "maybe", ...signer], {}, /invalid choice "maybe": expected opt-in or opt-out/],
      [["task", "fund", "x", "1", ...signer], {}, /invalid task ID "x"/],
      [
        ["task", "create", "--model-ref", "0x12", "--reward-per-round", "1", ...signer],
        {},
        /invalid model reference "0x12"/,
      ],
      [
        ["task", "create", "--reward-per-round", "1", "--commit-window", "10", ...signer],
        {},
        /invalid duration "10"/,
      ],
      [
        ["task", "create", "--reward-per-round", "1", "--parameters", "1.5", ...signer],
        {},
        /--parameters "1.5" must be a positive integer/,
      ],
      [["bind", "not-a-peer-id", ...signer], {}, /invalid peer ID "not-a-peer-id"/],
      [
        ["unstake", "5000", ...signer],
        {},
        /unstake failed: cannot unstake 5000\.0 VAIN: only 100\.0 VAIN is actively staked \(InsufficientActiveStake\)/,
      ],
      [
        ["status", "--address", operator, "--deployment", join(dir, "absent.json")],
        {},
        /no deployment file at .*absent\.json/,
      ],
      [["status", "--address", operator, "--rpc", "not-a-url"], {}, /rpcUrl/],
    ];
    for (const [args, env, pattern] of cases) userError(await inProcess(args, env), pattern);
    // The faucet checks before it sends: asking for more VAIN than the deployer holds sends no ETH either.
    const ethBefore = await publicClient.getBalance({ address: emptyOperator });
    userError(
      await inProcess(["fund", emptyOperator, "1000000000"], {}),
      /fund failed: 0x[0-9a-fA-F]{40} \(Hardhat account #0, the deployer\) holds .* less than 1000000000\.0 VAIN/,
    );
    assert.equal(await publicClient.getBalance({ address: emptyOperator }), ethBefore);
    // A missing required option is a user error (exit 2), as the README says, in subcommands too.
    assert.equal((await inProcess(["model", "evaluate"], {})).code, EXIT_USER_ERROR);
    // A flag that looks like a negative number is refused by the parser, also with exit 2.
    assert.equal((await inProcess(["stake", "-5", ...signer], {})).code, EXIT_USER_ERROR);
  });
});
