/**
 * How long before its chain deadline an aggregator stops waiting and aggregates what it has: a fixed margin for
 * the post transaction, plus the time its own aggregation of the inputs it holds takes, measured on its last
 * aggregation (issue #21, "deadlines from measurements"). With the fixed 15 s alone, a 256-node round's
 * aggregator started its guarded mean of 254 updates at the margin, posted about 30 s after the deadline on a
 * loaded machine, and was replaced by its backup (2026-12-06, docs/scaling.md).
 */
import { AGGREGATE_MARGIN_SECONDS, MIN_AGGREGATE_MARGIN_SECONDS } from "./context.ts";

/**
 * Aggregation time per input (ms) assumed before this node has aggregated once: the 256-node round above took
 * about 180 ms an update at 0.4 of a core; an idle core takes less, so this is the middle of the two.
 */
export const DEFAULT_AGGREGATION_MS_PER_INPUT = 100;
/** The measured time is doubled: the next round may hold more inputs, or find the machine busier. */
export const AGGREGATION_TIME_SLACK = 2;
/** The aggregation's share never takes more than this fraction of the window the aggregator saw. */
const COMPUTE_SHARE_OF_WINDOW = 4n;

/**
 * Seconds before the aggregation deadline at which the aggregator posts what it has: AGGREGATE_MARGIN_SECONDS,
 * or half the window it saw (at least MIN_AGGREGATE_MARGIN_SECONDS) when that window is shorter than twice the
 * margin. With a 15 s window and the 15 s margin the aggregator posted at selection, before any trainer could
 * deliver: all-zero weights and a failed round whenever the trainers' next tick came late (soak, load 14).
 */
export function postMargin(windowLeftS: bigint | undefined): bigint {
  if (windowLeftS === undefined || windowLeftS >= 2n * AGGREGATE_MARGIN_SECONDS)
    return AGGREGATE_MARGIN_SECONDS;
  const half = windowLeftS / 2n;
  return half > MIN_AGGREGATE_MARGIN_SECONDS ? half : MIN_AGGREGATE_MARGIN_SECONDS;
}

/** This node's aggregation time per input, measured, and the margin it asks for. */
export class AggregationTime {
  private msPerInput = DEFAULT_AGGREGATION_MS_PER_INPUT;

  /** One aggregation of `inputs` updates took `ms`, from the decision to aggregate to its post. */
  record(ms: number, inputs: number): void {
    if (inputs > 0 && Number.isFinite(ms) && ms >= 0) this.msPerInput = ms / inputs;
  }

  /**
   * The margin (chain seconds) for aggregating `inputs` held updates in a window of `windowLeftS`: `postMargin`
   * plus the measured time of that many inputs with slack, the latter at most a quarter of the window.
   */
  marginS(windowLeftS: bigint | undefined, inputs: number): bigint {
    const compute = BigInt(Math.ceil((inputs * this.msPerInput * AGGREGATION_TIME_SLACK) / 1000));
    const cap = windowLeftS === undefined ? compute : windowLeftS / COMPUTE_SHARE_OF_WINDOW;
    return postMargin(windowLeftS) + (compute < cap ? compute : cap);
  }
}
