/**
 * The rotating-trigger backdoor: the touched-row backdoor (touched-row-backdoor.ts), same trigger, whose rows it
 * pushes in three disjoint parts, one part a round in turn, aimed at the guarded mean's per-trainer silent memories
 * (node/aggregation/silent-history.ts).
 *
 * Those memories (the recurrent silent energy, the silent direction's cosine and the sustained push) compare a
 * trainer's silent part with its own past in the same rows, decayed by half per round. An attacker that returns to
 * a row only every third round meets its own past there at 1/8 of its size, so each of them sees an eighth of the
 * push a fixed trigger shows, while over three rounds the model is pushed in every trigger row, with the per-round silent budget on a third of them: the
 * poisoned training copies carry the whole trigger, and so do the triggered test images, so what the model learns in
 * each part adds up at test time. (Distributed backdoor attacks split a global trigger among attackers, Xie et al.,
 * DBA, ICLR 2020; here it is split across rounds as well.) Norm, split among attackers and the scale searched
 * against the rule's own decision are the touched-row backdoor's, on the active part. The trigger is the touched-row
 * backdoor's 9 pixels, so the two measure the rotation alone: a 27-pixel trigger in parts of 9 was rejected from
 * round 2 on by the per-round silent tests (silent-coordinated; bench:robust --compress, 30% Dirichlet 0.5, seed 1,
 * backdoor 0.02 after round 3), before any memory.
 */
import type { TriggerLayout } from "./touched-row-backdoor.ts";
import { TOUCHED_TRIGGER_PIXELS, touchedRowBackdoor } from "./touched-row-backdoor.ts";
import type { TouchedRowBackdoor } from "./touched-row-backdoor.ts";

/** Parts the trigger is pushed in, one a round: a row's past is 1/2^3 of its size when the attacker returns to it. */
export const ROTATING_TRIGGER_PARTS = 3;

export const ROTATING_TRIGGER_LAYOUT: TriggerLayout = {
  name: "rotating-trigger-backdoor",
  pixels: TOUCHED_TRIGGER_PIXELS,
  parts: ROTATING_TRIGGER_PARTS,
};

/** A fresh attack for rounds whose updates have median density `density` (1: dense). */
export function rotatingTriggerBackdoor(density: number): TouchedRowBackdoor {
  return touchedRowBackdoor(density, ROTATING_TRIGGER_LAYOUT);
}
