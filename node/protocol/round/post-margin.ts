/**
 * How long before its chain deadline an aggregator stops waiting and aggregates what it has: a fixed margin for
 * the post transaction, plus what the rest of the path from that decision to the mined post costs this node,
 * measured (issue #21, "deadlines from measurements"):
 *
 * - its tick gap: the decision is taken on a round tick, so the tick that sees the margin reached can come one
 *   whole gap (poll interval plus its slowest recent tick) after the moment it was reached;
 * - its aggregation compute (screening, the aggregate's commitment, a chained round's link tree), measured on
 *   its last aggregation per input, a default before the first;
 * - its transactions before the post is mined (a chained round's link root, the post), each at the slowest
 *   recent transaction of its wallet (queue wait, send, receipt).
 *
 * With the fixed 15 s plus compute alone, 31 of 32 leaf aggregators of the 512-node three-level bench missed their
 * 600 s deadline (2026-12-07, docs/scaling.md Session 20): their tick came every 16.4 s (the bench polls every
 * 32 ms a node), and the path from the decision to the mined post held two transactions on a loaded chain. Before,
 * a 256-node round's aggregator started its guarded mean of 254 updates at the fixed margin and posted about 30 s
 * late (session 13).
 */
import { AGGREGATE_MARGIN_SECONDS, MIN_AGGREGATE_MARGIN_SECONDS } from "./context.ts";

/**
 * Aggregation time per input (ms) assumed before this node has aggregated once: the 256-node round above took
 * about 180 ms an update at 0.4 of a core; an idle core takes less, so this is the middle of the two.
 */
export const DEFAULT_AGGREGATION_MS_PER_INPUT = 100;
/**
 * Aggregation time that does not grow with the inputs (ms), assumed before the first measurement. The aggregate's
 * commitment and a chained round's link tree of the bench's small model (199 chunks) took 0.9 and 1.5 s on an idle
 * core, but from the decision to the first transaction a leaf aggregator took 3-29 s with 8 aggregating in one
 * process (128 nodes) and 32-100 s with 32 (512 nodes; 2026-12-07, docs/scaling.md Session 20). Too high costs
 * a first aggregation some waiting (it posts earlier, with what it holds); too low costs its stake.
 */
export const DEFAULT_AGGREGATION_FIXED_MS = 30_000;
/** The measured times are doubled: the next round may hold more inputs, or find the machine busier. */
export const AGGREGATION_TIME_SLACK = 2;
/**
 * The margin's measured share takes at most this fraction of the window the aggregator saw, less the fixed margin:
 * it still waits at least as long for updates. A quarter of the window bound the 512-node bench's leaf aggregators
 * at 164 s of a 600 s window when their path took 153 s after the tick (28 aggregating at once in one process):
 * 6 of 32 missed their deadline by seconds (2026-12-07, docs/scaling.md Session 20).
 */
const EXTRA_SHARE_OF_WINDOW = 2n;

/** What the path from the decision to a mined post costs this node besides its compute, measured (ms). */
export interface PathCosts {
  /** The longest expected time between two of its round ticks: the poll interval plus its slow recent tick. */
  readonly tickGapMs: number;
  /** Its wallet's slowest recent transaction, from queued to mined (0 before it sent one). */
  readonly txMs: number;
}

/** No measurement (tests, and nodes before their first tick and transaction). */
export const NO_PATH_COSTS: PathCosts = { tickGapMs: 0, txMs: 0 };

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

/** This node's aggregation time, measured, and the margin it asks for. */
export class AggregationTime {
  private measured: { msPerInput: number } | undefined;

  /** One aggregation of `inputs` updates computed for `ms` (from the decision to its first transaction). */
  record(ms: number, inputs: number): void {
    if (inputs > 0 && Number.isFinite(ms) && ms >= 0) this.measured = { msPerInput: ms / inputs };
  }

  /** The compute of aggregating `inputs` (ms, before slack): measured per input, or the defaults. */
  computeMs(inputs: number): number {
    if (inputs === 0) return 0;
    if (this.measured !== undefined) return inputs * this.measured.msPerInput;
    return DEFAULT_AGGREGATION_FIXED_MS + inputs * DEFAULT_AGGREGATION_MS_PER_INPUT;
  }

  /**
   * The margin (chain seconds) for aggregating `inputs` held updates and sending `txs` transactions in a window
   * of `windowLeftS`: `postMargin`, plus one tick gap and, with slack, the compute and the transactions; the
   * latter share at most half of what the window leaves after `postMargin` (the aggregator waits as long for
   * updates).
   */
  marginS(
    windowLeftS: bigint | undefined,
    inputs: number,
    costs: PathCosts = NO_PATH_COSTS,
    txs = 1,
  ): bigint {
    // Before its first aggregation, the compute is at least one tick gap: the gap is this node's own measure of how
    // slowly its event loop turns, and an aggregation takes many turns. At 1,000 nodes in 4 hosts (session 23) leaf
    // aggregations took 158-295 s for 1-4 inputs against tick gaps of 74-104 s; 4 first-time aggregators whose
    // wallets' transactions had been fast (1.9-9.3 s) decided on the 30 s default with 142-187 s left, computed for
    // 172-199 s and missed their deadline (slashed).
    const computeMs =
      inputs > 0 && this.measured === undefined
        ? Math.max(this.computeMs(inputs), costs.tickGapMs)
        : this.computeMs(inputs);
    const extraMs =
      costs.tickGapMs + AGGREGATION_TIME_SLACK * (computeMs + (inputs === 0 ? 1 : txs) * costs.txMs);
    const extra = BigInt(Math.ceil(extraMs / 1000));
    const fixed = postMargin(windowLeftS);
    const room = windowLeftS === undefined || windowLeftS < fixed ? 0n : windowLeftS - fixed;
    const cap = windowLeftS === undefined ? extra : room / EXTRA_SHARE_OF_WINDOW;
    return fixed + (extra < cap ? extra : cap);
  }
}
