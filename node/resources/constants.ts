/**
 * Defaults for resource monitoring and limits, each with the reason for its value.
 */

/** Sampling period of the resource monitor: fine enough to see a training burst, cheap (< 1 ms of CPU). */
export const MONITOR_INTERVAL_MS = 5_000;

/** Standard profile: leave one core to the event loop (libp2p, chain, API) when there is more than one. */
export const STANDARD_RESERVED_CORES = 1;
/** Standard profile: at most half of the host's memory, so a desktop stays usable while training. */
export const STANDARD_MEMORY_FRACTION = 0.5;
/** Standard profile: the data directory may use half of the free disk, capped at 20 GiB. */
export const STANDARD_DISK_FRACTION = 0.5;
export const STANDARD_DISK_CAP_BYTES = 20 * 2 ** 30;
/** Standard profile: enough connections for a gossip mesh (D ≈ 6–12) plus update streams to aggregators. */
export const STANDARD_MAX_CONNECTIONS = 64;
/** Standard profile batch: onnxruntime's per-call overhead is amortised by 64 rows (bench:training). */
export const STANDARD_BATCH_SIZE = 64;

/** Low-power profile: one training thread so a phone-class or battery device stays cool and responsive. */
export const LOW_POWER_THREADS = 1;
/** Low-power profile: at most 512 MiB or a quarter of memory, whichever is smaller. */
export const LOW_POWER_MEMORY_CAP_BYTES = 512 * 2 ** 20;
export const LOW_POWER_MEMORY_FRACTION = 0.25;
/** Low-power profile: 2 GiB of disk at most (a few checkpoints and one dataset shard). */
export const LOW_POWER_DISK_CAP_BYTES = 2 * 2 ** 30;
/** Low-power profile: gossip's lower degree bound (Dlo = 4) plus a few streams. */
export const LOW_POWER_MAX_CONNECTIONS = 16;
/** Low-power profile: small batches keep peak memory low (activations scale with batch size). */
export const LOW_POWER_BATCH_SIZE = 16;
/** Low-power profile: 1 MiB/s, a typical mobile uplink, so the node does not saturate a metered link. */
export const LOW_POWER_BANDWIDTH_BYTES_PER_SEC = 2 ** 20;

/** Rate limiter burst when none is given: one second of traffic, so short messages are never delayed. */
export const DEFAULT_BURST_SECONDS = 1;

/** EWMA detector: weight of the newest value; 0.1 is a memory of about ten samples (a minute at the monitor's period). */
export const EWMA_ALPHA = 0.1;
/** EWMA detector: a score beyond 4 standard deviations is anomalous (rare for a stable series, obvious spikes pass it). */
export const EWMA_THRESHOLD_STD = 4;
/** EWMA detector: samples before scores count; the variance estimate is meaningless before. */
export const EWMA_WARMUP_SAMPLES = 20;
/** Floor on a detector's scale relative to |centre| (1%), so a perfectly flat series does not flag noise. */
export const MIN_RELATIVE_SCALE = 0.01;
/** Robust z detector: sliding window of 60 samples (five minutes at the monitor's period). */
export const ROBUST_Z_WINDOW_SAMPLES = 60;
/** Robust z detector: |modified z| above 3.5 is anomalous, Iglewicz & Hoaglin's recommendation. */
export const ROBUST_Z_THRESHOLD = 3.5;
/** Robust z detector: samples in the window before scores count. */
export const ROBUST_Z_MIN_SAMPLES = 20;
/** Message-rate tracking window: 10 s, long enough to count a burst, short enough to react within a round. */
export const MESSAGE_RATE_WINDOW_MS = 10_000;
