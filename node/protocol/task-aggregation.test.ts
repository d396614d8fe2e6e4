/**
 * The aggregation rule is a task spec field (issue #22): the spec's schema refuses, with the reason and the field
 * to change, every rule and mode combination no node's rounds can run, and the node rules are derived from the
 * registry.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { zeroHash } from "viem";

import { AGGREGATION_RULES } from "../aggregation/rules/index.ts";
import { taskConfig, taskRuleId } from "../chain/actions/create-task.ts";
import { TaskSpecMismatchError, specRefusal } from "./round/spec-check.ts";
import { NODE_RULE_NAMES, TASK_RULE_NAMES } from "./task-aggregation.ts";
import { taskSpecHash } from "./task-spec-hash.ts";
import { taskSpecSchema } from "./task-spec.ts";

/** The issues of parsing `{ model: mlp, ...fields }`, as path and message. */
function issues(fields: Record<string, unknown>): { path: string; message: string }[] {
  const parsed = taskSpecSchema.safeParse({ model: { kind: "mlp" }, ...fields });
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

describe("the task spec's aggregation rule", () => {
  it("defaults to the proven guarded mean, and a rule changes the spec's hash", () => {
    const spec = taskSpecSchema.parse({ model: { kind: "mlp" } });
    assert.equal(spec.aggregation.rule, "guarded-mean");
    assert.equal(spec.aggregation.proven, true);
    const fedavg = taskSpecSchema.parse({ model: { kind: "mlp" }, aggregation: { rule: "fedavg" } });
    assert.notEqual(taskSpecHash(fedavg), taskSpecHash(spec));
  });

  it("runs in the node only the registry's task rules whose output is the weighted mean a round posts", () => {
    assert.deepEqual(
      [...NODE_RULE_NAMES].sort(),
      ["fedavg", "guarded-mean", "krum", "multi-krum", "screened-mean"],
      "Krum and Multi-Krum post the weighted mean of the updates they select",
    );
    for (const rule of AGGREGATION_RULES) {
      const nodeRule = NODE_RULE_NAMES.includes(rule.name);
      assert.equal(nodeRule, rule.taskMode && rule.provable({}), rule.name);
      if (!rule.taskMode) continue;
      for (const proven of [true, false]) {
        const found = issues({ aggregation: { rule: rule.name, proven } });
        if (nodeRule) assert.deepEqual(found, [], `${rule.name} proven ${proven}`);
        else {
          assert.equal(found.length, 1, `${rule.name} proven ${proven}`);
          assert.equal(found[0]!.path, "aggregation.rule");
          assert.match(
            found[0]!.message,
            proven
              ? /the zk circuit cannot prove/
              : /does not output a weighted mean of the committed updates/,
          );
          assert.match(
            found[0]!.message,
            /choose one of fedavg, krum, multi-krum, screened-mean, guarded-mean/,
          );
        }
      }
    }
  });

  it("refuses an unknown rule by name, before any rule logic", () => {
    const found = issues({ aggregation: { rule: "mean" } });
    assert.equal(found.length, 1);
    assert.equal(found[0]!.path, "aggregation.rule");
    assert.match(found[0]!.message, /Invalid enum value/);
    for (const name of TASK_RULE_NAMES) assert.match(found[0]!.message, new RegExp(`'${name}'`));
  });

  it("refuses secure aggregation with a screening rule, a proven task, and the node's unmasked rounds", () => {
    const screened = issues({ privacy: { secureAggregation: true } });
    assert.equal(screened[0]?.path, "privacy");
    assert.match(screened[0]!.message, /secure aggregation hides individual updates, so "guarded-mean"/);
    const proven = issues({ aggregation: { rule: "fedavg" }, privacy: { secureAggregation: true } });
    assert.equal(proven[0]?.path, "privacy");
    assert.match(proven[0]!.message, /a proven task cannot use secure aggregation/);
    const unproven = issues({
      aggregation: { rule: "fedavg", proven: false },
      privacy: { secureAggregation: true },
    });
    assert.equal(unproven[0]?.path, "privacy");
    assert.match(unproven[0]!.message, /no masked aggregation/);
    assert.deepEqual(
      issues({ aggregation: { rule: "fedavg" }, privacy: { dp: { clipNorm: 1, noiseMultiplier: 1 } } }),
      [],
      "DP combines with every node rule",
    );
  });

  it("is what the task records on chain, and a node with another rule refuses the task", () => {
    const spec = taskSpecSchema.parse({
      model: { kind: "mlp" },
      aggregation: { rule: "screened-mean", proven: false },
    });
    const config = taskConfig({
      modelRef: zeroHash,
      parameters: 101_770,
      rewardPerRoundWei: 1n,
      rule: spec.aggregation.rule,
      proven: spec.aggregation.proven,
    });
    assert.equal(config.ruleId, taskRuleId("screened-mean"));
    assert.equal(config.proven, false);
    const own = {
      parameters: 101_770,
      specHash: taskSpecHash(spec),
      rule: spec.aggregation.rule,
      proven: spec.aggregation.proven,
    };
    const task = {
      numChunks: config.numChunks,
      specHash: zeroHash,
      ruleId: config.ruleId,
      proven: config.proven,
    };
    assert.equal(specRefusal(task, own), undefined, "the spec's own rule joins");
    const refusal = specRefusal({ ...task, ruleId: taskRuleId("fedavg") }, own);
    assert.ok(refusal instanceof TaskSpecMismatchError);
    assert.equal(refusal.field, "rule");
    assert.match(refusal.message, /aggregation rule on chain is not this node's task spec's/);
    assert.deepEqual(refusal.fields, { taskRule: "fedavg", specRule: "screened-mean" });
    const proven = specRefusal({ ...task, proven: true }, own);
    assert.equal(proven?.field, "proven", "a task proven on chain is not this unproven spec's");
    assert.deepEqual(proven?.fields, { taskProven: true, specProven: false });
  });
});
