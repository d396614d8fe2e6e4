/**
 * Rounds of several tasks driven at once on one chain, as their nodes would run them: the group rounds under one
 * parent round (docs/protocol.md §7) all train, aggregate and prove side by side inside the parent's commit
 * window. The chain's clock is shared, so the driver of one round must not jump it past its own deadline while
 * another round still works before the same deadline: each round's driver (rounds.ts `runRound`) waits at every
 * clock move until every round still running has reached the same phase. Driving the groups one after another
 * (group-rounds.test.ts, two groups) would need a parent commit window of G group rounds and G times the time.
 */
import type { ClockPhase, RoundHooks, RoundReport } from "./rounds.ts";
import { runRound } from "./rounds.ts";
import type { DrivenNetwork } from "./driven.ts";

/** A barrier per clock phase over a set of round drivers; a driver that ends (or throws) stops being waited for. */
export class Lockstep {
  private parties: number;
  private readonly arrived = new Map<ClockPhase, { count: number; release: () => void }>();
  private readonly released = new Map<ClockPhase, Promise<void>>();
  /** The clock move running now: the next one starts after it (each reads the clock, then jumps). */
  private moving: Promise<void> = Promise.resolve();

  constructor(parties: number) {
    this.parties = parties;
  }

  /** Resolves once every driver still running has arrived at `phase`. */
  arrive(phase: ClockPhase): Promise<void> {
    let gate = this.released.get(phase);
    if (gate === undefined) {
      let release = (): void => undefined;
      gate = new Promise<void>((resolve) => (release = resolve));
      this.released.set(phase, gate);
      this.arrived.set(phase, { count: 0, release });
    }
    this.arrived.get(phase)!.count += 1;
    this.check();
    return gate;
  }

  /** Waits until every driver still running reached `phase`, then runs `move` once the moves before it ended. */
  async clockMove(phase: ClockPhase, move: () => Promise<void>): Promise<void> {
    await this.arrive(phase);
    const run = this.moving.then(move);
    this.moving = run.catch(() => undefined);
    await run;
  }

  /** A driver is done (its round ended, or its driver threw): the others no longer wait for it. */
  leave(): void {
    this.parties -= 1;
    this.check();
  }

  private check(): void {
    for (const entry of this.arrived.values()) if (entry.count >= this.parties) entry.release();
  }
}

/**
 * One opener at a time: every round is opened from the network's one treasury wallet, and two `openRound`s sent
 * at once raced for its nonce (the second group's driver threw, and its nodes never trained). A driver takes its
 * turn before opening and hands it on once its round is open (or its driver ended).
 */
export class OpenTurns {
  private tail: Promise<void> = Promise.resolve();

  /** Waits for this driver's turn; the returned function hands the turn on (calling it again does nothing). */
  async take(): Promise<() => void> {
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const before = this.tail;
    this.tail = before.then(() => mine);
    await before;
    return done;
  }
}

/** How `runRoundsInLockstep` drives its rounds. */
export interface LockstepOptions {
  readonly timeoutMs: number;
  /** How long an aggregator that is not proving gets to start answering (runRound's `answerWaitMs`). */
  readonly answerWaitMs: number;
  /** Round `index`'s own hooks (its `clockMove`, if any, is told of each phase before the barrier; it moves nothing). */
  readonly hooksOf?: (index: number) => RoundHooks;
  /** A barrier shared with rounds driven elsewhere (the leaves under several middle rounds); else one of these. */
  readonly step?: Lockstep;
  /** Round `index`'s driver ended, with its report or the error it threw. */
  readonly onEnd?: (index: number, outcome: RoundReport | unknown) => void;
  /** Shared by every driver opening rounds from the same treasury (every level's); else one for these. */
  readonly turns?: OpenTurns;
}

/** One round of each of `nets`' tasks at once, in lockstep; each report, or the error its driver threw. */
export async function runRoundsInLockstep(
  nets: readonly DrivenNetwork[],
  round: number,
  options: LockstepOptions,
): Promise<PromiseSettledResult<RoundReport>[]> {
  const step = options.step ?? new Lockstep(nets.length);
  const turns = options.turns ?? new OpenTurns();
  return Promise.allSettled(
    nets.map(async (net, i) => {
      const hooks = options.hooksOf?.(i) ?? {};
      const handOn = await turns.take();
      let outcome: RoundReport | unknown;
      try {
        outcome = await runRound(net, round, options.timeoutMs, options.answerWaitMs, {
          ...hooks,
          afterOpen: async (roundId) => {
            handOn();
            await hooks.afterOpen?.(roundId);
          },
          clockMove: async (roundId, phase, move) => {
            await hooks.clockMove?.(roundId, phase, async () => undefined);
            await step.clockMove(phase, move);
          },
        });
        return outcome as RoundReport;
      } catch (error) {
        outcome = error;
        throw error;
      } finally {
        handOn();
        step.leave();
        options.onEnd?.(i, outcome);
      }
    }),
  );
}
