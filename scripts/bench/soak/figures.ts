/**
 * What the soak judges, as pure functions of what it recorded (unit-tested in soak-parts.test.ts): whether a fault
 * excuses a slash or an idle round, how many trainers each round had, which nodes stopped committing with no
 * fault on them, and the issue's goal lines (#25), each pass or fail.
 * Session 16's soak showed why each is needed: its network stopped at round 108 of 138 while its figures read
 * "0 slashes without a fault, 2 updates unpaid": a node that commits nothing is never unpaid, and the RPC outage
 * (which hits every node) excused a slash of a node drawn a minute after the outage ended.
 */
import type { FaultKind } from "./faults.ts";
import type { DiskSample } from "./node-process.ts";
import type { RoundTrack } from "./observer.ts";

/** A wall-clock span (ms) a fault had a node down, frozen, cut off or out of disk. */
export interface FaultWindow {
  readonly kind: FaultKind;
  readonly from: number;
  readonly to: number;
}

/** Rounds in a row a node may sit out with no fault on it before it counts as stopped (about 4 min at 50 s). */
export const IDLE_STREAK_ROUNDS = 5;
/**
 * RSS growth (MB/h, Theil-Sen after a life's first third) under which a node's memory counts as flat: a node of
 * ~1 GB growing at this pace needs a day to add a fifth. Session 16's spared node measured 11.6 MB/h.
 */
export const RSS_FLAT_MB_PER_HOUR = 50;
/** The finalized share of judged rounds. */
export const FINALIZED_GOAL = 0.95;

/**
 * How long a fault's effect outlasts it (ms). A killed node runs again when the fault ends but must sync and
 * opt in again before it can work (about a round); a wiped one replays the task's history too (longer). An RPC
 * outage, a full disk or a freeze ends when it ends: a duty drawn after it is the node's to meet.
 */
export function faultGraceMs(kind: FaultKind, roundMs: number): number {
  if (kind === "wipe-restart" || kind === "wipe-aggregator") return 3 * roundMs;
  if (kind === "kill-30pct" || kind === "kill-aggregator") return roundMs;
  return 0;
}

/** Whether one of `windows` (with its grace) overlaps [start, end]. */
export function faultedDuring(
  windows: readonly FaultWindow[] | undefined,
  start: number,
  end: number,
  roundMs: number,
): boolean {
  return (windows ?? []).some((w) => w.from <= end && start <= w.to + faultGraceMs(w.kind, roundMs));
}

/**
 * When the duty a slash punishes was drawn: the latest time `operator` became a round's aggregator (drawn, or a
 * backup taking over) at or before the slash. Undefined when the observer never saw it drawn.
 */
export function dutyDrawnAt(
  rounds: readonly RoundTrack[],
  operator: string,
  slashAt: number,
): number | undefined {
  let at: number | undefined;
  const me = operator.toLowerCase();
  for (const round of rounds)
    for (const draw of round.draws)
      if (draw.aggregator === me && draw.at <= slashAt && (at === undefined || draw.at > at)) at = draw.at;
  return at;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return -1;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Trainers that committed per judged round: the size of the network that actually worked. */
export function activity(judged: readonly RoundTrack[]): {
  minTrainers: number;
  medianTrainers: number;
  minTrainersLast10: number;
  medianTrainersLast10: number;
  roundsUnder2Trainers: number;
} {
  const counts = judged.map((r) => r.trainers);
  const last = counts.slice(-10);
  return {
    minTrainers: counts.length === 0 ? -1 : Math.min(...counts),
    medianTrainers: median(counts),
    minTrainersLast10: last.length === 0 ? -1 : Math.min(...last),
    medianTrainersLast10: median(last),
    roundsUnder2Trainers: counts.filter((n) => n < 2).length,
  };
}

/** A node's longest run of judged rounds it did not commit to while no fault was on it. */
export interface IdleStreak {
  readonly node: number;
  readonly rounds: number;
  /** First and last round of that run (undefined when it never sat out). */
  readonly from: bigint | undefined;
  readonly to: bigint | undefined;
  /** Rounds it committed to. */
  readonly committed: number;
}

/**
 * Per node, its longest idle run without a fault. A round counts against a node when it did not commit and no
 * fault (with its grace) touched the round's span: rounds nobody committed to count against everyone, so a
 * network that stops shows here even when nothing is slashed or unpaid.
 */
export function idleStreaks(
  judged: readonly RoundTrack[],
  operators: ReadonlyMap<number, string>,
  faulted: (node: number, start: number, end: number) => boolean,
): IdleStreak[] {
  return [...operators].map(([node, address]) => {
    const me = address.toLowerCase();
    let best: { rounds: number; from?: bigint; to?: bigint } = { rounds: 0 };
    let run: { rounds: number; from?: bigint } = { rounds: 0 };
    let committed = 0;
    for (const round of judged) {
      if (round.committers.includes(me)) {
        committed += 1;
        run = { rounds: 0 };
        continue;
      }
      if (faulted(node, round.seenAt, round.closedAt ?? round.seenAt)) {
        run = { rounds: 0 };
        continue;
      }
      run = { rounds: run.rounds + 1, from: run.from ?? round.id };
      if (run.rounds > best.rounds) best = { rounds: run.rounds, from: run.from, to: round.id };
    }
    return { node, rounds: best.rounds, from: best.from, to: best.to, committed };
  });
}

/** One of the goals, judged. `pass` undefined: the run could not measure it (said so, not passed). */
export interface Goal {
  readonly goal: string;
  readonly value: number;
  readonly target: string;
  readonly pass: boolean | undefined;
}

export interface GoalFigures {
  readonly finalizedFraction: number;
  readonly stuckRounds: number;
  readonly nodeCrashes: number;
  readonly slashesWithoutFault: number;
  /** RSS growth of the process lives the run can judge (-1 or 0 with no long life: not measured). */
  readonly rssGrowthMBPerHour: number;
  readonly rssMeasured: boolean;
  readonly nodesIdleWithoutFault: number;
}

/** The goal lines of issue #25, plus "no node stopped committing without a fault" (the death session 16 hid). */
export function goals(f: GoalFigures): Goal[] {
  return [
    {
      goal: "rounds finalized",
      value: f.finalizedFraction,
      target: `>= ${FINALIZED_GOAL}`,
      pass: f.finalizedFraction >= FINALIZED_GOAL,
    },
    { goal: "stuck rounds", value: f.stuckRounds, target: "0", pass: f.stuckRounds === 0 },
    { goal: "node crashes", value: f.nodeCrashes, target: "0", pass: f.nodeCrashes === 0 },
    {
      goal: "honest nodes slashed (no fault on them)",
      value: f.slashesWithoutFault,
      target: "0",
      pass: f.slashesWithoutFault === 0,
    },
    {
      goal: "RSS flat (MB/h)",
      value: f.rssGrowthMBPerHour,
      target: `<= ${RSS_FLAT_MB_PER_HOUR}`,
      pass: f.rssMeasured ? f.rssGrowthMBPerHour <= RSS_FLAT_MB_PER_HOUR : undefined,
    },
    {
      goal: `nodes idle >= ${IDLE_STREAK_ROUNDS} rounds with no fault`,
      value: f.nodesIdleWithoutFault,
      target: "0",
      pass: f.nodesIdleWithoutFault === 0,
    },
  ];
}

/** One node's data directory over its longest series of samples without a wipe: what it holds and what grows. */
export interface DiskGrowth {
  readonly node: number;
  readonly firstMB: number;
  readonly lastMB: number;
  readonly maxMB: number;
  /** Growth over the series, per round closed in it (KiB; -1 when no round closed in it). */
  readonly kibPerRound: number;
  readonly rounds: number;
  /** The entry that grew the most over the series, and by how much (MB). */
  readonly topEntry: string;
  readonly topEntryGrowthMB: number;
}

const MB = 2 ** 20;

/** Per node, the data directory's growth over its longest series without a wipe (`closedAt`: rounds' ends). */
export function diskGrowth(
  node: number,
  samples: readonly DiskSample[],
  closedAt: readonly number[],
): DiskGrowth | undefined {
  const series = new Map<number, DiskSample[]>();
  for (const s of samples) series.set(s.wipes, [...(series.get(s.wipes) ?? []), s]);
  let longest: DiskSample[] = [];
  for (const run of series.values())
    if (
      run.length > 0 &&
      (longest.length === 0 || run.at(-1)!.at - run[0]!.at > longest.at(-1)!.at - longest[0]!.at)
    )
      longest = run;
  if (longest.length === 0) return undefined;
  const total = (s: DiskSample) => Object.values(s.entries).reduce((a, b) => a + b, 0);
  const first = longest[0]!;
  const last = longest.at(-1)!;
  const rounds = closedAt.filter((t) => t > first.at && t <= last.at).length;
  let topEntry = "";
  let topGrowth = 0;
  for (const [name, bytes] of Object.entries(last.entries)) {
    const grown = bytes - (first.entries[name] ?? 0);
    if (grown > topGrowth) [topEntry, topGrowth] = [name, grown];
  }
  return {
    node,
    firstMB: total(first) / MB,
    lastMB: total(last) / MB,
    maxMB: Math.max(...longest.map(total)) / MB,
    kibPerRound: rounds === 0 ? -1 : (total(last) - total(first)) / 1024 / rounds,
    rounds,
    topEntry,
    topEntryGrowthMB: topGrowth / MB,
  };
}

/**
 * The lowest value of `samples` in each `spanMs` slice from `fromAt` on (one number per slice that has samples):
 * a node's memory swings with its garbage collections and threads, and its floor per slice shows growth or a
 * level. Used for the spared nodes' RSS (and heap, external, native) from the start and from their first
 * aggregation (session 18's one-time step at the first aggregation read as 511 MB/h over the whole run).
 */
export function minimaPer(
  samples: readonly { readonly at: number; readonly mb: number }[],
  fromAt: number,
  spanMs: number,
): number[] {
  const slices = new Map<number, number>();
  for (const s of samples) {
    if (s.at < fromAt) continue;
    const slice = Math.floor((s.at - fromAt) / spanMs);
    slices.set(slice, Math.min(slices.get(slice) ?? Infinity, s.mb));
  }
  return [...slices].sort((a, b) => a[0] - b[0]).map(([, mb]) => Math.round(mb));
}
