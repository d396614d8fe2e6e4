import assert from "node:assert/strict";
import { test } from "node:test";

import {
  PUSH_BACKOFF_FIRST_MS,
  PUSH_BACKOFF_MAX_MS,
  PUSH_TRIES_WITHIN_WAIT,
  pushRetryDelayMs,
} from "./push-backoff.ts";

const LONG_WAIT_MS = 512_000; // the aggregator's wait at 256 nodes in bench:round --scale

test("each failure doubles the pause up to the maximum", () => {
  const top = (failures: number) => pushRetryDelayMs(failures, LONG_WAIT_MS, () => 1 - Number.EPSILON);
  assert.equal(top(1), PUSH_BACKOFF_FIRST_MS);
  assert.equal(top(2), 2 * PUSH_BACKOFF_FIRST_MS);
  assert.equal(top(3), 4 * PUSH_BACKOFF_FIRST_MS);
  assert.equal(top(10), PUSH_BACKOFF_MAX_MS);
  assert.equal(top(1_000), PUSH_BACKOFF_MAX_MS);
  // Never less than half the ceiling: a retry at the next tick is what failed at 256 nodes.
  assert.equal(
    pushRetryDelayMs(1, LONG_WAIT_MS, () => 0),
    PUSH_BACKOFF_FIRST_MS / 2,
  );
});

test("a short aggregator wait still leaves room for several tries", () => {
  const waitMs = 20_000;
  for (let failures = 1; failures < 20; failures++)
    assert.ok(pushRetryDelayMs(failures, waitMs, () => 0.999) <= waitMs / PUSH_TRIES_WITHIN_WAIT);
});

test("trainers that failed together come back spread out", () => {
  // 256 trainers whose third push failed at the same instant: their next tries spread over half the ceiling.
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const delays = Array.from({ length: 256 }, () => pushRetryDelayMs(3, LONG_WAIT_MS, random));
  const ceiling = 4 * PUSH_BACKOFF_FIRST_MS;
  assert.ok(delays.every((d) => d >= ceiling / 2 && d <= ceiling));
  // No 1-second bucket holds more than a fifth of them (all in one bucket without jitter).
  const buckets = new Map<number, number>();
  for (const d of delays) buckets.set(Math.floor(d / 1_000), (buckets.get(Math.floor(d / 1_000)) ?? 0) + 1);
  assert.ok(Math.max(...buckets.values()) < 256 / 5, `buckets ${JSON.stringify([...buckets])}`);
});
