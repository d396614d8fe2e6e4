/**
 * A node whose task spec differs from the one the task was created with refuses the task with a clear message
 * (issue #22), on a real chain: the task registers the spec's hash, and a node whose spec differs only in its
 * server step (same model, so the chunk count matches) says so and takes no part; a node with the task's spec
 * goes on. The proof mode is compared on its own: a task created without a spec hash is still refused by a node
 * whose spec expects the other mode.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pino from "pino";
import { parseEther } from "viem";

import { minStake, startLocalNetwork, walletFor } from "../../../scripts/support/local-network.ts";
import type { LocalNetwork } from "../../../scripts/support/local-network.ts";
import { createTask } from "../../chain/actions/index.ts";
import type { Mesh } from "../../p2p/mesh.ts";
import { startTestMesh, testOperator } from "../../p2p/testing/fixtures.ts";
import { TrainingPool } from "../../training/pool.ts";
import { taskSpecHash } from "../task-spec-hash.ts";
import { taskSpecSchema } from "../task-spec.ts";
import type { TaskSpec } from "../task-spec.ts";
import { RoundParticipant } from "./participant.ts";
import { TaskSpecMismatchError } from "./spec-check.ts";

const PORT = 18857;

describe("a node with another task spec refuses the task (real chain)", { timeout: 180_000 }, () => {
  let net: LocalNetwork;
  const pool = new TrainingPool({ size: 1 });
  const meshes: Mesh[] = [];

  before(async () => {
    net = await startLocalNetwork(PORT);
  });

  after(async () => {
    for (const mesh of meshes) await mesh.stop().catch(() => undefined);
    await pool.close();
    await net?.stop();
  });

  /** A participant with `spec` on its own mesh, and the log lines it wrote. */
  async function participantWith(spec: TaskSpec, taskId = 1n) {
    const operator = await testOperator(net, await minStake(net));
    const mesh = await startTestMesh(net, operator, { listen: ["/ip4/127.0.0.1/tcp/0"] });
    meshes.push(mesh);
    const lines: { level: number; msg: string; [field: string]: unknown }[] = [];
    const participant = new RoundParticipant({
      mesh,
      publicClient: net.publicClient,
      wallet: await walletFor(net, operator.account),
      contracts: net.addresses,
      taskId,
      spec,
      data: {
        features: new Float32Array(0),
        labels: new Uint8Array(0),
        count: 0,
        featureSize: 784,
        classes: 10,
      },
      pool,
      log: pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
      train: false,
    });
    return { participant, lines };
  }

  it("logs which hash differs and takes no part; the task's own spec joins", async () => {
    const taskSpec = taskSpecSchema.parse({ model: { kind: "mlp" }, aggregation: { proven: false } });
    const otherSpec = taskSpecSchema.parse({
      model: { kind: "mlp" },
      server: { optimizer: "fedavg", lr: 1 },
      aggregation: { proven: false },
    });
    const same = await participantWith(taskSpec);
    const other = await participantWith(otherSpec);
    const treasury = { publicClient: net.publicClient, walletClient: net.deployer, contracts: net.addresses };
    const { taskId } = await createTask(treasury, {
      modelRef: same.participant.initialModelRef,
      specHash: taskSpecHash(taskSpec),
      parameters: same.participant.parameterCount,
      rewardPerRoundWei: parseEther("1"),
      proven: false,
    });
    assert.equal(taskId, 1n);
    assert.equal(
      (await other.participant.readTask()).specHash,
      taskSpecHash(taskSpec),
      "the chain holds the hash",
    );

    await other.participant.tick();
    await other.participant.tick();
    const refusals = other.lines.filter((l) => l.level === 50);
    assert.equal(refusals.length, 1, "one error, logged once");
    assert.match(refusals[0]!.msg, /spec hash on chain is not this node's task spec: not taking part/);
    assert.equal(refusals[0]!["taskSpecHash"], taskSpecHash(taskSpec));
    assert.equal(refusals[0]!["nodeSpecHash"], taskSpecHash(otherSpec));

    assert.ok(other.participant.refusal instanceof TaskSpecMismatchError);
    assert.equal(other.participant.refusal.field, "specHash");

    await same.participant.tick();
    assert.deepEqual(
      same.lines.filter((l) => l.level >= 50),
      [],
      "the task's own spec is not refused",
    );
    assert.equal(same.participant.refusal, undefined);
  });

  it("a node whose spec expects another proof mode refuses the task, with or without a spec hash", async () => {
    const unprovenSpec = taskSpecSchema.parse({ model: { kind: "mlp" }, aggregation: { proven: false } });
    const provenSpec = taskSpecSchema.parse({ model: { kind: "mlp" } });
    assert.equal(provenSpec.aggregation.proven, true, "proven is the default");
    const treasury = { publicClient: net.publicClient, walletClient: net.deployer, contracts: net.addresses };
    // Task 2: no spec hash (a bare createTask), proven rounds.
    const probe = await participantWith(unprovenSpec, 2n);
    const { taskId } = await createTask(treasury, {
      modelRef: probe.participant.initialModelRef,
      parameters: probe.participant.parameterCount,
      rewardPerRoundWei: parseEther("1"),
      proven: true,
    });
    assert.equal(taskId, 2n);
    assert.equal((await probe.participant.readTask()).proven, true, "the chain holds the proof mode");
    const unproven = probe;
    const proven = await participantWith(provenSpec, taskId);

    await unproven.participant.tick();
    await unproven.participant.tick();
    const refusals = unproven.lines.filter((l) => l.level === 50);
    assert.equal(refusals.length, 1, "one error, logged once");
    assert.match(
      refusals[0]!.msg,
      /rounds are proven on chain, this node's task spec says unproven: not taking part .*aggregation\.proven/,
    );
    assert.equal(refusals[0]!["taskProven"], true);
    assert.equal(refusals[0]!["specProven"], false);
    const refusal = unproven.participant.refusal;
    assert.ok(refusal instanceof TaskSpecMismatchError, "a typed refusal");
    assert.equal(refusal.code, "TASK_SPEC_MISMATCH");
    assert.equal(refusal.field, "proven");

    await proven.participant.tick();
    assert.ok(
      !(proven.participant.refusal instanceof TaskSpecMismatchError),
      "a spec that expects proven rounds takes part",
    );
    assert.deepEqual(
      proven.lines.filter((l) => l.level >= 50 && /task spec/.test(l.msg)),
      [],
      "no spec refusal",
    );

    // Task 3: the unproven spec's own hash, but created proven: the proof mode is refused before the hash.
    const { taskId: hashed } = await createTask(treasury, {
      modelRef: probe.participant.initialModelRef,
      specHash: taskSpecHash(unprovenSpec),
      parameters: probe.participant.parameterCount,
      rewardPerRoundWei: parseEther("1"),
      proven: true,
    });
    const mislabelled = await participantWith(unprovenSpec, hashed);
    await mislabelled.participant.tick();
    assert.equal(
      mislabelled.participant.refusal instanceof TaskSpecMismatchError &&
        mislabelled.participant.refusal.field,
      "proven",
    );
  });
});
