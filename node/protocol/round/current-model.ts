/**
 * Whether this node holds the task's current model, as the aggregator opt-in needs to know (issue #25: "selection
 * never lands on someone who cannot act in time"). A drawn aggregator aggregates onto the current model: without
 * it, it cannot post, misses its deadline and is slashed. Session 16's soak: the spared node lacked round 42's model
 * from round 43's opening on, was drawn aggregator of round 43 20 s later (its opt-in was withdrawn only once a
 * background replay started, 110 s after the first miss) and was slashed 100 VAIN.
 *
 * The rule: past `MODEL_LACK_GRACE_MS` without the current model the node counts as unable (the opt-in is withdrawn
 * at once, before the round's selection is locked at its commit deadline), and it counts as able again only after
 * holding the current model for `MODEL_REGAIN_HOLD_MS` in a row (no flapping opt-in around a draw).
 */

/**
 * How long a node may lack the task's current model before it counts as unable to aggregate (ms). A healthy node
 * holds the next model when its round finalizes (it derives it while the round is challenged); one that missed it
 * derives it inline from an aggregate its peers serve within a few ticks. 5 s plus a tick and the withdrawal
 * transaction stay within the default 15 s commit window, after which the selection is locked.
 */
export const MODEL_LACK_GRACE_MS = 5_000;
/**
 * How long a node must hold the current model in a row before it counts as able again (ms): about a round of the
 * soak's task (50 s), so a node that just caught up is not drawn in the round it caught up in.
 */
export const MODEL_REGAIN_HOLD_MS = 60_000;

export class CurrentModelWatch {
  /** Since when the node lacks the current model (ms), while it does. */
  private lackingSince: number | undefined;
  /** When the node last counted as unable (ms): it stays so until it held the model for the regain hold. */
  private unableUntil = 0;
  /** What the last `note` found, so each change is reported once. */
  private reportedUnable = false;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * Records whether the node holds the task's current model now (each tick); true when it turned unable or able
   * since the last call (the caller re-decides its opt-in at once).
   */
  note(held: boolean): boolean {
    const now = this.now();
    if (held) this.lackingSince = undefined;
    else this.lackingSince ??= now;
    if (this.lackingSince !== undefined && now - this.lackingSince >= MODEL_LACK_GRACE_MS)
      this.unableUntil = now + MODEL_REGAIN_HOLD_MS;
    const unable = this.missingMs() !== undefined;
    const changed = unable !== this.reportedUnable;
    this.reportedUnable = unable;
    return changed;
  }

  /**
   * While the node counts as unable to aggregate: how long it has lacked the current model (ms; 0 once it holds it
   * again, during the regain hold). Undefined while it is able.
   */
  missingMs(): number | undefined {
    const now = this.now();
    if (this.lackingSince !== undefined && now - this.lackingSince >= MODEL_LACK_GRACE_MS)
      return now - this.lackingSince;
    return now < this.unableUntil ? 0 : undefined;
  }
}
