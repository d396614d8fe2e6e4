/**
 * TaskRule's fold of rounds another node aggregated (`holdRevealed`, `foldPastRounds`), with the task's real rule in
 * its worker thread: the revealed updates of a held round go into the rule's silent memories exactly as if this node
 * had screened the round, the same on every node; what it holds is bounded; a peer's bad bytes fold nothing and never
 * crash it. The attackers are silent-history.test.ts's: three split a trigger's rows among themselves under every
 * round's bound, and are rejected from their second round only by a rule that remembers their first.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import pino from "pino";
import type { Hex } from "viem";

import { inputGroups } from "../../aggregation/coordinate-groups.ts";
import { RoundState } from "../../chain/contracts.ts";
import { encodeUpdate } from "../../compression/index.ts";
import { Rng } from "../../core/rng.ts";
import { createModel } from "../../training/architectures.ts";
import { taskSpecSchema } from "../task-spec.ts";
import type { RoundContext } from "./context.ts";
import { TRUST_FOLD_ROUNDS } from "./context.ts";
import { TaskRule } from "./task-rule.ts";

const spec = taskSpecSchema.parse({ model: { kind: "mlp", hidden: [8] } });
const layout = createModel(spec.model).layout;
const GROUPS = inputGroups(layout);
const SIZE = layout.size;
const ATTACKERS = 3;
const HONEST = 7;
const TRAINERS = Array.from(
  { length: ATTACKERS + HONEST },
  (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Hex,
);
/** Input rows every trainer's top-k reaches, rows honest updates reach one at a time, the trigger's rows. */
const COMMON_ROWS = 300;
const RARE = [300, 700] as const;
const TRIGGER_ROWS = [775, 776, 777, 778, 779, 780, 781, 782, 783];
const TASK = 7n;

/** One trainer's sparse update (silent-history.test.ts's shape on the model's input rows). */
function sparseUpdate(rng: Rng, rareRow: number, triggerRows: readonly number[], trigger: number) {
  const u = new Float32Array(SIZE);
  for (let g = 0; g < COMMON_ROWS; g++)
    for (let j = GROUPS[g]!; j < GROUPS[g + 1]!; j++) u[j] = 0.01 * (1 + Math.sin(j)) + 0.005 * rng.normal();
  let energy = 0;
  for (const x of u) energy += x * x;
  u[GROUPS[rareRow]! + rng.int(8)] = Math.sqrt(0.01 * energy);
  for (const g of triggerRows) u[GROUPS[g]!] = Math.sqrt((trigger * energy) / triggerRows.length);
  return u;
}

function roundUpdates(rng: Rng): Float32Array[] {
  const free = Array.from({ length: RARE[1] - RARE[0] }, (_, k) => RARE[0] + k);
  const rare = () => free.splice(rng.int(free.length), 1)[0]!;
  return [
    ...Array.from({ length: ATTACKERS }, (_, i) =>
      sparseUpdate(
        rng,
        rare(),
        TRIGGER_ROWS.filter((_, r) => r % ATTACKERS === i),
        0.036,
      ),
    ),
    ...Array.from({ length: HONEST }, () => sparseUpdate(rng, rare(), [], 0)),
  ];
}

/** The wire bytes a trainer commits (float values at the non-zero coordinates). */
function wire(update: Float32Array): Uint8Array {
  const indices = Uint32Array.from([...update.keys()].filter((j) => update[j] !== 0));
  const values = new Float32Array(indices.length);
  for (let k = 0; k < indices.length; k++) values[k] = update[indices[k]!]!;
  return encodeUpdate({ dimension: update.length, indices, values });
}

/** A node's TaskRule whose chain reports `finalized` rounds of the task, aggregated by someone else. */
function taskRule(finalized: ReadonlySet<bigint>): TaskRule {
  const ctx = {
    me: "0x00000000000000000000000000000000000000ee",
    paramSize: SIZE,
    signal: new AbortController().signal,
    log: pino({ level: "silent" }),
    options: { spec },
    chain: {
      readRound: async (id: bigint) => ({
        taskId: TASK,
        state: finalized.has(id) ? RoundState.Finalized : RoundState.Open,
        aggregator: "0x00000000000000000000000000000000000000aa",
        trainers: TRAINERS,
        weights: TRAINERS.map(() => 100n),
      }),
    },
  } as unknown as RoundContext;
  return new TaskRule(ctx);
}

/** Round 2's decision by `rule` (its weights and evidence). */
async function second(rule: TaskRule, updates: readonly Float32Array[]) {
  const result = await rule.aggregate(
    2n,
    updates.map((update) => ({ update, weight: 100 })),
    { trainers: TRAINERS.map((t) => t.toLowerCase()), round: 2 },
  );
  return { weights: result.acceptedWeights, evidence: result.evidence };
}

describe("TaskRule folds of rounds others aggregated", () => {
  const rng = new Rng(1);
  const [first, next] = [roundUpdates(rng), roundUpdates(rng)];
  const held = first!.map(wire);

  it("folds a held round into the silent memories, the same on every node, and rejects the split trigger from round 2", async () => {
    const decisions = [];
    for (const hold of [true, true, false]) {
      const rule = taskRule(new Set([1n]));
      if (hold) rule.holdRevealed(1n, held);
      assert.equal(rule.holdsRevealed(1n), hold);
      await rule.foldPastRounds(2n, TASK);
      decisions.push(await second(rule, next!));
    }
    const [a, b, blind] = decisions;
    assert.deepEqual(a, b, "two nodes holding the same round decide alike");
    assert.deepEqual(
      a!.weights.slice(0, ATTACKERS),
      [0, 0, 0],
      `with round 1 folded: ${a!.evidence?.join(" | ")}`,
    );
    assert.ok(a!.weights.slice(ATTACKERS).every((w) => w > 0));
    assert.ok(
      blind!.weights.slice(0, ATTACKERS).every((w) => w > 0),
      `folded from weights only, the attackers' first push is not remembered: ${blind!.evidence?.join(" | ")}`,
    );
  });

  it("drops a held round once folded, and holds at most TRUST_FOLD_ROUNDS rounds back", async () => {
    const rule = taskRule(new Set());
    for (let id = 1n; id <= 40n; id++) rule.holdRevealed(id, held);
    const holding = Array.from({ length: 40 }, (_, k) => BigInt(k + 1)).filter((id) =>
      rule.holdsRevealed(id),
    );
    assert.deepEqual(holding[0], 40n - TRUST_FOLD_ROUNDS);
    assert.equal(holding.length, Number(TRUST_FOLD_ROUNDS) + 1);
    await rule.foldPastRounds(41n, TASK);
    for (let id = 1n; id <= 40n; id++) assert.equal(rule.holdsRevealed(id), false);
    // A round older than what was folded is not kept again.
    rule.holdRevealed(30n, held);
    assert.equal(rule.holdsRevealed(30n), false);
  });

  it("folds a peer's undecodable bytes or a short list as weights only, never crashing", async () => {
    const clean = taskRule(new Set([1n]));
    await clean.foldPastRounds(2n, TASK);
    const expected = await second(clean, next!);
    const junk = [...held];
    junk[4] = Uint8Array.of(1, 2, 3);
    const wrongSize = [...held];
    wrongSize[5] = wire(new Float32Array(SIZE + 8).fill(0.5));
    for (const bad of [junk, wrongSize, held.slice(0, 4), [], held.map(() => new Uint8Array(0))]) {
      const rule = taskRule(new Set([1n]));
      rule.holdRevealed(1n, bad);
      await rule.foldPastRounds(2n, TASK);
      assert.deepEqual(await second(rule, next!), expected);
    }
  });
});
