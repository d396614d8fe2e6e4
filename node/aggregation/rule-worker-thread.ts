/**
 * The aggregation rule's worker thread (rule-worker.ts): holds one rule instance, so a rule with history (the
 * guarded mean's trainer trust) keeps it across rounds, and runs it on the updates it is sent in batches.
 */
import { parentPort, workerData } from "node:worker_threads";

import type { WeightedUpdate } from "../core/updates.ts";
import { aggregationRule } from "./rules/index.ts";
import type { RuleWorkerRequest, RuleWorkerResponse, RuleWorkerSpec } from "./rule-worker.ts";

const spec = workerData as RuleWorkerSpec;
const rule = aggregationRule(spec.name).create(spec.options);
/** The updates of the job under way (`id`): they arrive in batches before its `aggregate` message. */
let pending: { id: number; updates: WeightedUpdate[] } = { id: 0, updates: [] };

parentPort?.on("message", (request: RuleWorkerRequest) => {
  switch (request.kind) {
    case "observe":
      rule.observeOutcome?.(request.outcome);
      return;
    case "updates":
      if (pending.id !== request.id) pending = { id: request.id, updates: [] };
      pending.updates.push(...request.updates);
      return;
    case "aggregate": {
      const updates = pending.id === request.id ? pending.updates : [];
      pending = { id: 0, updates: [] };
      let response: RuleWorkerResponse;
      try {
        response = { id: request.id, result: rule.aggregate(updates, request.context) };
      } catch (error) {
        const { name, message } = error instanceof Error ? error : new Error(String(error));
        response = { id: request.id, error: { name, message } };
      }
      parentPort?.postMessage(response);
      return;
    }
  }
});
