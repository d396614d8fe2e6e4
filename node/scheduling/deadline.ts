/**
 * How long to wait for a node's work from its measured speed: the expected time with slack, plus a fixed overhead
 * (DEADLINE_SLACK, DEADLINE_OVERHEAD_MS). The bench's work assignment (scripts/bench/scheduling) sizes shares
 * with it, and a flat round's aggregator sizes its wait for the next update from the arrivals it measured
 * (round/aggregator.ts `waitMsFor`).
 */
import { DEADLINE_OVERHEAD_MS, DEADLINE_SLACK } from "./constants.ts";
import { SchedulingError } from "./errors.ts";

export interface DeadlineOptions {
  /** Multiplier on the expected compute time (noise margin). */
  readonly slack?: number;
  /** Fixed time for model download, compression and upload. */
  readonly overheadMs?: number;
}

/** Time budget, in ms, for a node of speed `stepsPerSec` to run `steps` steps and deliver its update. */
export function deadlineFor(stepsPerSec: number, steps: number, options: DeadlineOptions = {}): number {
  if (!(stepsPerSec > 0))
    throw new SchedulingError("SCHEDULING_INVALID_INPUT", `speed must be > 0, got ${stepsPerSec}`);
  const slack = options.slack ?? DEADLINE_SLACK;
  const overhead = options.overheadMs ?? DEADLINE_OVERHEAD_MS;
  return overhead + (slack * steps * 1000) / stepsPerSec;
}
