/**
 * Anomaly detection on the node's own resource series and on peers' behaviour (update norms, latencies,
 * message rates), raising typed events that reputation (node/reputation) and logs consume.
 *
 * Two detectors per series, because they fail differently:
 * - EWMA with exponentially weighted variance: follows slow drift, reacts to a sudden jump within one sample.
 * - Robust (modified) z-score over a sliding window, `0.6745·(x − median)/MAD` (Iglewicz & Hoaglin 1993):
 *   a few outliers in the window do not inflate the baseline the way they inflate a mean and variance, so an
 *   attacker cannot "train" the detector with a burst of extreme values.
 */
import {
  EWMA_ALPHA,
  EWMA_THRESHOLD_STD,
  EWMA_WARMUP_SAMPLES,
  MESSAGE_RATE_WINDOW_MS,
  MIN_RELATIVE_SCALE,
  ROBUST_Z_MIN_SAMPLES,
  ROBUST_Z_THRESHOLD,
  ROBUST_Z_WINDOW_SAMPLES,
} from "./constants.ts";

/** Who the series is about. */
export type AnomalySubject =
  | { readonly kind: "host" }
  | { readonly kind: "peer"; readonly peerId: string; readonly operator?: `0x${string}` };

/** Series the node watches; peers' series are what reputation penalises. */
export type AnomalyMetric =
  | "cpuPercent"
  | "memoryRssBytes"
  | "diskFreeBytes"
  | "netBytesPerSecond"
  | "updateNorm"
  | "latencyMs"
  | "messageRate"
  | "robustAggregation";

export type DetectorKind = "ewma" | "robust-z" | "robust-aggregation";

/** Raised when a value leaves its series' normal range. */
export interface AnomalyEvent {
  readonly type: "anomaly";
  readonly subject: AnomalySubject;
  readonly metric: AnomalyMetric;
  readonly detector: DetectorKind;
  readonly value: number;
  /** The detector's baseline (EWMA mean or window median) before this value. */
  readonly baseline: number;
  /** Signed score in standard deviations (or modified z units); positive = above the baseline. */
  readonly score: number;
  /** How far past the threshold, in [0, 1]: 0 just over it, 1 at 3× the threshold or more. */
  readonly severity: number;
  readonly direction: "high" | "low";
  readonly atMs: number;
  /** Human-readable reasons (from robust aggregation). */
  readonly reasons?: readonly string[];
}

export interface Detection {
  readonly score: number;
  readonly baseline: number;
  readonly anomalous: boolean;
}

function severityOf(score: number, threshold: number): number {
  return Math.min(1, Math.max(0, (Math.abs(score) - threshold) / (2 * threshold)));
}

export interface EwmaOptions {
  /** Weight of the newest value (0 < alpha <= 1); 0.1 ≈ a memory of ~10 samples. */
  readonly alpha?: number;
  /** |score| above this is anomalous (in standard deviations). */
  readonly threshold?: number;
  /** Samples needed before scores count (the variance estimate is meaningless before). */
  readonly warmup?: number;
  /** Floor on the standard deviation, relative to |mean|, so a perfectly flat series does not flag noise. */
  readonly minRelativeStd?: number;
  /** Absolute floor on the standard deviation (the series' resolution, e.g. 1 ms or 1 message/s). */
  readonly minStd?: number;
}

/** Exponentially weighted mean and variance (West 1979 incremental form). */
export class EwmaDetector {
  private readonly alpha: number;
  private readonly threshold: number;
  private readonly warmup: number;
  private readonly minRelativeStd: number;
  private readonly minStd: number;
  private mean = 0;
  private variance = 0;
  private count = 0;

  constructor(options: EwmaOptions = {}) {
    this.alpha = options.alpha ?? EWMA_ALPHA;
    this.threshold = options.threshold ?? EWMA_THRESHOLD_STD;
    this.warmup = options.warmup ?? EWMA_WARMUP_SAMPLES;
    this.minRelativeStd = options.minRelativeStd ?? MIN_RELATIVE_SCALE;
    this.minStd = options.minStd ?? 0;
    if (!(this.alpha > 0 && this.alpha <= 1))
      throw new RangeError(`alpha must be in (0, 1], got ${this.alpha}`);
  }

  /** Scores `value` against the state before it, then absorbs it. */
  update(value: number): Detection {
    if (this.count === 0) {
      this.mean = value;
      this.count = 1;
      return { score: 0, baseline: value, anomalous: false };
    }
    const baseline = this.mean;
    const std = Math.max(
      Math.sqrt(this.variance),
      Math.abs(baseline) * this.minRelativeStd,
      this.minStd,
      Number.EPSILON,
    );
    const score = (value - baseline) / std;
    const diff = value - this.mean;
    const increment = this.alpha * diff;
    this.mean += increment;
    this.variance = (1 - this.alpha) * (this.variance + diff * increment);
    this.count++;
    return { score, baseline, anomalous: this.count > this.warmup && Math.abs(score) > this.threshold };
  }

  get samples(): number {
    return this.count;
  }

  get limit(): number {
    return this.threshold;
  }
}

export interface RobustZOptions {
  /** Sliding window length. */
  readonly window?: number;
  /** |modified z| above this is anomalous; 3.5 is Iglewicz & Hoaglin's recommendation. */
  readonly threshold?: number;
  /** Samples needed in the window before scores count. */
  readonly minSamples?: number;
  /** Floor on the scale relative to |median| (a constant series has MAD 0). */
  readonly minRelativeMad?: number;
  /** Absolute floor on the scale, in the series' unit (its resolution: 1 ms, 1 message/s). */
  readonly minMad?: number;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Modified z-score against the median and median absolute deviation of a sliding window. */
export class RobustZScoreDetector {
  private readonly window: number;
  private readonly threshold: number;
  private readonly minSamples: number;
  private readonly minRelativeMad: number;
  private readonly minMad: number;
  private readonly values: number[] = [];

  constructor(options: RobustZOptions = {}) {
    this.window = options.window ?? ROBUST_Z_WINDOW_SAMPLES;
    this.threshold = options.threshold ?? ROBUST_Z_THRESHOLD;
    this.minSamples = options.minSamples ?? ROBUST_Z_MIN_SAMPLES;
    this.minRelativeMad = options.minRelativeMad ?? MIN_RELATIVE_SCALE;
    this.minMad = options.minMad ?? 0;
    if (!(this.window >= 3)) throw new RangeError(`window must be >= 3, got ${this.window}`);
  }

  /** Scores `value` against the window before it, then adds it. */
  update(value: number): Detection {
    const sorted = [...this.values].sort((a, b) => a - b);
    const baseline = median(sorted);
    let result: Detection = { score: 0, baseline, anomalous: false };
    if (sorted.length > 0) {
      const deviations = sorted.map((v) => Math.abs(v - baseline));
      const mad = median([...deviations].sort((a, b) => a - b));
      // MAD is 0 when over half the window is one value; then the mean absolute deviation (scaled to agree
      // with MAD on normal data: 0.6745 / 0.7979) is the usual fallback.
      const spread =
        mad > 0 ? mad : (deviations.reduce((s, d) => s + d, 0) / deviations.length) * (0.6745 / 0.7979);
      const scale = Math.max(spread, Math.abs(baseline) * this.minRelativeMad, this.minMad, Number.EPSILON);
      const score = (0.6745 * (value - baseline)) / scale;
      result = {
        score,
        baseline,
        anomalous: sorted.length >= this.minSamples && Math.abs(score) > this.threshold,
      };
    }
    this.values.push(value);
    if (this.values.length > this.window) this.values.shift();
    return result;
  }

  get limit(): number {
    return this.threshold;
  }
}

export interface AnomalyDetectorOptions {
  readonly ewma?: EwmaOptions;
  readonly robust?: RobustZOptions;
  /** Which directions count per metric; e.g. only a *drop* in free disk or a *rise* in latency matters. */
  readonly directions?: Partial<Record<AnomalyMetric, "high" | "low" | "both">>;
  /** Clock (tests). */
  readonly now?: () => number;
}

/** Default directions: what hurts the node or signals misbehaviour. */
export const DEFAULT_DIRECTIONS: Readonly<Record<AnomalyMetric, "high" | "low" | "both">> = {
  cpuPercent: "high",
  memoryRssBytes: "high",
  diskFreeBytes: "low",
  netBytesPerSecond: "high",
  updateNorm: "both",
  latencyMs: "high",
  messageRate: "high",
  robustAggregation: "both",
};

/**
 * Resolution of each series, used as the detectors' absolute scale floor so quantised series (integer
 * milliseconds, message counts) do not turn a one-step change into a many-sigma event.
 */
export const DEFAULT_RESOLUTION: Readonly<Partial<Record<AnomalyMetric, number>>> = {
  cpuPercent: 2,
  latencyMs: 2,
  messageRate: 1,
  memoryRssBytes: 16 * 2 ** 20,
  diskFreeBytes: 64 * 2 ** 20,
  netBytesPerSecond: 16 * 2 ** 10,
};

export type AnomalyListener = (event: AnomalyEvent) => void;

function subjectKey(subject: AnomalySubject): string {
  return subject.kind === "host" ? "host" : `peer:${subject.peerId}`;
}

/**
 * Keeps an EWMA and a robust z detector per (subject, metric) and emits one event per anomalous value
 * (the robust detector's when both fire: its baseline is the harder one to manipulate).
 */
export class AnomalyDetector {
  private readonly options: AnomalyDetectorOptions;
  private readonly series = new Map<string, { ewma: EwmaDetector; robust: RobustZScoreDetector }>();
  private readonly listeners = new Set<AnomalyListener>();

  constructor(options: AnomalyDetectorOptions = {}) {
    this.options = options;
  }

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: AnomalyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: AnomalyEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Feeds one value of a series; returns (and emits) the event if it is anomalous. Non-finite values are ignored. */
  observe(
    subject: AnomalySubject,
    metric: AnomalyMetric,
    value: number,
    atMs?: number,
  ): AnomalyEvent | undefined {
    if (!Number.isFinite(value)) return undefined;
    const key = `${subjectKey(subject)}|${metric}`;
    let detectors = this.series.get(key);
    if (detectors === undefined) {
      detectors = {
        ewma: new EwmaDetector(this.options.ewma),
        robust: new RobustZScoreDetector(this.options.robust),
      };
      this.series.set(key, detectors);
    }
    const robust = detectors.robust.update(value);
    const ewma = detectors.ewma.update(value);
    const wanted = this.options.directions?.[metric] ?? DEFAULT_DIRECTIONS[metric];
    const counts = (d: Detection) =>
      d.anomalous && (wanted === "both" || (wanted === "high" ? d.score > 0 : d.score < 0));
    const [detector, hit, limit] = counts(robust)
      ? (["robust-z", robust, detectors.robust.limit] as const)
      : counts(ewma)
        ? (["ewma", ewma, detectors.ewma.limit] as const)
        : [undefined, undefined, 0];
    if (detector === undefined) return undefined;
    const event: AnomalyEvent = {
      type: "anomaly",
      subject,
      metric,
      detector,
      value,
      baseline: hit.baseline,
      score: hit.score,
      severity: severityOf(hit.score, limit),
      direction: hit.score > 0 ? "high" : "low",
      atMs: atMs ?? (this.options.now ?? Date.now)(),
    };
    this.emit(event);
    return event;
  }

  /** Forgets a subject's series (a peer that left). */
  forget(subject: AnomalySubject): void {
    const prefix = `${subjectKey(subject)}|`;
    for (const key of this.series.keys()) if (key.startsWith(prefix)) this.series.delete(key);
  }
}

/**
 * Counts messages per peer in fixed windows and reports each closed window's rate (messages per second) to an
 * `AnomalyDetector`, so a peer that floods gossip is flagged against its own history.
 */
export class MessageRateTracker {
  private readonly detector: AnomalyDetector;
  private readonly windowMs: number;
  private readonly counts = new Map<string, { subject: AnomalySubject; start: number; count: number }>();

  constructor(detector: AnomalyDetector, windowMs = MESSAGE_RATE_WINDOW_MS) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    this.detector = detector;
    this.windowMs = windowMs;
  }

  /** Records one message from `subject` at `atMs`; returns an event when a closed window was anomalous. */
  record(subject: AnomalySubject & { kind: "peer" }, atMs: number = Date.now()): AnomalyEvent | undefined {
    const state = this.counts.get(subject.peerId);
    if (state === undefined) {
      this.counts.set(subject.peerId, { subject, start: atMs, count: 1 });
      return undefined;
    }
    let event: AnomalyEvent | undefined;
    if (atMs - state.start >= this.windowMs) {
      // close the window, and report empty windows in between as zero rate (quiet is not anomalous: "high")
      event = this.detector.observe(subject, "messageRate", (state.count * 1000) / this.windowMs, atMs);
      const skipped = Math.floor((atMs - state.start) / this.windowMs) - 1;
      for (let i = 0; i < Math.min(skipped, 8); i++) this.detector.observe(subject, "messageRate", 0, atMs);
      state.start += (skipped + 1) * this.windowMs;
      state.count = 0;
    }
    state.count++;
    return event;
  }
}
