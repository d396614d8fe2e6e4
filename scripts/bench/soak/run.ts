/**
 * The soak itself, shared by `npm run bench:soak` and its short version in `npm test`: start the network, then
 * round after round inject the next planned fault at its phase (a random moment inside it), supervise the node
 * processes (an exit the soak did not cause is a crash; the node is restarted as systemd would), sample RSS,
 * and stop once `rounds` rounds have closed (or the time budget ran out, leaving stuck rounds to count).
 */
import { DISTRUSTED_WEIGHT } from "../../../node/aggregation/trainer-trust.ts";
import { ChainObserver } from "./observer.ts";
import type { RoundTrack } from "./observer.ts";
import { faultCycle, inject, seededRandom } from "./faults.ts";
import type { FaultPlan, FaultRecord } from "./faults.ts";
import { dutyDrawnAt, faultedDuring, idleStreaks } from "./figures.ts";
import type { FaultWindow, IdleStreak } from "./figures.ts";
import { startNetwork } from "./network.ts";
import type { WindowsSeconds } from "./network.ts";
import type { DiskSample, NodeCrash, RssSample, SoakNode } from "./node-process.ts";
import { SoakOperators } from "./operator.ts";
import type { RestakeRow } from "./operator.ts";

/** How often the chain is read and the processes supervised (ms). */
const TICK_MS = 2_000;
/** How often each node's RSS is sampled (ms). */
const RSS_INTERVAL_MS = 10_000;
/** How often each node's data directory is measured (ms): a walk of a few hundred files, a round or so apart. */
const DISK_INTERVAL_MS = 60_000;
/** The first rounds run without faults, so a failure there is the network's, not a fault's. */
const WARMUP_ROUNDS = 1;
/**
 * Longest random delay (s) of a fault planned for the aggregating phase. The phase ends when the aggregator posts,
 * 2-8 s after its selection at load 8-12, not at its window's end (40 s in `--quick`): a delay drawn from the
 * window landed most "aggregating" faults in the next round (quick soak 2026-12-05).
 */
const AGGREGATING_FAULT_DELAY_S = 2;
/**
 * Process lifetimes shorter than this are too short for an RSS trend (ms). A node's RSS swings by ~50-100 MB with
 * its garbage collections and worker threads (training, each proof), so a 3-5 minute life gave slopes of
 * ±1,000 MB/h on a flat process (targeted soak runs, 2026-12-05); ten minutes and more gives a usable figure.
 */
const MIN_RSS_SEGMENT_MS = 600_000;
/**
 * Lives at least this long give the headline trend beside the 10-minute one (ms): in the 60-minute soak of
 * 2026-12-06 lives of 10-20 minutes ranged from -168 to +1,166 MB/h while the two longest (33 and 42 minutes)
 * measured 6.0 and 3.1 MB/h; a leak shows in both, a collection cycle only in the short ones.
 */
export const LONG_RSS_LIFE_MS = 1_800_000;

export interface SoakOptions {
  readonly nodes: number;
  readonly rounds: number;
  readonly windows: WindowsSeconds;
  readonly chainPort: number;
  readonly seed: number;
  /** Clean rounds between two faults (0: a fault in every round after the warm-up). */
  readonly gap: number;
  /** Wall-clock budget (ms) after which the run stops even if fewer rounds closed. */
  readonly budgetMs: number;
  /** Limit the plan to these faults (default: the whole cycle, repeated). */
  readonly faults?: readonly FaultPlan["kind"][];
  /** An explicit plan instead of the cycle (each fault once, in order). */
  readonly only?: readonly FaultPlan[];
  /** The first `spare` nodes are never a fault's target (FaultContext.spared): RSS witnesses over the whole run. */
  readonly spare?: number;
  /** Keep the run's directory (node logs) instead of deleting it. */
  readonly keepLogs?: boolean;
  readonly log?: (line: string) => void;
}

export interface SlashRow {
  readonly node: number;
  readonly reason: number;
  readonly amountVain: number;
  /**
   * A fault hit this node between the moment its duty was drawn and the slash (a kill or wipe with its restart's
   * grace, faults.ts faultGraceMs); an RPC outage that ended before the draw excuses nothing.
   */
  readonly faulted: boolean;
}

/** A node restarted with its data directory wiped, and whether it trained again (a round committed after). */
export interface RejoinRow {
  readonly node: number;
  readonly wipedInRound: bigint;
  /** The first later round it committed to; undefined if it never did (it could not get the model back). */
  readonly trainedAgainIn: bigint | undefined;
}

/**
 * A committed update of a finalized round that was not counted: weight 0, or the token weight of a distrusted
 * trainer (DISTRUSTED_WEIGHT). Every soak node is honest, so one a fault did not hit (its node down or cut off
 * during the round) is a false rejection: an honest operator unpaid.
 */
export interface UncountedRow {
  readonly round: bigint;
  readonly node: number;
  readonly weight: bigint;
  /** A fault hit this node or the round's aggregator during the round (the update may never have arrived). */
  readonly faulted: boolean;
}

export interface SoakResult {
  readonly rounds: RoundTrack[];
  /** The fault-free first rounds (cold start: nodes still loading, first training), counted apart. */
  readonly warmup: readonly bigint[];
  readonly faults: FaultRecord[];
  readonly crashes: NodeCrash[];
  readonly slashes: SlashRow[];
  readonly rejoins: RejoinRow[];
  readonly uncounted: UncountedRow[];
  readonly rss: Map<number, RssSample[]>;
  /** Each node's data directory, entry by entry, every DISK_INTERVAL_MS. */
  readonly disk: Map<number, DiskSample[]>;
  /** Per node, the deletions its disk quota guard logged (each with its path and size in the node's log). */
  readonly quotaDeletions: Map<number, number>;
  /** The operators' top-ups after slashes below the minimum stake (operator.ts). */
  readonly restakes: Array<RestakeRow & { readonly trainedAgainIn: bigint | undefined }>;
  /** Per node, its longest run of judged rounds without a commit and without a fault on it. */
  readonly idle: IdleStreak[];
  /** Wall-clock ms one round lasts at its windows' full length (commit + aggregate + challenge). */
  readonly roundMs: number;
  readonly durationMs: number;
  readonly logDir: string;
  /** Each node's operator address (lower case), by node index. */
  readonly operators: readonly string[];
}

/**
 * Theil-Sen slope of RSS over time (MB per hour) for one process lifetime: the median of the slopes between every
 * two samples (at most 400, evenly spaced). A node's RSS swings by 100-300 MB with its garbage collections and
 * worker threads, and a least-squares line through 6-13 minutes of such swings gave 680-1,540 MB/h for nodes whose
 * RSS ended lower than it began (60-minute soak, 2026-12-06); the median of pairwise slopes ignores the swings.
 */
function slopeMBPerHour(samples: readonly RssSample[]): number {
  const step = Math.max(1, Math.ceil(samples.length / 400));
  const kept = samples.filter((_, i) => i % step === 0);
  const slopes: number[] = [];
  for (let i = 0; i < kept.length; i++)
    for (let j = i + 1; j < kept.length; j++) {
      const hours = (kept[j]!.at - kept[i]!.at) / 3_600_000;
      if (hours > 0) slopes.push((kept[j]!.mb - kept[i]!.mb) / hours);
    }
  if (slopes.length < 3) return 0;
  slopes.sort((x, y) => x - y);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

/**
 * RSS growth: the largest slope over the process lifetimes of at least `minLifeMs`, each measured after its first
 * third (start-up: models, workers, caches fill once). 0 when no lifetime was long enough.
 */
export function rssGrowth(
  rss: Map<number, RssSample[]>,
  minLifeMs: number = MIN_RSS_SEGMENT_MS,
): {
  maxMB: number;
  growthMBPerHour: number;
  /** The longest process lifetime sampled (minutes): how long the growth figure could watch one process. */
  longestLifeMinutes: number;
} {
  let maxMB = 0;
  let growth = 0;
  let longest = 0;
  for (const samples of rss.values()) {
    for (const s of samples) maxMB = Math.max(maxMB, s.mb);
    const lives = new Map<number, RssSample[]>();
    for (const s of samples) lives.set(s.life, [...(lives.get(s.life) ?? []), s]);
    for (const life of lives.values()) {
      longest = Math.max(longest, (life.at(-1)!.at - life[0]!.at) / 60_000);
      if (life.at(-1)!.at - life[0]!.at < minLifeMs) continue;
      growth = Math.max(growth, slopeMBPerHour(life.slice(Math.floor(life.length / 3))));
    }
  }
  return { maxMB, growthMBPerHour: growth, longestLifeMinutes: longest };
}

/** One part of a node's memory, as samples `rssGrowth` can read (`mb` = that part); samples without it dropped. */
export type MemoryPart = "heap" | "external" | "native";

/**
 * The samples of `part`: the main thread's V8 heap in use, its external memory, or what is neither (RSS minus the
 * heap's allocated size and external memory: worker threads' isolates, WASM and onnxruntime buffers, malloc's
 * arenas). Which part grows tells a leak of kept JS state from native growth.
 */
export function memoryPart(rss: Map<number, RssSample[]>, part: MemoryPart): Map<number, RssSample[]> {
  const value = (s: RssSample): number | undefined =>
    part === "heap"
      ? s.heapMB
      : part === "external"
        ? s.externalMB
        : s.heapTotalMB === undefined || s.externalMB === undefined
          ? undefined
          : s.mb - s.heapTotalMB - s.externalMB;
  return new Map(
    [...rss].map(([node, samples]) => [
      node,
      samples.flatMap((s) => {
        const mb = value(s);
        return mb === undefined ? [] : [{ at: s.at, mb, life: s.life }];
      }),
    ]),
  );
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const say = options.log ?? (() => undefined);
  const network = await startNetwork({ ...options, log: say });
  const started = Date.now();
  const random = seededRandom(options.seed);
  const cycle = (options.only ?? faultCycle(random, network.diskNode !== undefined)).filter(
    (p) => options.faults === undefined || options.faults.includes(p.kind),
  );
  const repeat = options.only === undefined;
  const observer = new ChainObserver(network.chain.rpcUrl, network.deployment);
  const faults: FaultRecord[] = [];
  const busy = new Set<SoakNode>();
  const spared = new Set(network.nodes.slice(0, options.spare ?? 0));
  /** Per node: the wall-clock windows when a fault had it down, frozen, cut off or out of disk. */
  const faultedAt = new Map<number, FaultWindow[]>();
  const operators = new SoakOperators(network, observer, say);
  let planIndex = 0;
  let nextFaultRound: bigint | undefined;
  let active: Promise<void> | undefined;
  let firstRound: bigint | undefined;
  let previousAggregator: string | undefined;

  const restart = async (node: SoakNode): Promise<void> => {
    busy.add(node);
    const bootstrap = network.nodes.filter((n) => n !== node && n.running).flatMap((n) => n.addresses);
    try {
      await node.start(bootstrap.slice(0, 4));
    } catch (error) {
      say(`node ${node.index} failed to restart: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      busy.delete(node);
    }
  };
  const mark = (record: FaultRecord): void => {
    const targets = record.kind === "rpc-outage" ? network.nodes.map((n) => n.index) : record.targets;
    for (const index of targets) {
      faultedAt.set(index, [
        ...(faultedAt.get(index) ?? []),
        { kind: record.kind, from: record.at, to: record.at + record.durationS * 1000 },
      ]);
    }
  };

  const sparedAddresses = new Set(
    [...spared].flatMap((n) => (n.address === undefined ? [] : [n.address.toLowerCase()])),
  );
  const aimsAtSpared = (plan: FaultPlan, aggregator: string | undefined): boolean =>
    (plan.kind === "kill-aggregator" ||
      plan.kind === "wipe-aggregator" ||
      plan.kind === "freeze-aggregator") &&
    aggregator !== undefined &&
    sparedAddresses.has(aggregator.toLowerCase());

  const maybeInject = (round: RoundTrack): void => {
    nextFaultRound ??= round.id + BigInt(WARMUP_ROUNDS);
    if (active !== undefined || cycle.length === 0 || round.id < nextFaultRound) return;
    if (!repeat && planIndex >= cycle.length) return;
    const plan = cycle[planIndex % cycle.length]!;
    if (round.phase !== plan.phase) return;
    // A fault aimed at a spared aggregator waits for a round with another aggregator (the plan is kept): spared
    // nodes are drawn in about half the rounds (network.ts, SPARED_STAKE_VAIN), and skipping would drop about
    // half the aggregator faults. `inject` still skips one whose aggregator changed to a spared node meanwhile.
    if (aimsAtSpared(plan, plan.phase === "open" ? previousAggregator : round.aggregator)) {
      nextFaultRound = round.id + 1n;
      return;
    }
    planIndex += 1;
    nextFaultRound = round.id + 1n + BigInt(options.gap);
    // A random moment inside the phase: its window, less a margin so the fault lands before the phase ends.
    const windowS =
      plan.phase === "open"
        ? options.windows.commit
        : plan.phase === "aggregating"
          ? Math.min(options.windows.aggregate, AGGREGATING_FAULT_DELAY_S / 0.6)
          : options.windows.challenge;
    // A freeze must land before the aggregator posts (a few seconds after its selection): at once.
    const delay = plan.kind === "freeze-aggregator" ? 0 : random() * windowS * 0.6 * 1000;
    const aggregatorBefore = previousAggregator;
    active = (async () => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      // A fault whose phase ended first would hit another phase (or round) than planned: re-armed instead.
      const now = observer.latest();
      if (now?.id !== round.id || now.phase !== plan.phase) {
        planIndex -= 1;
        nextFaultRound = (now?.id ?? round.id) + 1n;
        say(`round ${round.id}: ${plan.kind} re-armed: the ${plan.phase} phase ended within its delay`);
        return;
      }
      say(`round ${round.id}: ${plan.kind} (${plan.phase} +${(delay / 1000).toFixed(1)} s)`);
      const record = await inject(plan, round, {
        network,
        random,
        previousAggregator: aggregatorBefore,
        restart,
        busy,
        spared,
      });
      mark(record);
      faults.push(record);
      say(
        `round ${round.id}: ${plan.kind} over after ${record.durationS.toFixed(1)} s` +
          `${record.targets.length > 0 ? ` (nodes ${record.targets.join(",")})` : ""}${record.note ? `: ${record.note}` : ""}`,
      );
    })()
      .catch((error: unknown) =>
        say(`fault failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => (active = undefined));
  };

  observer.onChange((round) => {
    firstRound ??= round.id;
    say(
      `round ${round.id}: ${round.phase}${round.aggregator ? ` (aggregator ${round.aggregator.slice(0, 10)})` : ""}`,
    );
    if (round.phase === "finalized" || round.phase === "failed") {
      if (round.aggregator !== undefined) previousAggregator = round.aggregator;
    }
  });

  const rssTimer = setInterval(
    () => void Promise.all(network.nodes.map((n) => n.sampleRss())),
    RSS_INTERVAL_MS,
  );
  const diskTimer = setInterval(
    () => void Promise.all(network.nodes.map((n) => n.sampleDisk())),
    DISK_INTERVAL_MS,
  );
  try {
    while (Date.now() - started < options.budgetMs) {
      await observer.poll().catch((error: unknown) => say(`chain poll failed: ${String(error)}`));
      const latest = observer.latest();
      if (latest !== undefined && latest.closedAt === undefined) maybeInject(latest);
      operators.tick();
      // Supervisor: an exited node the soak is not restarting itself crashed; start it again.
      for (const node of network.nodes) {
        if (!node.running && !busy.has(node)) {
          say(`node ${node.index} is down (crash ${node.crashes.length}): restarting`);
          void restart(node);
        }
      }
      const closed = observer.closed.filter((r) => firstRound === undefined || r.id >= firstRound);
      if (closed.length >= options.rounds + WARMUP_ROUNDS && active === undefined) break;
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    await active;
    await operators.settle();
    await observer.poll().catch(() => undefined);
    await Promise.all(network.nodes.map((n) => n.sampleDisk()));
  } finally {
    clearInterval(rssTimer);
    clearInterval(diskTimer);
    await Promise.all(network.nodes.map((n) => n.stop()));
  }
  const durationMs = Date.now() - started;
  const nodeOf = (address: string | undefined) =>
    network.nodes.find((n) => address !== undefined && n.address?.toLowerCase() === address.toLowerCase());
  const roundMs = 1000 * (options.windows.commit + options.windows.aggregate + options.windows.challenge);
  /** Whether a fault had `node` down or cut off at some time in [start, end] (with its grace when `roundMs` > 0). */
  const faulted = (node: SoakNode | undefined, start: number, end: number, graceRoundMs = roundMs) =>
    node !== undefined && faultedDuring(faultedAt.get(node.index), start, end, graceRoundMs);
  const rounds = [...observer.rounds.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const slashes: SlashRow[] = observer.slashes.map((slash) => {
    const node = nodeOf(slash.operator);
    // From the draw of the duty it missed (the observer polls every 2 s, so a draw is seen within a tick);
    // a slash whose draw the observer missed looks back two rounds, as before.
    const drawnAt = dutyDrawnAt(rounds, slash.operator, slash.at) ?? slash.at - 2 * roundMs;
    return {
      node: node?.index ?? -1,
      reason: slash.reason,
      amountVain: Number(slash.amountWei / 10n ** 15n) / 1000,
      faulted: faulted(node, drawnAt, slash.at),
    };
  });
  const rejoins: RejoinRow[] = faults
    .filter((f) => f.kind.startsWith("wipe"))
    .flatMap((f) =>
      f.targets.map((index) => {
        const operator = network.nodes[index]?.address?.toLowerCase();
        const again = rounds.find(
          (r) => r.id > f.round && operator !== undefined && r.committers.includes(operator),
        );
        return { node: index, wipedInRound: f.round, trainedAgainIn: again?.id };
      }),
    );
  const uncounted: UncountedRow[] = rounds
    .filter((r) => r.phase === "finalized" && (firstRound === undefined || r.id >= firstRound))
    .flatMap((r) =>
      r.committers.flatMap((operator, i) => {
        const weight = r.weights[i] ?? 0n;
        if (weight > BigInt(DISTRUSTED_WEIGHT)) return [];
        const node = nodeOf(operator);
        // A fault on the trainer, or on the round's aggregator (a frozen or killed aggregator that must post
        // before its deadline counts only the updates it holds by then).
        const end = r.closedAt ?? Date.now();
        // No grace here (as before): a fault in the round itself, on the trainer or on any aggregator the round
        // had (a frozen one's backup counts only the updates pushed to it again in time).
        const aggregators = [r.aggregator, ...r.draws.map((d) => d.aggregator)];
        const hit =
          faulted(node, r.seenAt, end, 0) || aggregators.some((a) => faulted(nodeOf(a), r.seenAt, end, 0));
        return [{ round: r.id, node: node?.index ?? -1, weight, faulted: hit }];
      }),
    );
  const warmup =
    firstRound === undefined ? [] : Array.from({ length: WARMUP_ROUNDS }, (_, i) => firstRound! + BigInt(i));
  const judged = rounds.filter(
    (r) =>
      r.closedAt !== undefined && firstRound !== undefined && r.id >= firstRound && !warmup.includes(r.id),
  );
  const idle = idleStreaks(
    judged,
    new Map(network.nodes.flatMap((n) => (n.address === undefined ? [] : [[n.index, n.address]]))),
    (index, start, end) => faulted(network.nodes[index], start, end),
  );
  const result: SoakResult = {
    rounds: [...observer.rounds.values()].filter((r) => firstRound === undefined || r.id >= firstRound),
    warmup,
    faults,
    crashes: network.nodes.flatMap((n) => n.crashes),
    slashes,
    rejoins,
    uncounted,
    rss: new Map(network.nodes.map((n) => [n.index, n.rss])),
    disk: new Map(network.nodes.map((n) => [n.index, n.disk])),
    quotaDeletions: new Map(network.nodes.map((n) => [n.index, n.quotaDeletions])),
    // Whether each topped-up node worked again: the first round after the top-up it committed to.
    restakes: operators.restakes.map((r) => {
      const operator = network.nodes[r.node]?.address?.toLowerCase();
      const again = rounds.find(
        (round) => round.id > r.round && operator !== undefined && round.committers.includes(operator),
      );
      return { ...r, trainedAgainIn: again?.id };
    }),
    idle,
    roundMs,
    durationMs,
    logDir: network.dir,
    operators: network.nodes.map((n) => n.address?.toLowerCase() ?? ""),
  };
  await network.stop(options.keepLogs === true);
  return result;
}
